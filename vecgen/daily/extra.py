"""What a daily extra hands the engine: rows added after the generated ones, and the error of a bad input file."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from vecgen.errors import VecgenError


class InputFileError(VecgenError, ValueError):
    """A file handed to vecgen (tracer, an earlier day's file) is malformed."""


@dataclass(frozen=True)
class Extra:
    """Customers added after the generated ones (tracer or archival), with their truth."""

    frame: pl.DataFrame  # customers columns (the change feed's, for customer_changes)
    truth: pl.DataFrame
    source: str = "customers"  # the file the rows go to

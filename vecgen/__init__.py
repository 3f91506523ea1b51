"""vecgen: a fast generator of realistic, related, deliberately messy customer data.

Whole columns at a time: keyed NumPy draws index into vocabularies built with
mimesis, vectorized kernels corrupt duplicates, Polars frames stream to CSV,
Parquet or JSON lines, and a ground-truth file says which records are the same
person.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vecgen.config import Config, load_config
from vecgen.errors import ConfigError, OutputError, VecgenError

__all__ = ["Config", "ConfigError", "OutputError", "VecgenError", "__version__", "load_config"]

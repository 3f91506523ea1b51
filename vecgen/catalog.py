"""Names shared by the config and the sources (a leaf module: it imports nothing of vecgen).

The order is the generation order; a test checks the source registry matches it.
"""

from __future__ import annotations

# source name -> the predecessor's file stem (layout "flat": OUT/YYYY_MM_DD<stem>.<ext>)
FLAT_NAMES: dict[str, str] = {
    "customers": "Customers",
    "transactions": "CustomersTransactions",
    "truth": "Truth",
}

SOURCE_NAMES: tuple[str, ...] = tuple(FLAT_NAMES)

FORMATS: dict[str, str] = {"csv": "csv", "parquet": "parquet", "jsonl": "json"}  # name -> extension

"""Names shared by the config and the sources (a leaf module: it imports nothing of vecgen).

The order is the generation order (parents before children); a test checks the
source registry matches it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceInfo:
    """Everything known about a built-in source, in one record (declared sources: their spec).

    ``csv_bytes`` (CSV bytes per clean customer, for the free-space check) and
    ``parquet_rows`` / ``parquet_row_bytes`` (rows per customer and bytes per row
    in memory, for the Parquet row groups a run holds) were measured on 1M-customer
    runs with the default settings.
    """

    name: str
    stem: str  # layout flat: OUT/YYYY_MM_DD<stem>.<ext> (the predecessor's name)
    parents: tuple[str, ...] = ()  # generated from them (they must be switched on too)
    key: tuple[str, ...] = ()  # primary key columns (ddl, load)
    references: tuple[tuple[str, str, str], ...] = ()  # (column, parent, parent column)
    person_id: str | None = None  # the record id of a person file with duplicates
    csv_bytes: int = 300
    parquet_rows: float = 1.0
    parquet_row_bytes: int = 300


_C = ("customers",)
# In generation order: parents before children (a test checks the registry matches).
SOURCE_INFO: dict[str, SourceInfo] = {
    i.name: i
    for i in (
        SourceInfo("customers", "Customers", (), ("customer_id",), (), "customer_id", 250, 1.15, 220),
        SourceInfo(
            "transactions", "CustomersTransactions", _C, ("orderid",),
            (("customer_id", "customers", "customer_id"),), None, 300, 2.87, 105,
        ),
        SourceInfo(
            "pos_customers", "CustomersPos", _C, ("customer_id",), (), "customer_id", 245, 1.13, 220
        ),
        SourceInfo(
            "pos_transactions", "CustomersPosTransactions", ("pos_customers",), ("orderid",),
            (("customer_id", "pos_customers", "customer_id"),), None, 225, 2.13, 105,
        ),
        SourceInfo("loyalty", "CustomersLms", _C, ("lm_id",), (), None, 250, 1.15, 220),
        SourceInfo(
            "email_campaign", "CustomersEmailCampaign", _C, ("EVENT_ID",),
            (("CUSTOMER_ID", "customers", "customer_id"),), None, 390, 2.0, 195,
        ),
        SourceInfo("clickstream", "CustomersClickstream", _C, ("uuid",), (), None, 690, 1.73, 400),
        SourceInfo("mobile", "CustomersMobile", _C, ("sha",), (), None, 325, 1.5, 220),
        SourceInfo("wifi", "CustomersWifi", _C, ("sha",), (), None, 270, 1.15, 235),
        SourceInfo(
            "safety_reports", "CustomersSafetyReports", _C, (),
            (("customer_id", "customers", "customer_id"),), None, 130, 1.5, 90,
        ),
        SourceInfo(
            "locations", "CustomersLatLongs", _C, (),
            (("customer_id", "customers", "customer_id"),), None, 130, 2.0, 65,
        ),
        SourceInfo("custom_object", "CustomerscustomObject", _C, (), (), None, 110, 1.0, 110),
        # The change feed (changes = P): updates and deletes of earlier days' customers.
        SourceInfo(
            "customer_changes", "CustomerChanges", _C, ("customer_id", "change_ts"),
            (), None, 0, 0.0, 260,
        ),
        # The other systems follow the change on later days (changes = P): their feeds.
        SourceInfo(
            "loyalty_changes", "CustomersLmsChanges", ("loyalty",), ("lm_id", "change_ts"),
            (), None, 0, 0.0, 260,
        ),
        SourceInfo(
            "pos_customer_changes", "CustomersPosChanges", ("pos_customers",),
            ("customer_id", "change_ts"), (), None, 0, 0.0, 260,
        ),
        SourceInfo("truth", "Truth", _C, ("source", "record_id"), (), None, 710, 8.8, 80),
    )
}  # fmt: skip

# Views of SOURCE_INFO for the places that need one fact of every source.
FLAT_NAMES: dict[str, str] = {name: i.stem for name, i in SOURCE_INFO.items()}
SOURCE_NAMES: tuple[str, ...] = tuple(SOURCE_INFO)
PARENTS: dict[str, tuple[str, ...]] = {n: i.parents for n, i in SOURCE_INFO.items() if i.parents}
CHANGE_FEED = "customer_changes"  # on when changes > 0 (not a [sources] switch)
# Every change feed (on when changes > 0 and its system is) -> the system whose records it changes.
CHANGE_FEEDS: dict[str, str] = {
    CHANGE_FEED: "customers",
    "loyalty_changes": "loyalty",
    "pos_customer_changes": "pos_customers",
}
SWITCHABLE: tuple[str, ...] = tuple(n for n in SOURCE_NAMES if n not in CHANGE_FEEDS)

# name -> extension of the data files (a Delta Lake table's data files are Parquet)
FORMATS: dict[str, str] = {
    "csv": "csv",
    "parquet": "parquet",
    "jsonl": "json",
    "delta": "parquet",
    "iceberg": "parquet",
}
TABLE_FORMATS = ("delta", "iceberg")  # formats written as tables (a log or a catalog)

# The person columns of a customers record, in the predecessor's order (between
# customer_id and dtUpdateDate).
PERSON_COLUMNS: tuple[str, ...] = (
    "name_prefix",
    "name_first",
    "name_last",
    "gender",
    "email",
    "account_status",
    "addr_ln_1_txt",
    "city",
    "state",
    "postal_code",
    "birth_dt",
    "employment",
    "job_title",
    "phone",
)
# Person-bearing sources whose systems may leave person columns empty (per-system
# completeness), each column by its person-column name -> its name in the source's file.
PERSON_FILE_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {c: c for c in PERSON_COLUMNS},
    "pos_customers": {c: c for c in PERSON_COLUMNS},
    "loyalty": {
        "name_first": "name_first",
        "name_last": "name_last",
        "email": "email",
        "gender": "gender",
        "addr_ln_1_txt": "address1",
        "city": "city",
        "state": "state",
        "postal_code": "postal_code",
        "birth_dt": "birthdate",
        "phone": "phone",
    },
    # The wifi portal's e-mail is its login (the join key): always there.
    "wifi": {"name_first": "fname", "name_last": "lname", "postal_code": "postal_code"},
}
# The house number and the street of addr_ln_1_txt, as fuzzing and fuzz-stats treat them.
ADDRESS_PARTS: tuple[str, ...] = ("addr_number", "addr_street")

# The columns of the built-in sources a declared source can hang off (its parent's fields).
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "orderid",
    "purchasedate",
    "transactiontotal",
    "pointsearned",
    "numberofitems",
    "avgitemprice",
    "productcode",
    "productcategory",
    "storeorwebid",
)
EMAIL_COLUMNS: tuple[str, ...] = (
    "EVENT_ID",
    "EVENT_TYPE_ID",
    "ACCOUNT_ID",
    "LIST_ID",
    "CUSTOMER_ID",
    "EVENT_CAPTURED_DT",
    "EVENT_STORED_DT",
    "CAMPAIGN_ID",
    "LAUNCH_ID",
    "EMAIL",
    "EMAIL_FORMAT",
    "MESSAGE_SIZE",
    "LAUNCH_DATE",
    "dtUpdateDate",
)

SLOTS = 8  # a declared source's child rows per parent are keyed person * SLOTS + k (k < SLOTS)

# Vocabulary locales: en (US) is the package's data folder, the others vocab/data/locales/<name>.
LOCALES: tuple[str, ...] = ("en", "de", "fr", "es", "pt-br", "ja")

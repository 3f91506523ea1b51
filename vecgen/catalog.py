"""Names shared by the config and the sources (a leaf module: it imports nothing of vecgen).

The order is the generation order (parents before children); a test checks the
source registry matches it.
"""

from __future__ import annotations

# source name -> the predecessor's file stem (layout "flat": OUT/YYYY_MM_DD<stem>.<ext>)
FLAT_NAMES: dict[str, str] = {
    "customers": "Customers",
    "transactions": "CustomersTransactions",
    "pos_customers": "CustomersPos",
    "pos_transactions": "CustomersPosTransactions",
    "loyalty": "CustomersLms",
    "email_campaign": "CustomersEmailCampaign",
    "clickstream": "CustomersClickstream",
    "mobile": "CustomersMobile",
    "wifi": "CustomersWifi",
    "safety_reports": "CustomersSafetyReports",
    "locations": "CustomersLatLongs",
    "custom_object": "CustomerscustomObject",
    "truth": "Truth",
}

SOURCE_NAMES: tuple[str, ...] = tuple(FLAT_NAMES)

# source -> the sources it is generated from (they must be switched on too)
PARENTS: dict[str, tuple[str, ...]] = {
    "transactions": ("customers",),
    "pos_customers": ("customers",),
    "pos_transactions": ("pos_customers",),
    "loyalty": ("customers",),
    "email_campaign": ("customers",),
    "clickstream": ("customers",),
    "mobile": ("customers",),
    "wifi": ("customers",),
    "safety_reports": ("customers",),
    "locations": ("customers",),
    "custom_object": ("customers",),
    "truth": ("customers",),
}

FORMATS: dict[str, str] = {"csv": "csv", "parquet": "parquet", "jsonl": "json"}  # name -> extension

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

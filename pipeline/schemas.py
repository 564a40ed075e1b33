"""The landing tables' schemas (docs/contracts.md "Landing tables"): declared once, used by
normalize to cast and validate, by io to write empty tables, and by tests.

Times are UTC instants (tz-aware "UTC" datetimes); phones are E.164 strings.
`client_phone_hash` is a keyed HMAC of the E.164 phone: marts carry only the hash.
"""

from __future__ import annotations

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")

FILES = pl.Schema(
    {
        "file_id": pl.String,  # sha256 of the file's bytes
        "path": pl.String,  # relative to the inbox
        "source": pl.String,
        "preset": pl.String,
        "encoding": pl.String,
        "delimiter": pl.String,
        "received_at": UTC_TIME,
        "rows_total": pl.Int64,
        "rows_accepted": pl.Int64,
        "rows_rejected": pl.Int64,
        "status": pl.String,  # loaded / duplicate / incomplete / empty / failed
        "message": pl.String,
        "read_with": pl.String,  # a loaded file's source settings (ingest.read_with)
    }
)

CRM_DEALS = pl.Schema(
    {
        "source": pl.String,
        "deal_id": pl.String,
        "crm_pipeline": pl.String,
        "stage": pl.String,
        "status": pl.String,  # open / won / lost
        "created_at": UTC_TIME,
        "closed_at": UTC_TIME,
        "manager": pl.String,
        "lead_source": pl.String,
        "amount": pl.Float64,
        "currency": pl.String,
        "lost_reason": pl.String,
        "snapshot_at": UTC_TIME,
        "file_id": pl.String,
    }
)

CRM_DEAL_PHONES = pl.Schema(
    {
        "source": pl.String,
        "deal_id": pl.String,
        "client_phone": pl.String,
        "client_phone_hash": pl.String,
        "snapshot_at": UTC_TIME,
        "file_id": pl.String,
    }
)

CRM_DEAL_ATTRIBUTES = pl.Schema(
    {
        "source": pl.String,
        "deal_id": pl.String,
        "name": pl.String,
        "value": pl.String,
        "snapshot_at": UTC_TIME,
        "file_id": pl.String,
    }
)

CRM_STAGE_EVENTS = pl.Schema(
    {
        "source": pl.String,  # the CRM source the deal belongs to (history_of for history files)
        "deal_id": pl.String,
        "stage": pl.String,
        "entered_at": UTC_TIME,
        "entered_after": UTC_TIME,
        "is_exact": pl.Boolean,
        "manager": pl.String,
        "file_id": pl.String,
    }
)

CALLS = pl.Schema(
    {
        "source": pl.String,
        "call_id": pl.String,
        "line": pl.String,
        "started_at": UTC_TIME,
        "answered_at": UTC_TIME,
        "ended_at": UTC_TIME,
        "direction": pl.String,  # inbound / outbound / internal
        "client_phone": pl.String,
        "client_phone_hash": pl.String,
        "manager": pl.String,
        "talk_s": pl.Int64,
        "disposition": pl.String,  # answered / no_answer / busy / failed
        "file_id": pl.String,
    }
)

REJECTED_ROWS = pl.Schema(
    {
        "file_id": pl.String,
        "row_number": pl.Int64,  # 1-based record number in the file (header not counted)
        "column": pl.String,
        "expected": pl.String,
        "raw": pl.String,
        "reason": pl.String,
    }
)

LANDING_TABLES: dict[str, pl.Schema] = {
    "files": FILES,
    "crm_deals": CRM_DEALS,
    "crm_deal_phones": CRM_DEAL_PHONES,
    "crm_deal_attributes": CRM_DEAL_ATTRIBUTES,
    "crm_stage_events": CRM_STAGE_EVENTS,
    "calls": CALLS,
    "rejected_rows": REJECTED_ROWS,
}

# Landing tables partitioned by month, Hive style (`<table>/month=YYYY-MM/`): the UTC month
# of this time column. A deals file has one snapshot time, so it lands in one month. Tables
# without a time of their own (phones, attributes, rejected rows, the ledger) stay flat.
# dbt declares the same partitioning in models/staging/landing/_landing__sources.yml.
MONTH_PARTITIONS: dict[str, str] = {
    "crm_deals": "snapshot_at",
    "crm_stage_events": "entered_at",
    "calls": "started_at",
}


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=LANDING_TABLES[table])


def conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select and cast a frame to a landing table's schema (missing columns become null)."""
    schema = LANDING_TABLES[table]
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )

"""The dbt project stays portable between DuckDB and Spark (docs/scaling.md), checked by
reading files, without either engine: no DuckDB-only SQL in models, tests or shared
macros; contract types both engines know; landing columns equal the pipeline's schemas.

The deny list is small and grep-level on purpose. It runs on SQL with comments, Jinja and
string literals blanked, so `{{ dbt.datediff(...) }}` or a literal 'a::b' never trips it.
Only macros dispatched to DuckDB (`duckdb__…`) may use what it denies.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipeline.funnel_tables import CONFIG_SCHEMAS
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.schemas import LANDING_TABLES

# pattern → what to use instead
DUCKDB_ONLY: dict[str, str] = {
    r"\bquantile(_cont|_disc)?\s*\(": "percentile_cont() (macros/percentile.sql)",
    r"\blist(_\w+)?\s*\(": "arrays are not portable; aggregate differently",
    r"\bstruct_pack\s*\(": "structs are not portable",
    r"\bepoch(_ms|_us|_ns)?\s*\(": "dbt.datediff(..., 'second')",
    r"\bstr[fp]time\s*\(": "dbt.date_trunc / dbt.cast; format in the report",
    r"\bregexp_(matches|full_match|extract_all)\s*\(": "compare plainly or add a dispatched macro",
    r"::": "cast(x as type) with dbt's type macros",
    r"\bqualify\b": "a ranked CTE and a where",
    r"\bfilter\s*\(\s*where\b": "sum(case when … then 1 else 0 end)",
    r"\bread_(parquet|csv|csv_auto|json)\s*\(": "source() (the landing sources)",
    r"\btimezone\s*\(": "as_utc() / to_local() (macros/time.sql)",
    r"\bat\s+time\s+zone\b": "as_utc() / to_local() (macros/time.sql)",
    r"\b(group|order)\s+by\s+all\b": "list the columns",
    r"\bexclude\s*\(": "list the columns",
    r"\b(generate_series|unnest)\s*\(": "a digits cross join (int_months_spined)",
    r"\bstring_agg\s*\(": "dbt.listagg",
    r"\b(date_diff|datediff|date_add|date_sub)\s*\(": "dbt.datediff / dbt.dateadd",
    r"\binterval\b": "dbt.dateadd",
    r'"': "adapter.quote('name') (Spark quotes with backticks)",
}
# Checked before string literals are blanked.
DUCKDB_ONLY_WITH_STRINGS: dict[str, str] = {
    r"\b(date_part|extract)\s*\(\s*'?epoch\b": "dbt.datediff(..., 'second')",
}
# Contract and source column types that DuckDB and Spark both accept in a cast.
PORTABLE_TYPES = {"string", "bigint", "integer", "int", "double", "boolean", "date", "timestamp"}

JINJA_OR_COMMENT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|--[^\n]*|/\*.*?\*/", re.DOTALL)
STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?%\}(.*?)\{%-?\s*endmacro\s*-?%\}", re.DOTALL)


def blank(sql: str) -> tuple[str, str]:
    """(SQL without comments and Jinja, the same also without string literals)."""
    code = JINJA_OR_COMMENT.sub(" ", sql)
    return code, STRING_LITERAL.sub("''", code)


def duckdb_only_uses(sql: str) -> list[str]:
    code, bare = blank(sql)
    found = [
        f"{re.search(pattern, bare, re.IGNORECASE).group(0)!r} → {instead}"
        for pattern, instead in DUCKDB_ONLY.items()
        if re.search(pattern, bare, re.IGNORECASE)
    ]
    found += [
        f"{re.search(pattern, code, re.IGNORECASE).group(0)!r} → {instead}"
        for pattern, instead in DUCKDB_ONLY_WITH_STRINGS.items()
        if re.search(pattern, code, re.IGNORECASE)
    ]
    return found


def sql_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (DBT_PROJECT_DIR / folder).rglob("*.sql"))


def portable_macro_bodies() -> list[tuple[str, str]]:
    """(file:macro, body) of every macro that is not DuckDB's own implementation."""
    return [
        (f"{path.name}:{name}", body)
        for path in sql_files("macros")
        for name, body in MACRO.findall(path.read_text())
        if not name.startswith("duckdb__")
    ]


def test_the_deny_list_catches_duckdb_only_sql():
    samples = [
        "select quantile_cont(x, 0.5) from t",
        "select count(*) filter (where ok) from t",
        "select x::date from t",
        "select * from t qualify row_number() over (order by x) = 1",
        "select date_part('epoch', ts) from t",
        "select strftime(ts, '%Y') from t",
        "select * from read_parquet('x/*.parquet')",
        "select timezone('UTC', ts) from t",
        'select "column" from t',
        "select list_value(1, 2)",
    ]
    assert [sample for sample in samples if not duckdb_only_uses(sample)] == []


def test_the_deny_list_ignores_jinja_comments_and_string_literals():
    sql = """
    -- a comment may say quantile_cont(x) or "quoted"
    select
        {{ dbt.datediff('a', 'b', 'second') }} as seconds,
        {{ adapter.quote('column') }} as column_name,
        'a::b' as literal
    from {{ ref('t') }}
    """
    assert duckdb_only_uses(sql) == []


@pytest.mark.parametrize(
    "path", sql_files("models", "tests"), ids=lambda p: str(p.relative_to(DBT_PROJECT_DIR))
)
def test_model_uses_no_duckdb_only_sql(path):
    assert duckdb_only_uses(path.read_text()) == []


@pytest.mark.parametrize("name, body", portable_macro_bodies(), ids=lambda v: v)
def test_shared_macro_uses_no_duckdb_only_sql(name, body):
    assert duckdb_only_uses(body) == []


def _yml_columns(folder: str) -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((DBT_PROJECT_DIR / folder).rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        for model in document.get("models", []):
            for column in model.get("columns", []):
                if "data_type" in column:
                    found.append((model["name"], column["name"], column["data_type"]))
        for source in document.get("sources", []):
            for table in source.get("tables", []):
                for column in table.get("columns", []):
                    found.append((table["name"], column["name"], column.get("data_type")))
    return found


def test_declared_column_types_are_known_to_duckdb_and_spark():
    columns = _yml_columns("models")
    assert columns
    assert [column for column in columns if column[2] not in PORTABLE_TYPES] == []


SQL_TYPES = {pl.String: "string", pl.Int64: "bigint", pl.Float64: "double", pl.Boolean: "boolean"}


def _sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        assert dtype.time_zone == "UTC", "landing times are UTC instants"
        return "timestamp"
    return "date" if dtype == pl.Date else SQL_TYPES[dtype]


def test_landing_source_columns_equal_the_pipeline_schemas():
    """Spark registers landing tables from these declared columns (macros/landing.sql)."""
    sources = yaml.safe_load(
        (DBT_PROJECT_DIR / "models/staging/landing/_landing__sources.yml").read_text()
    )["sources"]
    declared = {
        table["name"]: [(column["name"], column["data_type"]) for column in table["columns"]]
        for source in sources
        for table in source["tables"]
    }
    pipeline = {
        table: [(name, _sql_type(dtype)) for name, dtype in schema.items()]
        for table, schema in {**LANDING_TABLES, **CONFIG_SCHEMAS}.items()
    }
    assert declared == pipeline

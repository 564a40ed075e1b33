"""A US site's national numbers land as +1 numbers: a HubSpot deal's `(917) 555-0102`
and a Twilio call from `+19175550102` get one join key, as a hand reading of the two
files says; read as Russian (the default plan) the deal's number was another client's
(+79175550102), and the call never linked to its deal."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.config import Config, load_config
from pipeline.ingest import normalize_file

DEALS = (
    "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Create Date,Close Date,Deal owner,"
    "Is Closed Won,Is closed lost,Phone Number\n"
    "1001,Doors,Appointment,Sales,100,2026-03-02 10:00,,Ann,false,false,(917) 555-0102\n"
    "1002,Windows,Appointment,Sales,200,2026-03-03 10:00,,Bob,false,false,"
    '"212.555.0101, 1 646 555 0199"\n'
)
CALLS = (
    "sid,start_time,end_time,duration,from,to,direction,status\n"
    "CA1,2026-03-01 15:00:00,,60,+19175550102,+13125550000,inbound,completed\n"
    "CA2,2026-03-01 16:00:00,,30,16465550199,+13125550000,inbound,completed\n"
)


def site(folder: Path, phone_country: str | None) -> Config:
    doc = {
        "timezone": "America/New_York",
        **({"phone_country": phone_country} if phone_country else {}),
        "privacy": {"phone_hash_key": "k"},
        "sources": [
            {"name": "crm", "kind": "crm", "preset": "hubspot", "files": "crm/*.csv"},
            {"name": "calls", "kind": "calls", "preset": "twilio", "files": "calls/*.csv"},
        ],
        "funnels": [
            {
                "id": "f",
                "name": {"ru": "F", "en": "F"},
                "crm": [{"source": "crm"}],
                "calls": {"source": "calls"},
                "stages": [
                    {"key": "a", "name": {"ru": "A", "en": "A"}, "crm_stages": ["Appointment"]},
                    {"key": "won", "name": {"ru": "W", "en": "W"}, "crm_status": "won"},
                ],
            }
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "voronka.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(folder / "voronka.yaml")


def landed_phones(config: Config) -> tuple[dict[str, list[str]], dict[str, str]]:
    deals = normalize_file(config, config.source("crm"), "crm/d.csv", DEALS.encode(), "d")
    calls = normalize_file(config, config.source("calls"), "calls/c.csv", CALLS.encode(), "c")
    by_deal: dict[str, list[str]] = {}
    for row in deals.tables["crm_deal_phones"].iter_rows(named=True):
        by_deal.setdefault(row["deal_id"], []).append(row["client_phone"])
    by_call = {
        row["call_id"]: row["client_phone"] for row in calls.tables["calls"].iter_rows(named=True)
    }
    return by_deal, by_call


def test_a_us_site_reads_national_numbers_as_plus_one(tmp_path) -> None:
    deals, calls = landed_phones(site(tmp_path / "us", "US"))
    assert deals == {"1001": ["+19175550102"], "1002": ["+12125550101", "+16465550199"]}
    assert calls == {"CA1": "+19175550102", "CA2": "+16465550199"}


def test_without_phone_country_national_numbers_read_as_russian(tmp_path) -> None:
    deals, calls = landed_phones(site(tmp_path / "ru", None))
    assert deals == {"1001": ["+79175550102"]}  # 212… and 1 646 … are no Russian numbers
    assert calls["CA1"] == "+19175550102"

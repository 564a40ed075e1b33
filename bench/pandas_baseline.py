"""What an analyst would write instead of Voronka: one pandas script, raw exports in,
the cohort stage-conversion table (total segment) out.

It follows the funnel semantics (docs/contracts.md) for the exports this bench writes
(Asterisk Master*.csv, CRM deals/history snapshots in cp1251 with `;`), reading funnels,
stages, lines and excluded phones from voronka.yaml:

- deals: the latest snapshot of each deal; rows whose dates do not parse are dropped;
- calls: once per uniqueid; a call stage counts answered calls of the funnel's line in
  the stage's direction from a phone that is not excluded, with at least the stage's
  talk time (billsec; its min_talk_s, else calls.conversation_min_s for answered calls);
- a call links to the funnel's deal with the same phone that is open at the call
  (latest created first), else to the deal created earliest in [call, call + link_days];
  unlinked calls of a phone form call leads, a new one after a gap > window_days;
- stages are entered by mapped history events, the won status (at closed_at) and
  qualifying calls; anchor = first entry; cohort = its month in the business zone;
- reach `implied`: stage k is reached at the earliest first entry of k or any later
  stage; it counts when reached within window_days of the anchor.

Output columns: funnel_id, month, stage_order, stage_key, entities, entities_next
(NULL for the last stage), for every month from a funnel's first cohort to the cutoff.

Run: python -m bench.pandas_baseline --config voronka.yaml --inbox DIR --out table.csv
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import time
from pathlib import Path

import pandas as pd
import yaml


def phone_e164(text: pd.Series) -> pd.Series:
    """Russian numbers in any spelling → +7XXXXXXXXXX; anything else → NA."""
    digits = text.fillna("").str.replace(r"\D", "", regex=True)
    national = digits.where(digits.str.len() == 10)
    national = national.fillna(
        digits.where((digits.str.len() == 11) & digits.str[0].isin(["7", "8"])).str[1:]
    )
    return ("+7" + national).where(national.notna())


def local_to_utc(values: pd.Series, fmt: str, zone: str) -> pd.Series:
    local = pd.to_datetime(values, format=fmt, errors="coerce")
    return local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


def read_deals(inbox: Path, zone: str, won: str, lost: str) -> pd.DataFrame:
    frames = []
    for path in sorted(glob.glob(str(inbox / "crm" / "deals_*.csv"))):
        stamp = re.search(r"(\d{4}-\d{2}-\d{2})_(\d{4})", os.path.basename(path))
        snapshot = pd.Timestamp(f"{stamp[1]} {stamp[2][:2]}:{stamp[2][2:]}", tz=zone)
        frame = pd.read_csv(
            path,
            sep=";",
            encoding="cp1251",
            dtype=str,
            keep_default_na=False,
            usecols=["ID сделки", "Воронка", "Этап", "Дата создания", "Дата закрытия", "Телефон"],
        )
        frame.columns = ["deal_id", "pipeline", "stage", "created", "closed", "phones"]
        frame["snapshot"] = snapshot.tz_convert("UTC")
        frames.append(frame)
    deals = pd.concat(frames, ignore_index=True)
    deals["created_at"] = local_to_utc(deals["created"], "%d.%m.%Y %H:%M", zone)
    deals["closed_at"] = local_to_utc(deals["closed"].replace("", None), "%d.%m.%Y %H:%M", zone)
    bad_closed = deals["closed"].ne("") & deals["closed_at"].isna()
    deals = deals[deals["created_at"].notna() & ~bad_closed]
    deals = deals.sort_values("snapshot").drop_duplicates("deal_id", keep="last")
    deals["status"] = "open"
    deals.loc[deals["stage"] == won, "status"] = "won"
    deals.loc[deals["stage"] == lost, "status"] = "lost"
    return deals.drop(columns=["created", "closed"])


def read_history(inbox: Path, zone: str) -> pd.DataFrame:
    frames = [
        pd.read_csv(
            path,
            sep=";",
            encoding="cp1251",
            dtype=str,
            keep_default_na=False,
            usecols=["ID сделки", "Этап", "Дата перехода"],
        )
        for path in sorted(glob.glob(str(inbox / "crm" / "history_*.csv")))
    ]
    events = pd.concat(frames, ignore_index=True)
    events.columns = ["deal_id", "stage", "entered"]
    events["entered_at"] = local_to_utc(events["entered"], "%d.%m.%Y %H:%M", zone)
    events = events[events["entered_at"].notna()].drop(columns="entered")
    return events.drop_duplicates()


CDR = [
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "uniqueid",
]  # fmt: skip
CDR_READ = ["accountcode", "src", "dst", "dcontext", "start", "billsec", "disposition", "uniqueid"]


def read_calls(inbox: Path, zone: str) -> pd.DataFrame:
    frames = []
    for path in sorted(glob.glob(str(inbox / "pbx" / "Master*.csv"))):
        frame = pd.read_csv(
            path,
            header=None,
            names=CDR,
            usecols=CDR_READ,
            dtype=str,
            keep_default_na=False,
            on_bad_lines="skip",
        )
        frames.append(frame)
    calls = pd.concat(frames, ignore_index=True)
    calls = calls[calls["uniqueid"].notna()].drop_duplicates("uniqueid")  # short rows: NaN
    calls["started_at"] = local_to_utc(calls["start"], "%Y-%m-%d %H:%M:%S", zone)
    calls = calls[calls["started_at"].notna() & calls["disposition"].ne("")]
    inbound = calls["dcontext"] == "from-trunk"
    calls["direction"] = "outbound"
    calls.loc[inbound, "direction"] = "inbound"
    calls["line"] = phone_e164(calls["accountcode"].where(~inbound, calls["dst"]))
    calls["client_phone"] = phone_e164(calls["src"].where(inbound, calls["dst"]))
    calls["answered"] = calls["disposition"] == "ANSWERED"
    calls["talk_s"] = pd.to_numeric(calls["billsec"], errors="coerce")
    columns = ["uniqueid", "started_at", "direction", "line", "client_phone", "answered"]
    return calls[[*columns, "talk_s"]]


def funnel_table(
    funnel: dict, config: dict, deals: pd.DataFrame, events: pd.DataFrame,
    calls: pd.DataFrame, cutoff: pd.Timestamp,
) -> pd.DataFrame:  # fmt: skip
    zone = config["timezone"]
    stages = funnel["stages"]
    window = pd.Timedelta(days=funnel.get("window_days", 90))
    link = pd.Timedelta(days=funnel.get("link_days", 30))
    pipelines = [crm["pipeline"] for crm in funnel.get("crm", [])]
    fdeals = deals[deals["pipeline"].isin(pipelines)]

    entries = []
    # CRM stages from the history, by name and validity date (local).
    fevents = events.merge(fdeals[["deal_id"]], on="deal_id")
    local_day = fevents["entered_at"].dt.tz_convert(zone).dt.date
    for order, stage in enumerate(stages, 1):
        for crm in stage.get("crm_stages", []):
            hit = fevents["stage"] == crm["name"]
            if crm.get("valid_from"):
                hit &= local_day >= pd.Timestamp(crm["valid_from"]).date()
            if crm.get("valid_to"):
                hit &= local_day <= pd.Timestamp(crm["valid_to"]).date()
            part = fevents.loc[hit, ["deal_id", "entered_at"]]
            entries.append(pd.DataFrame({"entity": "deal:" + part["deal_id"], "order": order,
                                         "at": part["entered_at"]}))  # fmt: skip
        if stage.get("crm_status"):
            closed = fdeals[(fdeals["status"] == stage["crm_status"]) & fdeals["closed_at"].notna()]
            entries.append(pd.DataFrame({"entity": "deal:" + closed["deal_id"], "order": order,
                                         "at": closed["closed_at"]}))  # fmt: skip

    # Qualifying calls, linked to deals or grouped into call leads.
    call_stages = [(order, s["calls"]) for order, s in enumerate(stages, 1) if s.get("calls")]
    if call_stages and funnel.get("calls"):
        lines = {p for p in funnel["calls"].get("lines", [])}
        excluded = set(config.get("exclude_phones", []))
        for order, rule in call_stages:
            q = calls[calls["client_phone"].notna() & ~calls["client_phone"].isin(excluded)]
            if lines:
                q = q[q["line"].isin(lines)]
            if rule.get("direction"):
                q = q[q["direction"] == rule["direction"]]
            if "answered" in rule:
                q = q[q["answered"] == rule["answered"]]
            least = rule.get("min_talk_s")
            if least is None and rule.get("answered"):
                least = config.get("calls", {}).get("conversation_min_s", 30)
            if least is not None:
                q = q[q["talk_s"].isna() | (q["talk_s"] >= least)]
            q = q[["uniqueid", "started_at", "client_phone"]]
            phones = (
                fdeals[["deal_id", "created_at", "closed_at", "phones"]]
                .assign(client_phone=fdeals["phones"].str.split(","))
                .explode("client_phone")
            )
            phones["client_phone"] = phone_e164(phones["client_phone"].str.strip())
            phones = phones.dropna(subset=["client_phone"]).drop_duplicates(
                ["deal_id", "client_phone"]
            )
            pairs = q.merge(phones, on="client_phone")
            open_at_call = (pairs["created_at"] <= pairs["started_at"]) & (
                pairs["closed_at"].isna() | (pairs["started_at"] <= pairs["closed_at"])
            )
            soon_after = (pairs["created_at"] > pairs["started_at"]) & (
                pairs["created_at"] <= pairs["started_at"] + link
            )
            pairs = pairs[open_at_call | soon_after].copy()
            pairs["priority"] = (~open_at_call[pairs.index]).astype(int)
            pairs["newest_first"] = -pairs["created_at"].astype("int64")
            pairs.loc[pairs["priority"] == 1, "newest_first"] = 0
            pairs = pairs.sort_values(["uniqueid", "priority", "newest_first", "created_at",
                                       "deal_id"])  # fmt: skip
            linked = pairs.drop_duplicates("uniqueid")[["uniqueid", "deal_id"]]
            q = q.merge(linked, on="uniqueid", how="left")
            done = q[q["deal_id"].notna()]
            entries.append(pd.DataFrame({"entity": "deal:" + done["deal_id"], "order": order,
                                         "at": done["started_at"]}))  # fmt: skip
            leads = q[q["deal_id"].isna()].sort_values(["client_phone", "started_at", "uniqueid"])
            gap = leads.groupby("client_phone")["started_at"].diff()
            episode = (
                (gap.isna() | (gap > window)).astype(int).groupby(leads["client_phone"]).cumsum()
            )
            entries.append(pd.DataFrame({
                "entity": "call:" + leads["client_phone"] + ":" + episode.astype(str),
                "order": order, "at": leads["started_at"],
            }))  # fmt: skip

    entries = pd.concat(entries, ignore_index=True)
    first = entries.groupby(["entity", "order"], as_index=False)["at"].min()
    anchor = first.groupby("entity")["at"].min().rename("anchor")
    n = len(stages)
    wide = first.pivot(index="entity", columns="order", values="at").reindex(
        columns=range(1, n + 1)
    )
    # implied reach: the earliest first entry of this or any later stage
    # (cummin leaves a stage never entered empty: carry the running minimum into it)
    reached = wide.iloc[:, ::-1].cummin(axis=1).ffill(axis=1).iloc[:, ::-1]
    within = reached.le(anchor + window, axis=0) & reached.notna()
    cohort = anchor.dt.tz_convert(zone).dt.tz_localize(None).dt.to_period("M")
    counts = within.groupby(cohort).sum()
    nexts = (within & within.shift(-1, axis=1, fill_value=False)).groupby(cohort).sum()
    last = cutoff.tz_convert(zone).tz_localize(None).to_period("M")
    months = pd.period_range(cohort.min(), last, freq="M")
    counts = counts.reindex(months, fill_value=0)
    nexts = nexts.reindex(months, fill_value=0)
    rows = []
    for month in months:
        for order, stage in enumerate(stages, 1):
            rows.append({
                "funnel_id": funnel["id"], "month": month.start_time.date(),
                "stage_order": order, "stage_key": stage["key"],
                "entities": int(counts.loc[month, order]),
                "entities_next": int(nexts.loc[month, order]) if order < n else None,
            })  # fmt: skip
    return pd.DataFrame(rows)


def cohort_table(config_path: Path, inbox: Path) -> pd.DataFrame:
    config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    zone = config["timezone"]
    crm = next(s for s in config["sources"] if s["kind"] == "crm")
    won, lost = crm["status"]["won"][0], crm["status"]["lost"][0]
    deals = read_deals(inbox, zone, won, lost)
    events = read_history(inbox, zone)
    calls = read_calls(inbox, zone)
    cutoff = max(
        calls["started_at"].max(), events["entered_at"].max(), deals["snapshot"].max(),
        deals["created_at"].max(), deals["closed_at"].max(),
    )  # fmt: skip
    tables = [
        funnel_table(funnel, config, deals, events, calls, cutoff) for funnel in config["funnels"]
    ]
    return pd.concat(tables, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    table = cohort_table(args.config, args.inbox)
    table.to_csv(args.out, index=False)
    print(f"{len(table)} rows in {time.perf_counter() - started:.1f} s → {args.out}")


if __name__ == "__main__":
    main()

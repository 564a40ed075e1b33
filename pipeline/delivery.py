"""Publishing the monthly reports: what each report printed, and who received it (SMTP).

Two small ledgers live in the state folder beside the warehouse:

    <state>/reports/<YYYY-MM>.json    per funnel: the printed figures and their digest,
                                      amended? and what changed
    <state>/delivery/sent.jsonl       one line per mail sent (month, funnel, recipient,
                                      PDF sha256): a rerun never mails the same PDF twice

A report is "amended" when a re-render changed a figure it had printed (a period figure
or a mature-cohort figure) — not when only the data cutoff (the PDF's date) moved. The
renderer reads the ledger before it renders (`pending_amendment`), so an amended PDF says
so on page 1, with the figures that changed and the data date of the version it amends.
No Dagster here: the assets and sensors in pipeline/defs call these functions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from pipeline import io
from pipeline.config import Config, Funnel, Recipient

LOG = logging.getLogger(__name__)

# What the digest covers. A record of another version cannot be compared: the next render
# re-baselines it (stores today's figures) instead of calling the report amended, and the
# amended-reports sensor leaves it alone. 2: figures only, flags (weakest step) left out.
DIGEST_VERSION = 2

# Mail wording per locale (the report's own wording lives in reports/labels/<locale>.toml).
MAIL_TEXT = {
    "ru": {
        "subject": "Воронка «{funnel}»: отчёт за {month}",
        "amended": " (исправлен)",
        "period": "{month}: {first_stage} — {first}, {last_stage} — {last} (входы за месяц).",
        "cohort": "Когорта {month}: сквозная конверсия {rate} (созревшая когорта).",
        "no_cohort": "Созревшей когорты пока нет.",
        "no_period": "{month}: данных за месяц нет.",
        "attached": "Отчёт во вложении.",
    },
    "en": {
        "subject": "Funnel “{funnel}”: report for {month}",
        "amended": " (amended)",
        "period": "{month}: {first_stage} {first}, {last_stage} {last} (entries in the month).",
        "cohort": "Cohort {month}: overall conversion {rate} (mature cohort).",
        "no_cohort": "No mature cohort yet.",
        "no_period": "{month}: no data for the month.",
        "attached": "The report is attached.",
    },
}


# --- what a report printed -----------------------------------------------------------


def report_models(config: Config, month: str) -> dict[str, object]:
    """funnel_id → the report model of `month` ('YYYY-MM'), as the renderer draws it."""
    from pipeline.reporting import report_models as build_models

    return build_models(config, month)


def printed_figures(model) -> dict:
    """The figures a report prints that can be amended: the period and mature-cohort views."""
    return {
        "mature_month": model.mature_month,
        "period": _plain(model.period),
        "cohort": _plain(model.cohort),
    }


def figures_digest(figures: dict) -> str:
    text = json.dumps(figures, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def printed_digests(config: Config, month: str) -> dict[str, str]:
    """funnel_id → digest of the figures the month's report prints, from the current marts."""
    return {funnel_id: state.digest for funnel_id, state in printed(config, month).items()}


@dataclass(frozen=True)
class Printed:
    """What one report prints that can be amended, and the data date it was printed at."""

    figures: dict  # printed_figures(model), plain values: what the digest covers
    as_of: str | None  # the data cutoff (local, ISO): not in the digest

    @property
    def digest(self) -> str:
        return figures_digest(self.figures)


def printed_of(model) -> Printed:
    cutoff = getattr(model, "cutoff_local", None)
    return Printed(_plain(printed_figures(model)), cutoff.isoformat() if cutoff else None)


def printed(config: Config, month: str, models: dict | None = None) -> dict[str, Printed]:
    """funnel_id → what the month's report prints: of `models` (the ones rendered), else
    of the current marts."""
    models = models if models is not None else report_models(config, month)
    return {funnel_id: printed_of(model) for funnel_id, model in models.items()}


# The figures an amendment lists, per stage of the period and mature-cohort views.
CHANGE_MEASURES = ("entities", "median_days")
RATE_MEASURES = ("conversion_to_next",)  # listed only where no count of the view changed


def figure_changes(before: dict, after: dict) -> list[dict]:
    """The printed figures that differ between two `Printed.figures`: a stage's clients
    and days in stage, in the period view and in the mature cohort (the cohort's figures
    only when it is still the same cohort month; otherwise the month change itself)."""
    changes: list[dict] = []
    same_cohort = before.get("mature_month") == after.get("mature_month")
    if not same_cohort:
        changes.append(
            {
                "view": "cohort_month",
                "measure": "cohort_month",
                "old": before.get("mature_month"),
                "new": after.get("mature_month"),
            }
        )
    for view in ("period", "cohort"):
        if view == "cohort" and not same_cohort:
            continue
        old_view, new_view = before.get(view) or {}, after.get(view) or {}
        old_stages = {stage["key"]: stage for stage in old_view.get("stages") or []}
        found: list[dict] = []
        rates: list[dict] = []
        for stage in new_view.get("stages") or []:
            previous = old_stages.get(stage["key"])
            if previous is None:
                continue
            for measure in (*CHANGE_MEASURES, *RATE_MEASURES):
                if previous.get(measure) != stage.get(measure):
                    change = {
                        "view": view,
                        "month": new_view.get("month"),
                        "stage_key": stage["key"],
                        "measure": measure,
                        "old": previous.get(measure),
                        "new": stage.get(measure),
                    }
                    (rates if measure in RATE_MEASURES else found).append(change)
        changes += found or rates
    return changes


# Marks the report draws from the figures (which step is the weakest, whether a view was
# judged): a changed rule re-marks a step, it changes no figure.
_FLAG_FIELDS = {"is_weakest", "judged"}


def _plain(value):
    """Dataclasses → dicts of plain values, flags left out (the model holds no names: it is
    the same in every locale)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _FLAG_FIELDS
        }
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, float):
        return round(value, 12)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# --- the report ledger: printed digests and amendments --------------------------------


def reports_state_dir(config: Config) -> Path:
    return config.state_dir / "reports"


def report_record_path(config: Config, month: str) -> Path:
    return reports_state_dir(config) / f"{month}.json"


def read_report_record(config: Config, month: str) -> dict:
    path = report_record_path(config, month)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def reported_months(config: Config) -> list[str]:
    folder = reports_state_dir(config)
    return sorted(path.stem for path in folder.glob("????-??.json")) if folder.is_dir() else []


def record_render(
    config: Config,
    month: str,
    digests: dict[str, str],
    pdfs: Iterable[Path],
    printed_now: dict[str, Printed] | None = None,
) -> dict[str, bool]:
    """Store what the month's reports printed; return funnel_id → amended by this render.

    The first render is never an amendment; a re-render is one when the digest differs.
    Once amended, a report stays marked amended (with the number of amendments). With
    `printed_now` (printed(config, month)) the figures themselves are kept too, so the
    next amendment can say what changed and since which data date.
    """
    record = read_report_record(config, month)
    funnels = record.setdefault("funnels", {})
    amended_now: dict[str, bool] = {}
    for funnel_id, digest in digests.items():
        entry = funnels.get(funnel_id)
        changed = comparable(entry) and entry["printed_digest"] != digest
        amended_now[funnel_id] = changed
        if entry is None:
            entry = {"amended": False, "amendments": 0}
        entry["digest_version"] = DIGEST_VERSION
        state = (printed_now or {}).get(funnel_id)
        if changed:
            entry["amended"] = True
            entry["amendments"] += 1
            entry["previous_digest"] = entry["printed_digest"]
            entry["previous_as_of"] = entry.get("as_of")
            before = entry.get("printed_figures")
            entry["changes"] = figure_changes(before, state.figures) if before and state else []
        entry["printed_digest"] = digest
        if state is not None and state.digest == digest:
            entry["printed_figures"] = state.figures
            entry["as_of"] = state.as_of
        funnels[funnel_id] = entry
    record["month"] = month
    record["pdfs"] = {path.name: file_sha256(path) for path in sorted(pdfs)}
    _write_json(report_record_path(config, month), record)
    return amended_now


def pending_amendment(config: Config, month: str, funnel_id: str, now: Printed) -> dict | None:
    """What a render of the report about to be made must say on page 1 about amendments:
    None for a first render or unchanged figures; else {edition, previous_as_of, changes}
    (stage keys, plain values) — figures that differ from the last recorded render, or,
    when they do not, the amendment already recorded (a re-render of an amended report)."""
    entry = read_report_record(config, month).get("funnels", {}).get(funnel_id)
    if entry is None:
        return None
    if comparable(entry) and entry.get("printed_digest") != now.digest:
        before = entry.get("printed_figures")
        return {
            "edition": entry.get("amendments", 0) + 2,
            "previous_as_of": entry.get("as_of"),
            "changes": figure_changes(before, now.figures) if before else [],
        }
    if entry.get("amended"):
        return {
            "edition": entry.get("amendments", 1) + 1,
            "previous_as_of": entry.get("previous_as_of"),
            "changes": entry.get("changes") or [],
        }
    return None


def comparable(entry: dict | None) -> bool:
    """A recorded render whose digest covers what today's digest covers."""
    return entry is not None and entry.get("digest_version", 1) == DIGEST_VERSION


def is_amended(config: Config, month: str, funnel_id: str) -> bool:
    entry = read_report_record(config, month).get("funnels", {}).get(funnel_id, {})
    return bool(entry.get("amended"))


def months_to_amend(config: Config, current: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """Reported months whose printed figures differ now: month → digest of the new figures.

    `current(month)` gives today's digests (printed_digests); months never rendered are
    not looked at (the schedule renders them).
    """
    changed: dict[str, str] = {}
    for month in reported_months(config):
        stored = {
            funnel_id: entry["printed_digest"]
            for funnel_id, entry in read_report_record(config, month).get("funnels", {}).items()
            if comparable(entry)
        }
        now = current(month)
        if any(now.get(funnel_id) != digest for funnel_id, digest in stored.items()):
            changed[month] = figures_digest(now)
    return changed


# --- mail -----------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    sent: list[str] = field(default_factory=list)  # "funnel → email"
    already_sent: list[str] = field(default_factory=list)
    missing_pdf: list[str] = field(default_factory=list)
    skipped_reason: str | None = None  # set when nothing was attempted (no SMTP host)


def sent_log_path(config: Config) -> Path:
    return config.state_dir / "delivery" / "sent.jsonl"


def sent_keys(config: Config) -> set[str]:
    path = sent_log_path(config)
    if not path.exists():
        return set()
    return {json.loads(line)["key"] for line in path.read_text("utf-8").splitlines() if line}


def sent_key(month: str, funnel_id: str, email: str, pdf_sha256: str) -> str:
    return f"{month}|{funnel_id}|{email.strip().lower()}|{pdf_sha256}"


def send_reports(
    config: Config,
    month: str,
    *,
    force: bool = False,
    say: Callable[[str], None] = LOG.info,
) -> DeliveryResult:
    """Mail each funnel's PDF for `month` to its recipients, once per PDF version."""
    from pipeline.reporting import report_path

    result = DeliveryResult()
    if not config.delivery.smtp_host:
        result.skipped_reason = "delivery.smtp_host is not set: reports written, not mailed"
        say(result.skipped_reason)
        return result
    done = set() if force else sent_keys(config)
    models: dict[str, object] | None = None  # built on the first mail to send
    for funnel in config.funnels:
        for recipient in funnel.recipients:
            pdf = _pdf_for(config, funnel, recipient, month, report_path)
            label = f"{funnel.id} → {recipient.email}"
            if pdf is None:
                result.missing_pdf.append(label)
                say(f"{label}: no PDF for {month}; nothing sent")
                continue
            digest = file_sha256(pdf)
            key = sent_key(month, funnel.id, recipient.email, digest)
            if key in done:
                result.already_sent.append(label)
                say(f"{label}: this PDF was already sent; not sending again")
                continue
            models = models or report_models(config, month)
            amended = is_amended(config, month, funnel.id)
            message = report_message(
                config, funnel, recipient, month, models[funnel.id], pdf, amended
            )
            smtp_send(config, message)
            _append_sent(config, key, month, funnel.id, recipient.email, digest, amended)
            done.add(key)
            result.sent.append(label)
            say(f"{label}: sent {pdf.name}" + (" (amended)" if amended else ""))
    return result


def _pdf_for(config, funnel: Funnel, recipient: Recipient, month: str, report_path) -> Path | None:
    """The recipient's locale; else a locale that was rendered (the config's first)."""
    for locale in [recipient.locale, *config.locales]:
        path = report_path(config, funnel.id, month, locale)
        if path.exists():
            return path
    return None


def summary_lines(model, funnel: Funnel, locale: str) -> tuple[str, str]:
    """Two lines for the mail body, every number from the report model (i.e. the marts)."""
    from pipeline.reporting.formatting import Formatter
    from pipeline.reporting.labels import labels_for
    from pipeline.reporting.words import Words

    fmt, text = Formatter(locale), MAIL_TEXT[locale]
    words = Words(funnel, locale, labels_for(locale))
    period = model.period
    if period is not None and period.stages:
        first, last = period.stages[0], period.stages[-1]
        line1 = text["period"].format(
            month=fmt.month(period.month),
            first_stage=words.stage(first.key),
            first=fmt.number(first.entities),
            last_stage=words.stage(last.key),
            last=fmt.number(last.entities),
        )
    else:
        line1 = text["no_period"].format(month=fmt.month(model.month))
    cohort = model.cohort
    if cohort is not None and cohort.stages:
        line2 = text["cohort"].format(
            month=fmt.month(cohort.month), rate=fmt.percent(cohort.stages[-1].conversion_from_first)
        )
    else:
        line2 = text["no_cohort"]
    return line1, line2


def report_message(
    config: Config,
    funnel: Funnel,
    recipient: Recipient,
    month: str,
    model,
    pdf: Path,
    amended: bool,
) -> EmailMessage:
    from pipeline.reporting.formatting import Formatter

    locale = recipient.locale
    text = MAIL_TEXT[locale]
    month_label = Formatter(locale).month(dt.date.fromisoformat(f"{month}-01"))
    message = EmailMessage()
    message["From"] = config.delivery.sender
    message["To"] = recipient.email
    message["Subject"] = text["subject"].format(
        funnel=funnel.name.get(locale), month=month_label
    ) + (text["amended"] if amended else "")
    line1, line2 = summary_lines(model, funnel, locale)
    message.set_content(f"{line1}\n{line2}\n\n{text['attached']}\n")
    message.add_attachment(
        pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name
    )
    return message


def smtp_send(config: Config, message: EmailMessage) -> None:
    """One message through the configured SMTP server (credentials from the environment)."""
    settings = config.delivery
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as smtp:
        if settings.use_starttls:
            smtp.starttls()
        user = os.environ.get(settings.username_env)
        if user:
            smtp.login(user, os.environ.get(settings.password_env, ""))
        smtp.send_message(message)


def _append_sent(
    config: Config, key: str, month: str, funnel_id: str, email: str, digest: str, amended: bool
) -> None:
    path = sent_log_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {
        "key": key,
        "month": month,
        "funnel": funnel_id,
        "email": email,
        "pdf_sha256": digest,
        "amended": amended,
        "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")


# --- small file helpers ---------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    """Written whole or not at all: a crash never leaves half a record."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    io.write_text_atomic(path, text)

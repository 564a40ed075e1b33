"""Failure records: when a run fails, a person who did not watch it reads one file.

Each failed run leaves `<failures_dir>/<month>_<run id>.txt` (for people) and `.json`
(for tools): the month, the step that failed, the error, and what to do next. If
`delivery.operators` is set and an SMTP host is configured, the text is mailed to them.
One record and at most one mail per run, however often the sensor looks at it.
No Dagster here: pipeline/defs/sensors.py fills a FailureRecord from the run, the CLI
(pipeline/cli.py) from the exception that failed it. The error keeps the messages of the
whole exception chain: "could not mail" alone does not say "Connection refused".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path

from pipeline import io
from pipeline.config import Config
from pipeline.delivery import smtp_send

LOG = logging.getLogger(__name__)

# Step name fragments → what an operator should do. First match wins.
ADVICE = (
    (
        "every_source_has_data",
        "An export is missing for the month: put the missing source's export for the month "
        "into the inbox (see 'sources_without_data' in the error), then rerun the month.",
    ),
    (
        "reject_ratio",
        "An export has too many rejected rows. Run `voronka check <file>` on the file named in "
        "the error, fix or re-export it into the inbox, then rerun the month.",
    ),
    (
        "every_row_lands",
        "A loaded file does not reconcile (rows_total ≠ accepted + rejected): this is a bug in "
        "a preset; keep the file and report it. The previous reports are untouched.",
    ),
    (
        "ingest",
        "An inbox file could not be read or is too dirty. Run `voronka check <file>` on each file "
        "named in the error, replace or remove it in the inbox, then rerun the month.",
    ),
    (
        "config",
        "voronka.yaml could not be turned into tables: fix the config (the error names the key), "
        "then rerun the month.",
    ),
    (
        "dbt",
        "A dbt model or data test failed. The published warehouse and the previous PDFs were left "
        "as they were. Read the failing test in the error (or the run's dbt log), fix the data "
        "or the config, then rerun the month.",
    ),
    (
        "monthly_pdf",
        "Rendering a PDF failed; the month's other PDFs were rendered, earlier ones are "
        "untouched. Read the error (it names each PDF that failed), then rerun "
        "reports/monthly_pdf for the month.",
    ),
    (
        "report:",  # the CLI's report step
        "Rendering a PDF failed; the PDFs that rendered were published, earlier ones are "
        "untouched. Read the error (it names each PDF that failed), then rerun "
        "`voronka report --month YYYY-MM`.",
    ),
    (
        "monthly_mail",
        "Mailing the reports failed (SMTP). Check delivery.smtp_host/port and the credentials in "
        "the environment, then rerun reports/monthly_mail for the month; mail already sent is "
        "not sent again.",
    ),
)
DEFAULT_ADVICE = "Read the error, fix the cause, then rerun the month (the UI: Re-execute)."


CAUSES_MAX = 8  # a chain longer than this is a loop or a bug; its head says enough


def error_text(error: object) -> str:
    """The error's message, then one line per cause not already quoted above it:
    'could not mail …' / 'caused by ConnectionRefusedError: [Errno 111] Connection refused'.
    `error` is an exception (its __cause__, or its __context__ unless suppressed) or
    Dagster's serialized error (its `cause`, else `context`; messages carry the class)."""
    lines: list[str] = []
    while error is not None and len(lines) < CAUSES_MAX:
        if isinstance(error, BaseException):
            message = str(error).strip()
            named = f"{type(error).__name__}: {message}" if message else type(error).__name__
            following = error.__cause__ or (
                None if error.__suppress_context__ else error.__context__
            )
        else:
            message = named = (getattr(error, "message", "") or "").strip()
            following = getattr(error, "cause", None) or getattr(error, "context", None)
        if not lines:
            lines.append(message or named)
        elif message and not any(message in line for line in lines):  # wrappers quote causes
            lines.append(f"caused by {named}")
        error = following
    return "\n".join(lines)


def what_to_do(step: str) -> str:
    lowered = step.lower()
    for fragment, advice in ADVICE:
        if fragment in lowered:
            return advice
    return DEFAULT_ADVICE


@dataclass
class FailureRecord:
    run_id: str
    job: str
    month: str | None  # 'YYYY-MM', a range 'YYYY-MM…YYYY-MM', or None (not a monthly run)
    step: str
    error: str
    failed_at: str  # ISO 8601, UTC
    what_to_do: str = ""
    mailed_to: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.what_to_do = self.what_to_do or what_to_do(self.step)

    @property
    def stem(self) -> str:
        month = (self.month or "no-month").replace("…", "_to_")
        return f"{month}_{self.run_id[:8]}"

    def render(self) -> str:
        return (
            f"Voronka run failed\n"
            f"month:      {self.month or '(not a monthly run)'}\n"
            f"job:        {self.job}\n"
            f"run:        {self.run_id}\n"
            f"failed at:  {self.failed_at}\n"
            f"step:       {self.step}\n"
            f"\nerror:\n{_indent(self.error)}\n"
            f"\nwhat to do:\n{_indent(self.what_to_do)}\n"
        )


def month_from_tags(tags: dict[str, str]) -> str | None:
    """The month(s) a run was for, from Dagster's partition tags (kept free of Dagster)."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"][:7]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        return start[:7] if start == end else f"{start[:7]}…{end[:7]}"
    return None


def record_failure(config: Config, record: FailureRecord) -> tuple[Path, bool]:
    """Write the record (once per run) and mail it to the operators; (path, new?)."""
    folder = config.failures_dir
    text_path = folder / f"{record.stem}.txt"
    if text_path.exists():
        return text_path, False
    if config.delivery.smtp_host and config.delivery.operators:
        try:
            smtp_send(config, failure_message(config, record))
            record.mailed_to = list(config.delivery.operators)
        except OSError as error:  # the record matters more than the mail
            LOG.warning("could not mail the failure record: %s", error)
    io.write_text_atomic(
        folder / f"{record.stem}.json", json.dumps(asdict(record), indent=2) + "\n"
    )
    io.write_text_atomic(text_path, record.render())
    return text_path, True


def failure_message(config: Config, record: FailureRecord) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.delivery.sender
    message["To"] = ", ".join(config.delivery.operators)
    message["Subject"] = f"Voronka run failed: {record.month or record.job} at step {record.step}"
    message.set_content(record.render())
    return message


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.strip().splitlines())

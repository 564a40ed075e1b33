"""asterisk.canonical_calls on fields as read: whitespace around values, the agent's
extension taken from the channel of the call's direction."""

from __future__ import annotations

import polars as pl

from pipeline.sources.asterisk import FIELDS, canonical_calls


def fields(**values: str) -> dict[str, str]:
    record = dict.fromkeys(FIELDS, "")
    record.update(start="2025-03-10 10:00:00", end="2025-03-10 10:01:00", billsec="60")
    record.update(disposition="ANSWERED", uniqueid="1710054000.1")
    record.update(values)
    return record


def canonical(*records: dict[str, str]) -> pl.DataFrame:
    frame = pl.DataFrame(list(records), schema=dict.fromkeys(FIELDS, pl.String))
    frame = frame.with_columns(_row=pl.int_range(1, len(records) + 1), _raw=pl.lit("raw"))
    return canonical_calls(frame)


def test_the_agent_comes_from_the_channel_of_the_direction() -> None:
    calls = canonical(
        # inbound: the agent answered on dstchannel (channel is the trunk's, or another ext)
        fields(src="89161234567", dst="74951112233", dcontext="from-trunk",
               channel="SIP/105-01", dstchannel="SIP/101-02"),
        # outbound: the agent dialled from channel (dstchannel names another extension)
        fields(src="102", dst="89161234567", dcontext="from-internal",
               channel="SIP/102-03", dstchannel="SIP/106-04"),
        # internal, channel without an extension: the extension in src
        fields(src="103", dst="104", dcontext="from-internal", channel="Local/x@ctx",
               dstchannel="SIP/104-05"),
        # inbound whose dstchannel is the trunk: no agent
        fields(src="89161234567", dst="74951112233", dcontext="from-trunk",
               channel="SIP/107-06", dstchannel="SIP/trunk-07"),
    )  # fmt: skip
    assert calls["direction"].to_list() == ["inbound", "outbound", "internal", "inbound"]
    assert calls["manager"].to_list() == ["ext:101", "ext:102", "ext:103", None]


def test_values_are_read_without_surrounding_whitespace() -> None:
    padded = fields(src=" 89161234567\u00a0", dst="\t74951112233 ", dcontext=" from-trunk",
                    dstchannel="\u2003SIP/101-02 ", disposition=" answered ",
                    start=" 2025-03-10 10:00:00", uniqueid="1710054000.1\u3000")  # fmt: skip
    calls = canonical(padded)
    row = calls.row(0, named=True)
    assert row["call_id"] == "1710054000.1"
    assert (row["direction"], row["client_phone"], row["line"]) == (
        "inbound", "89161234567", "74951112233"
    )  # fmt: skip
    assert (row["_e164_client_phone"], row["manager"]) == ("+79161234567", "ext:101")
    assert (row["started_at"], row["disposition"]) == ("2025-03-10 10:00:00", "answered")

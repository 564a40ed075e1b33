"""Issue 14, "partly holding": values no export should be able to slip into landing.

- Zero-width and other invisible characters split one manager into two, and an RLO mark
  reversed printed text: names are brought to NFKC with invisible and bidi characters
  removed, in the alias table and in what lands.
- A 10 MB field landed whole: a value longer than 4,096 characters rejects its row with
  the length, and the rejected row's raw text is cut (saying how long it was).
- NUL bytes were stored in values: they are removed.
- A call ending before it starts was accepted: it is rejected with the reason."""

from __future__ import annotations

from pipeline.config import normalize_person_name
from tests.reliability.inbox_cases import (
    cdr,
    deal,
    deals_file,
    ingest,
    make_project,
    put,
    rejects,
    table,
)

ANNA = "Anna Smirnova"  # a configured manager
DISGUISED = [
    "Anna\u200b Smirnova",  # zero-width space
    "Anna Smir\u200dnova",  # zero-width joiner
    "\u202eAnna Smirnova",  # right-to-left override
    "Ａｎｎａ Smirnova",  # fullwidth letters
    "Anna\u00a0Smirnova\ufeff",  # no-break space, BOM
    "Anna\x00 Smirnova",  # NUL
]


def test_invisible_characters_do_not_make_another_manager(tmp_path) -> None:
    config = make_project(tmp_path)
    rows = [deal(n, owner=name) for n, name in enumerate([ANNA, *DISGUISED], start=1)]
    rows += [deal(10, owner="Petrov"), deal(11, owner="Pet\u200brov\u202c")]  # unknown name
    rows.append(deal(12, stage="\u202eNew"))
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    [result] = ingest(config).files

    deals = table(config, "crm_deals")
    assert set(deals["manager"]) == {ANNA, "Petrov"}
    assert set(deals["stage"]) == {"New"}
    assert "row(s) held NUL bytes or invisible/bidi characters (removed)" in result.message
    assert len({normalize_person_name(name) for name in [ANNA, *DISGUISED]}) == 1


def test_a_ten_megabyte_field_rejects_its_row_and_its_raw_text_is_cut(tmp_path) -> None:
    config = make_project(tmp_path)
    huge = "A" * 10 * 1024**2
    put(config, "crm/deals_2025-03-01.csv", deals_file(deal(1), deal(2, owner=huge), deal(3)))
    [result] = ingest(config).files

    assert (result.rows_accepted, result.rows_rejected) == (2, 1)
    [reject] = rejects(config).to_dicts()
    assert reject["column"] == "Owner"
    assert "10485760 characters long; at most 4,096 are read" in reject["reason"]
    assert len(reject["raw"]) < 5000 and reject["raw"].endswith("characters in all)")
    assert table(config, "crm_deals")["manager"].str.len_chars().max() < 100


def test_nul_bytes_are_removed_from_values_and_raw_text(tmp_path) -> None:
    config = make_project(tmp_path)
    rows = [deal(1, stage="Ne\x00w"), deal(2, created="nonsense\x00")]
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    ingest(config)
    assert table(config, "crm_deals")["stage"].to_list() == ["New"]
    [reject] = rejects(config).to_dicts()
    assert "\x00" not in reject["raw"] and "\x00" not in reject["reason"]


def test_a_call_ending_before_it_starts_is_rejected(tmp_path) -> None:
    config = make_project(tmp_path)
    calls = [
        cdr(1, "2025-02-10 10:00:00", "2025-02-10 10:05:00"),
        cdr(2, "2025-02-10 11:00:00", "2025-02-10 10:59:00"),
    ]
    put(config, "pbx/Master.csv", "\n".join(calls) + "\n")
    [result] = ingest(config).files
    assert (result.rows_accepted, result.rows_rejected) == (1, 1)
    [reject] = rejects(config).to_dicts()
    assert (reject["row_number"], reject["column"]) == (2, "end")
    assert "ends ('2025-02-10 10:59:00') before it starts" in reject["reason"]


def test_a_client_number_holding_an_invisible_character_lands_as_its_phone(tmp_path) -> None:
    """The PBX preset normalises phones before values are cleaned: a number holding a
    zero-width space is still read from its cleaned text (as a number without one)."""
    config = make_project(tmp_path)
    calls = [
        cdr(1, "2025-02-10 10:00:00", src="8916\u200b1234567"),
        cdr(2, "2025-02-10 11:00:00", src="89167654321"),
    ]
    put(config, "pbx/Master.csv", "\n".join(calls) + "\n")
    ingest(config)
    phones = table(config, "calls").sort("call_id")["client_phone"].to_list()
    assert phones == ["+79161234567", "+79167654321"]

"""Files written whole (pipeline/io.py `replaced_whole`: landing parquet, the ledger, state
and delivery records, PDFs): a reader sees the old file or the new one, a write that fails
leaves the old file and no temp file, and the file gets the permissions any new file of
the process gets (0666 less the umask), not 0600 whatever the umask."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from pipeline import io


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_a_file_written_whole_gets_the_permissions_of_any_new_file(tmp_path, mask):
    text_file, parquet_file = tmp_path / "state.json", tmp_path / "table" / "part.parquet"
    with umask(mask):
        io.write_text_atomic(text_file, "{}")
        io.write_parquet_atomic(pl.DataFrame({"a": [1]}), parquet_file)
        (tmp_path / "plain").write_text("x")
    expected = 0o666 & ~mask
    assert mode(tmp_path / "plain") == expected  # what the file system gives a new file
    assert mode(text_file) == expected
    assert mode(parquet_file) == expected
    assert text_file.read_text() == "{}"
    assert pl.read_parquet(parquet_file)["a"].to_list() == [1]


def test_a_write_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "ledger.json"
    io.write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), io.replaced_whole(target) as temp:
        temp.write_text("half of the new")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ledger.json"]


def test_the_temp_file_is_hidden_beside_the_target_and_never_an_existing_file(tmp_path):
    target = tmp_path / "report.pdf"
    with io.replaced_whole(target, suffix=".part") as first, io.replaced_whole(target) as second:
        assert first.parent == second.parent == tmp_path
        assert first.name.startswith(".report.pdf.") and first.suffix == ".part"
        assert second.suffix == ".tmp"
        assert first != second and first.exists() and second.exists()
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # renamed last (the outer block ends last)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.pdf"]

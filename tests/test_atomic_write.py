"""A new setup file is published whole, never over a file that appeared meanwhile, and leaves nothing behind:
by way of an unnamed file (O_TMPFILE, Linux) where the disk has them, else through a named temporary file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from backtest.extraction import batch


def test_a_new_file_is_written_whole_with_an_ordinary_files_mode(tmp_path):
    batch._atomic_write(tmp_path / "a.yaml", "x: é\n", fresh=True)
    assert (tmp_path / "a.yaml").read_bytes() == "x: é\n".encode()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.yaml").stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_a_file_that_appeared_is_not_replaced(tmp_path):
    (tmp_path / "a.yaml").write_text("theirs\n")
    with pytest.raises(batch._Appeared):
        batch._atomic_write(tmp_path / "a.yaml", "ours\n", fresh=True)
    assert (tmp_path / "a.yaml").read_text() == "theirs\n" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="no unnamed files here")
def test_an_interrupt_while_writing_the_unnamed_file_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(fd, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch.os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        batch._atomic_write(tmp_path / "a.yaml", "x: 1\n", fresh=True)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="no unnamed files here")
def test_a_disk_without_unnamed_files_takes_the_named_temporary_file(tmp_path, monkeypatch):
    real = os.open
    tried = []

    def no_unnamed(path, flags, *args, **kwargs):
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            tried.append(path)
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(batch.os, "open", no_unnamed)
    for name in ("a.yaml", "b.yaml"):
        batch._atomic_write(tmp_path / name, "x: 1\n", fresh=True)
    assert len(tried) == 1  # (asked once per folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]

"""The CLI shell around every command (``cli.handle_errors``, ``cli.main``): signals, encodings, escaping, bugs.

* SIGTERM to ``extract`` / ``data import`` / ``data fetch`` is the same one-line "interrupted" and exit 130 as
  Ctrl-C, after the partial files are removed (it used to die with 143 and no message);
* a stdout that cannot encode a character (``PYTHONIOENCODING=ascii`` or ``latin-1``) gets an escape, not a
  UnicodeEncodeError, for every command;
* names from inputs are printed with control characters escaped (no terminal control, no forged lines);
* an unexpected exception is one "internal error ... this is a bug" line (``--debug`` shows the traceback).
* the console entry ends the process at once after a command (``os._exit``), output, exit code and caches intact.
* the console entry runs the cycle collector less often (``GC_THRESHOLDS``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import INTERRUPTED, cli
from invented_bars import BARS

ARTICLE = """\
datePublished: 2026-02-03 14:00 UTC

Invented desk note: small caps are coiling under resistance, and the set-up everyone is watching is simple.
We are buying IWM above $104 with a stop at $99, targeting $110 and then $115 if the breadth improves.
The desk’s view — our words, not a quote — is that the tape decides; nothing here is advice to anyone at all.
"""

# Run the real CLI in a subprocess, with one slow point patched in, and signal the test when it is reached.
SLOW = textwrap.dedent("""
    import pathlib, sys, time
    marker = pathlib.Path(sys.argv[1])
    where = sys.argv[2]

    def reached():
        marker.with_suffix(".partial").write_text("x")
        marker.with_suffix(".partial").replace(marker)
        time.sleep(120)

    if where == "import":  # mid cache write: the temporary parquet file is written, not yet moved into place
        import os
        real = os.fsync
        def slow_fsync(fd):
            real(fd)
            reached()
        os.fsync = slow_fsync
    elif where == "fetch":  # mid download
        import backtest.data.yahoo as yahoo
        yahoo.download = lambda symbol, start, end: reached()
    elif where == "extract":  # mid extraction (the first setup file is being rendered, none written yet)
        import backtest.setups.writer as writer
        writer.render_setup_file = lambda *a, **k: reached()
    from backtest.cli import main
    sys.argv = ["backtest"] + sys.argv[3:]
    main()
""")


@pytest.fixture
def inputs(tmp_path) -> Path:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ZED.csv").write_text(BARS)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "note.txt").write_text(ARTICLE)
    return tmp_path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("command", ["import", "fetch", "extract"])
def test_signals_interrupt_every_command_with_one_line_and_cleanup(inputs, command, signum):
    cache, out = inputs / "c", inputs / "setups"
    args = {"import": ["data", "import", str(inputs / "m")],
            "fetch": ["data", "fetch", "ZED"],
            "extract": ["extract", str(inputs / "a"), "--out", str(out)]}[command]
    marker = inputs / "reached"
    process = subprocess.Popen([sys.executable, "-c", SLOW, str(marker), command, "--cache-dir", str(cache),
                                "--mirror", str(inputs / "m"), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not marker.exists() and process.poll() is None:
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        assert process.poll() is None, process.communicate()
        if command == "import":
            assert [p for p in cache.iterdir() if p.name.endswith(".tmp")]  # a half-written file exists now
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip() == f"error: {INTERRUPTED}"
    if cache.exists():
        assert not [p.name for p in cache.iterdir() if p.suffix == ".tmp" or p.name.endswith(".tmp")]
        assert not list(cache.glob("*.parquet"))  # nothing half-imported was left in place
    if out.exists():
        assert not list(out.iterdir())


# ------------------------------------------------------------------------------------- encodings
def _backtest(*args: str, env_extra: dict, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", "from backtest.cli import main; main()", *args], capture_output=True,
                          env=env, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def encoding_inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("enc")
    mirror = root / "données"  # a non-ASCII folder name ends up in notes and the source column
    mirror.mkdir()
    (mirror / "ZED.csv").write_text(BARS.replace("2026-02-13,109", "2026-02-13,1e12"))  # a dropped row: a note
    (root / "a").mkdir()
    (root / "a" / "note.txt").write_text(ARTICLE)
    (root / "s").mkdir()
    (root / "s" / "zed.yaml").write_text(
        "article:\n  id: zed-note\n  title: Café “quotes” — note\n  published: 2026-02-03T22:00:00Z\n"
        "setups:\n  - id: zed-long\n    symbol: ZED\n    direction: long\n    stop: 98\n    targets: [106]\n")
    return root


COMMANDS = {
    "run": ["run", "s", "--out", "out-{enc}", "--format", "csv"],
    "data import": ["data", "import", "données"],
    "data list": ["data", "list"],
    "extract": ["extract", "a", "--out", "setups-{enc}"],
    "extract --json": ["extract", "a", "--json"],
    "usage error": ["data", "import", "nowhere-é"],
}


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_prints_on_a_non_utf8_stdout(encoding_inputs, command, encoding):
    args = [a.format(enc=encoding) for a in COMMANDS[command]]
    base = ["--cache-dir", f"cache-{encoding}", "--mirror", "données", "--source", "cache", "--source", "mirror"]
    if command == "data list":
        _backtest(*base, "data", "import", "données", env_extra={}, cwd=encoding_inputs)
    done = _backtest(*base, *args, env_extra={"PYTHONIOENCODING": encoding, "LC_ALL": "C"}, cwd=encoding_inputs)
    output = done.stdout + done.stderr
    assert b"UnicodeEncodeError" not in output and b"Traceback" not in output, output.decode(errors="replace")
    assert done.returncode == (1 if command == "usage error" else 0), output.decode(errors="replace")
    if command == "run":
        assert b"report: out-" in done.stdout  # the summary (box drawing) was printed, escaped where needed
    if command == "usage error":
        assert done.stderr.strip().startswith(b"error: nowhere-")


# ------------------------------------------------------------------------------------- escaping
def test_control_characters_in_names_are_escaped_in_errors_and_tables(tmp_path):
    forged = tmp_path / "bars\x1b[2J\nerror: forged line"
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(forged)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr
    assert "bars\\x1b[2J error: forged line: not a directory" in result.stderr  # one_line() joins lines

    forged.mkdir()
    (forged / "ZED.csv").write_text(BARS.replace("2026-02-13,109", "2026-02-13,nan"))  # a note naming the file
    imported = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(forged)])
    assert imported.exit_code == 0, imported.output
    assert "\x1b" not in imported.stdout and "\\x1b[2J\\nerror: forged line/ZED.csv: dropped 1 of 10 rows" in imported.stdout
    assert len(imported.stdout.splitlines()) == 2  # header and one row: no forged line
    listing = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "list"])
    assert "\x1b" not in listing.stdout and len(listing.stdout.splitlines()) == 2
    assert "import:" in listing.stdout and "\\x1b[2J\\nerror: forged line" in listing.stdout


# ------------------------------------------------------------------------------------- bugs
def test_an_unexpected_exception_is_one_line_and_debug_shows_it(tmp_path, monkeypatch):
    from backtest.data import manage

    def broken(config):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(manage, "list_cache", broken)
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path), "data", "list"])
    assert result.exit_code == 1
    assert result.stderr == ("error: internal error (TypeError: unsupported operand type(s) for +: 'int' and 'str'); "
                             "this is a bug: please report it with the command and the output of "
                             "`backtest --debug ...`\n")
    debug = CliRunner().invoke(cli, ["--debug", "--cache-dir", str(tmp_path), "data", "list"])
    assert isinstance(debug.exception, TypeError)


def test_extract_escapes_control_characters_in_the_names_it_prints(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bad\x1b[2J\nerror: forged.txt").write_bytes(b"not an article \x00 binary")
    for args in (["--out", str(tmp_path / "out")], ["--json"]):
        result = CliRunner().invoke(cli, ["extract", str(folder), *args])
        assert result.exit_code == 1, result.output
        shown = result.stdout + result.stderr
        assert "\x1b" not in shown and "bad\\x1b[2J" in shown and "forged.txt: binary file" in shown
        assert not any(line.startswith("error: forged") for line in shown.splitlines())


def test_the_console_entry_ends_at_once_keeping_output_code_and_caches(tmp_path):
    """``main()`` ends the process with ``os._exit`` once a run is done (no teardown of every object): the
    summary still reaches a pipe in full, the exit codes are unchanged, and the parsed-setup cache the
    first process wrote is complete for the next one."""
    import sqlite3

    setups = tmp_path / "setups"
    setups.mkdir()
    (tmp_path / "art.txt").write_text(ARTICLE, encoding="utf-8")
    extract = [sys.executable, "-c", "from backtest.cli import main; main()", "--offline", "extract",
               str(tmp_path / "art.txt"), "--out", str(setups)]
    subprocess.run(extract, check=True, capture_output=True, cwd=tmp_path)
    bars = tmp_path / "bars"
    bars.mkdir()
    (bars / "IWM.csv").write_text(BARS)
    run = [sys.executable, "-c", "from backtest.cli import main; main()", "--offline", "--mirror", str(bars),
           "--cache-dir", str(tmp_path / "cache"), "run", str(setups), "--out", str(tmp_path / "report")]
    first = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.rstrip().splitlines()[-1].startswith("config: ")  # the last line reached the pipe
    assert "report: " in first.stdout and (tmp_path / "report" / "summary.json").is_file()
    with sqlite3.connect(tmp_path / "cache" / "setups" / "parsed.sqlite") as db:
        assert db.execute("select count(*) from entries").fetchone()[0] == 1
    again = subprocess.run(run[:-1] + [str(tmp_path / "report2")], capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.replace("report2", "report") == first.stdout
    missing = subprocess.run(run[:-3] + [str(tmp_path / "nowhere"), "--out", str(tmp_path / "r3")],
                             capture_output=True, text=True, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "nowhere" in missing.stderr


def test_the_fast_exit_waits_for_anything_still_running(monkeypatch):
    """No ``os._exit`` while another thread is alive or for a non-integer code: the normal exit then runs."""
    import threading

    from backtest import cli as cli_module

    ended = []
    monkeypatch.setattr(cli_module.os, "_exit", ended.append)
    cli_module._leave_now(3)
    assert ended == [3]
    cli_module._leave_now(None)
    assert ended == [3, 0]
    cli_module._leave_now("a message")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        cli_module._leave_now(0)
    finally:
        stop.set()
        worker.join()
    assert ended == [3, 0]


def test_the_console_entry_tunes_the_cycle_collector_for_batch_work():
    """The ``backtest`` process runs the cycle collector less often (GC_THRESHOLDS); importing the library
    changes nothing for its callers."""
    code = ("import gc, sys; from backtest import cli; before = gc.get_threshold(); "
            "cli._leave_now = lambda code: print(before, gc.get_threshold()); sys.argv = ['backtest', '--help']; "
            "cli.main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    from backtest.cli import GC_THRESHOLDS

    assert out == f"(700, 10, 10) {GC_THRESHOLDS}"

"""The README's test command on a fresh machine: the browser test's Chromium is installed by the test run itself.

``ensure_chromium`` (tests/conftest.py) is exercised with stand-ins for ``which``/``apt-get``/the user id, so
the decision is tested here without touching the machine's packages.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import APT_INSTALL, ensure_chromium


class Machine:
    """A fake machine: which programs exist, and what apt-get does when asked."""

    def __init__(self, *, chromium=False, apt=True, install_works=True, root=True):
        self.programs = {"apt-get"} if apt else set()
        if chromium:
            self.programs.add("chromium")
        self.install_works, self.root, self.commands = install_works, root, []

    def which(self, name):
        return f"/usr/bin/{name}" if name in self.programs else None

    def run(self, command, **kwargs):
        self.commands.append(command)
        assert kwargs["env"]["DEBIAN_FRONTEND"] == "noninteractive"
        if command == APT_INSTALL:
            if not self.install_works:
                return subprocess.CompletedProcess(command, 100, "", "E: Unable to locate package chromium\n")
            self.programs.add("chromium")
        return subprocess.CompletedProcess(command, 0, "", "")

    def euid(self):
        return 0 if self.root else 1000


def _ensure(machine: Machine, monkeypatch) -> Path:
    import conftest

    monkeypatch.setattr(conftest, "CHROMIUM", Path("/nonexistent/chromium"))
    return ensure_chromium(which=machine.which, run=machine.run, euid=machine.euid)


def test_present_chromium_is_used_as_is(monkeypatch):
    machine = Machine(chromium=True)
    assert _ensure(machine, monkeypatch) == Path("/usr/bin/chromium") and machine.commands == []


def test_missing_chromium_is_installed_by_the_test_run_as_root(monkeypatch):
    machine = Machine()
    assert _ensure(machine, monkeypatch) == Path("/usr/bin/chromium")
    assert [c[-2:] for c in machine.commands] == [["update", "-qq"], ["--no-install-recommends", "chromium"]]


@pytest.mark.parametrize("machine, message", [
    (dict(root=False), "run `sudo apt-get install -y chromium`"),
    (dict(apt=False), "run `sudo apt-get install -y chromium`"),
    (dict(install_works=False), "exited 100: E: Unable to locate package chromium (run `apt-get install -y chromium` by hand)"),
])
def test_when_it_cannot_be_installed_the_failure_says_what_to_run(monkeypatch, machine, message):
    with pytest.raises(pytest.fail.Exception) as info:
        _ensure(Machine(**machine), monkeypatch)
    assert message in str(info.value)


def test_ci_runs_exactly_the_readme_test_command_and_installs_no_browser_itself():
    repo = Path(__file__).resolve().parents[1]
    readme = (repo / "README.md").read_text()
    ci = (repo / ".ci" / "run").read_text()
    block = readme[readme.index("```sh", readme.index("## Quickstart")):]
    commands = block[len("```sh"):block.index("```", 5)].strip().splitlines()
    test_command = commands[-1]
    assert test_command == "pytest -q"
    ci_lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert ci_lines[-1] == test_command
    assert "chromium" not in " ".join(ci_lines)  # the test command installs it (ensure_chromium)

"""Shell completion from the argparse grammar: what rulec answers, the scripts in a real bash, and
`--install-completion` (idempotent, append-only, with the umask's mode)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rulec.cli import completion
from tests.conftest import invoke

BIN = Path(sys.executable).parent  # the virtual environment's bin/, which holds the `rulec` command


@pytest.mark.parametrize(
    "line, expected",
    [
        ("rulec ex", ["export", "explain"]),
        (
            "rulec ",
            ["build", "check", "export", "verify", "push", "drift", "lint", "explain", "diff", "learn", "catalog"],
        ),
        ("rulec catalog ", ["list", "show", "import-ip-ranges"]),
        ("rulec catalog show pypi --r", ["--region"]),
        ("rulec lint p.yaml --format ", ["text", "json", "sarif"]),
        ("rulec diff a b --format m", ["markdown"]),
        ("rulec push p.yaml --no-", ["--no-allow-unenforced", "--no-prune", "--no-replace"]),
        ("rulec build p.yaml --l", ["--lock", "--locked"]),
        ("rulec --show-completion ", ["bash", "zsh", "fish"]),
        ("rulec --", ["--help", "--version", "--install-completion", "--show-completion"]),
        ("rulec build ", []),  # POLICY: the shell completes file names
        ("rulec build p.yaml -o ", []),
        ("rulec ho", []),  # hidden
    ],
)
def test_rulec_answers_from_the_grammar(monkeypatch, line, expected):
    words = line.split()
    monkeypatch.setenv("_RULEC_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) if line.endswith(" ") else len(words) - 1))
    r = invoke()
    assert r.exit_code == 0 and r.stderr == ""
    assert r.stdout.split() == expected


def bash_complete(line: str, env: dict) -> list[str]:
    """COMPREPLY of the completion bash has for `rulec`, for `line` (a real bash, the script sourced)."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    script = (
        'eval "$(rulec --show-completion bash)"; '
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
        '_rulec_completion rulec; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**env, "PATH": f"{BIN}:{env['PATH']}"}
    r = subprocess.run(["bash", "-c", script], check=False, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completes_commands_subcommands_and_choices():
    env = dict(os.environ)
    assert set(bash_complete("rulec ex", env)) == {"export", "explain"}
    assert set(bash_complete("rulec catalog ", env)) == {"list", "show", "import-ip-ranges"}
    assert set(bash_complete("rulec verify p.yaml --format ", env)) == {"text", "json"}
    assert bash_complete("rulec build ", env) == []  # `complete -o default`: bash lists the files itself


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script(shell):
    r = invoke("--show-completion", shell)
    assert r.exit_code == 0 and r.stdout == completion.script(shell)
    assert f"_RULEC_COMPLETE=complete_{shell}" in r.stdout


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "ZDOTDIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_install_bash_appends_one_line_once_and_keeps_the_rc_file(home, monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/bash")
    rc = home / ".bashrc"
    rc.write_text("export EDITOR=vi\nalias ll='ls -l'")  # no final newline
    first = invoke("--install-completion")
    assert first.exit_code == 0, first.output
    script = home / ".config" / "rulec" / "completion.bash"
    assert script.read_text() == completion.script("bash")
    assert rc.read_text() == "export EDITOR=vi\nalias ll='ls -l'\n" + completion.source_line(script)
    again = invoke("--install-completion", "bash")
    assert again.exit_code == 0 and "already sources it" in again.stdout and "is up to date" in again.stdout
    assert rc.read_text().count("rulec shell completion") == 1
    shell = subprocess.run(
        ["bash", "-ic", "complete -p rulec"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert "-F _rulec_completion rulec" in shell.stdout, shell.stderr


def test_install_respects_the_umask_and_the_config_dirs(home, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "cfg"))
    monkeypatch.setenv("ZDOTDIR", str(home / "zdot"))
    (home / "zdot").mkdir()
    old = os.umask(0o077)
    try:
        assert invoke("--install-completion", "zsh").exit_code == 0
        assert invoke("--install-completion", "fish").exit_code == 0
    finally:
        os.umask(old)
    zsh = home / "cfg" / "rulec" / "completion.zsh"
    fish = home / "cfg" / "fish" / "completions" / "rulec.fish"
    assert stat.S_IMODE(zsh.stat().st_mode) == 0o600 and stat.S_IMODE(fish.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "zdot" / ".zshrc").stat().st_mode) == 0o600
    assert (home / "zdot" / ".zshrc").read_text() == completion.source_line(zsh)
    assert fish.read_text() == completion.script("fish")  # fish loads it from there: no start-up file touched
    assert not (home / ".zshrc").exists() and not (home / ".bashrc").exists()


def test_install_needs_a_known_shell(home, monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/tcsh")
    r = invoke("--install-completion")
    assert r.exit_code == 2 and "--install-completion bash" in r.stderr and r.stderr.count("\n") == 1
    assert not any(home.iterdir())

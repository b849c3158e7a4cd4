"""The command line's grammar (argparse): every command's help, usage errors, typer's `--flag/--no-flag` forms,
`--version`, and that starting a command imports only what it uses."""

import json
import os
import subprocess
import sys

import pytest

from rulec.cli import grammar
from tests.conftest import EXAMPLE, MINIMAL, ROOT, invoke

COMMANDS = [
    (name,) if not isinstance(spec, dict) else (name, sub)
    for name, (_, spec) in grammar.COMMANDS.items()
    for sub in (spec if isinstance(spec, dict) else [None])
]


def test_the_table_has_every_command():
    assert [" ".join(c) for c in COMMANDS] == [
        *("build", "check", "export", "hook", "verify", "push", "drift", "lint", "explain", "diff", "learn"),
        *("catalog list", "catalog show", "catalog import-ip-ranges"),
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(cli, command):
    r = cli(*command, "--help")
    assert r.exit_code == 0 and r.stderr == ""
    assert r.stdout.startswith(f"usage: rulec {' '.join(command)} ") and "--help" in r.stdout
    if command != ("hook",):
        assert grammar.table(command[:-1])[command[-1]][0].split("\n")[0][:40] in " ".join(r.stdout.split())


def test_root_and_group_help_list_the_visible_commands(cli):
    r = cli("--help")
    assert r.exit_code == 0 and "--install-completion" in r.stdout and "--show-completion" in r.stdout
    listed = [line.split()[0] for line in r.stdout.split("commands:\n")[1].split("\n\n")[0].splitlines()]
    assert listed == [n for n, (h, _) in grammar.COMMANDS.items() if h]  # hook stays hidden
    group = cli("catalog", "--help")
    assert group.exit_code == 0 and all(n in group.stdout for n in ("list", "show", "import-ip-ranges"))


@pytest.mark.parametrize("args", [(), ("catalog",)])
def test_no_command_prints_the_help_as_a_usage_error(cli, args):
    r = cli(*args)
    assert (
        r.exit_code == 2 and r.stdout.startswith(f"usage: rulec {' '.join(args)}".rstrip()) and "commands:" in r.stdout
    )


@pytest.mark.parametrize(
    "args, named",
    [
        (("build", EXAMPLE, "--nope"), "unrecognized arguments: --nope"),
        (("lint", EXAMPLE, "--format", "xml"), "argument --format: invalid choice: 'xml'"),
        (("build",), "the following arguments are required: POLICY"),
        (("export", EXAMPLE, "-o", "x"), "the following arguments are required: --format"),
        (("verify", EXAMPLE, "--timeout", "0.5"), "argument --timeout: 0.5 is not >= 1"),
        (("drift", EXAMPLE, "--parallel", "many"), "argument --parallel: invalid int value: 'many'"),
        (("build", EXAMPLE, "--out"), "argument --out/-o: expected one argument"),
        (("build", EXAMPLE, "--cat", "x"), "unrecognized arguments: --cat"),  # never an abbreviation
        (("nope",), "no such command 'nope'"),
        (("catalog", "nope"), "no such command 'nope'"),
        (("biuld", EXAMPLE), "no such command 'biuld'; did you mean 'build'?"),
        (("catalog", "lst"), "no such command 'lst'; did you mean 'list'?"),
        (("--nope",), "unrecognized arguments: --nope"),
        (("--show-completion", "tcsh"), "argument --show-completion: invalid choice: 'tcsh'"),
        (("--version", "build"), "unexpected argument 'build'"),
    ],
)
def test_a_usage_error_exits_2_with_one_line_naming_it(cli, args, named):
    r = cli(*args)
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.count("\n") == 1 and named in r.stderr and "--help" in r.stderr, r.stderr


def test_a_usage_error_in_a_real_process_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "rulec", "lint", str(EXAMPLE), "--fail-on", "sometimes"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("rulec lint: argument --fail-on: invalid choice: 'sometimes'"), proc.stderr


def test_the_version(cli):
    from rulec import __version__

    r = cli("--version")
    assert r.exit_code == 0 and r.stdout == f"rulec {__version__}\n"


def test_negatable_flags_take_the_last_form(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL + "deny_protocols: [SSH]\n")
    assert cli("build", p, "-o", tmp_path / "out", "-q").exit_code == 0
    p.write_text(p.read_text().replace("[SSH]", "[SSH, FTP]"))
    assert cli("build", p, "-o", tmp_path / "out", "--no-locked", "--locked").exit_code == 2
    r = cli("build", p, "-o", tmp_path / "out", "--locked", "--no-locked")
    assert r.exit_code == 0 and "wrote" in r.stdout and "FTP" in (tmp_path / "policy.lock.json").read_text()
    parsed = grammar.command(("push",)).parse_args(["p", "--replace", "--no-prune", "--allow-unenforced"])
    assert (parsed.replace, parsed.prune, parsed.allow_unenforced, parsed.dry_run) == (True, False, True, False)
    assert grammar.command(("push",)).parse_args(["p", "--no-replace"]).replace is False


def test_defaults_and_types_are_typers():
    build = grammar.command(("build",)).parse_args(["p.yaml"])
    assert (str(build.out), build.catalogs, build.locked, build.lock, build.quiet) == (
        "build",
        None,
        False,
        None,
        False,
    )
    verify = grammar.command(("verify",)).parse_args(["-", "-r", "eu-west-1", "--timeout", "2.5"])
    assert (str(verify.policy), verify.region, verify.timeout, verify.format) == ("-", "eu-west-1", 2.5, "text")
    drift = grammar.command(("drift",)).parse_args(["p"])
    assert (drift.parallel, drift.format, str(drift.out)) == (4, "text", "build")
    lint = grammar.command(("lint",)).parse_args(["p"])
    assert (lint.format, lint.fail_on, lint.max_age) == ("text", "error", 365)
    learn = grammar.command(("learn",)).parse_args(["p"])
    assert (learn.logs, learn.format, learn.min_subdomains, learn.write) == ([], "text", 3, False)
    explain = grammar.command(("explain",)).parse_args(["pypi.org", "-p", "x.yaml"])
    assert (explain.host, explain.policy_arg, str(explain.policy)) == ("pypi.org", None, "x.yaml")


def test_options_may_come_between_and_after_positionals(cli, tmp_path):
    """As click allowed: pre-commit runs `rulec hook check --out DIR FILE...`, people write `learn P --region R LOG`."""
    parsed = grammar.command(("hook",)).parse_intermixed_args(["check", "a.yaml", "-o", "out", "b.yaml"])
    assert (parsed.name, [str(f) for f in parsed.files], str(parsed.out)) == ("check", ["a.yaml", "b.yaml"], "out")
    parsed = grammar.command(("learn",)).parse_intermixed_args(["p", "--region", "eu-west-1", "a.log", "b.log"])
    assert [str(f) for f in parsed.logs] == ["a.log", "b.log"] and parsed.region == "eu-west-1"
    r = cli("catalog", "list", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["features"]


def test_dash_reads_the_policy_from_stdin():
    r = invoke("lint", "-", stdin=MINIMAL.lstrip().encode())
    assert r.exit_code == 0 and r.stdout.startswith("<stdin>:1:1: RC007 info "), r.output
    bad = invoke("lint", "-", stdin=MINIMAL.lstrip().replace("api.", "https://api.").encode())
    assert bad.exit_code == 2 and bad.stderr.startswith("<stdin>:5:13: ") and bad.stdout == ""


# What starting a command may import: FORBIDDEN nowhere, HEAVY not where nothing is loaded or checked. A command
# imports the rest only on the path that needs it (jsonschema: check, push, export; boto3: push, drift).
FORBIDDEN = {"typer", "click", "rich", "pydantic", "boto3", "botocore"}
HEAVY = {"jsonschema", "yaml", "ruamel", "publicsuffixlist", "idna"}
STARTS = {
    "--help": (["--help"], FORBIDDEN | HEAVY),
    "build --help": (["build", "--help"], FORBIDDEN | HEAVY),
    "--version": (["--version"], FORBIDDEN | HEAVY),
    "catalog --help": (["catalog", "--help"], FORBIDDEN | HEAVY),
    "build": (["build", str(EXAMPLE), "-o", "{tmp}", "-q"], FORBIDDEN | {"jsonschema", "ruamel"}),
    "explain": (["explain", "pypi.org", str(EXAMPLE)], FORBIDDEN | {"jsonschema", "ruamel", "publicsuffixlist"}),
    "catalog list": (["catalog", "list"], FORBIDDEN | {"jsonschema", "ruamel", "publicsuffixlist"}),
}

PROBE = """
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["RULEC_TEST_MODULES"], "w").write(json.dumps(sorted(sys.modules))))
from rulec.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("start", STARTS)
def test_starting_a_command_imports_only_what_it_uses(start, tmp_path):
    argv, forbidden = STARTS[start]
    env = {**os.environ, "RULEC_TEST_MODULES": str(tmp_path / "modules.json")}
    argv = [a.replace("{tmp}", str(tmp_path / "out")) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=ROOT, env=env, check=False, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    loaded = {m.split(".")[0] for m in json.loads((tmp_path / "modules.json").read_text())}
    assert not loaded & forbidden, sorted(loaded & forbidden)


def test_build_counts_the_files_under_the_output_and_names_the_lock(cli, write_policy, tmp_path):
    p = write_policy("version: 1\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}\n")
    out = tmp_path / "out"
    r = cli("build", p, "-o", out)
    assert r.exit_code == 0, r.output
    written = [f for f in out.rglob("*") if f.is_file()]  # the group's .json and .rules, and the manifest
    assert f"wrote {len(written)} changed file(s) under {out}; wrote {p.with_name('policy.lock.json')}" in r.stdout
    assert f"{out} is up to date" in cli("build", p, "-o", out).stdout

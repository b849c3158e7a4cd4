"""The pipeline's rules, checked: who may parse arguments and import boto3, and the library never prints or exits."""

import ast
import subprocess
import sys

from tests.conftest import ROOT

PACKAGE = ROOT / "rulec"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text())


def imported(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


CLI = ("rulec/cli/", "rulec/__main__.py")  # the command line: the only code that parses arguments, prints or exits


def test_only_the_cli_parses_arguments_and_only_the_aws_side_imports_boto3():
    for name, tree in modules():
        used = imported(tree)
        assert not used & {"typer", "click", "rich"}, name  # the CLI is argparse: no framework to import at start
        if not name.startswith(CLI):
            assert "argparse" not in used, name
        if not name.startswith("rulec/aws/"):
            assert not used & {"boto3", "botocore"}, name


# Stages in pipeline order: a module may import its own stage and the ones before it, never a later one.
STAGES = ["load", "compile", "emit", "verify", "review", "aws"]


def stage_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "rulec" or len(parts) < 2 or parts[1] not in STAGES:
        return None
    return STAGES.index(parts[1])


def test_stages_import_only_earlier_stages():
    late = {"verify", "review", "aws"}  # the consumers of a build: siblings, none feeds the compiler
    for name, tree in modules():
        own = stage_of(name.removesuffix(".py").replace("/", "."))
        if own is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                other = stage_of(node.module)
                if other is None or STAGES[other] in late and STAGES[own] in late:
                    continue
                assert other <= own, f"{name} imports {node.module}: a later stage"


def test_library_never_prints_or_exits():
    for name, tree in modules():
        if name.startswith(CLI):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                assert called not in ("print", "exit", "_exit", "input"), f"{name}:{node.lineno} calls {called}"
            if isinstance(node, ast.Name) and node.id == "SystemExit":
                raise AssertionError(f"{name}:{node.lineno} uses {node.id}")
            if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr") and _is_sys(node.value):
                raise AssertionError(f"{name}:{node.lineno} writes to sys.{node.attr}")


def _is_sys(node) -> bool:
    return isinstance(node, ast.Name) and node.id == "sys"


def test_building_does_not_import_cli_only_or_optional_dependencies():
    code = (
        "import sys, pathlib; from rulec import pipeline; "
        "pipeline.plan(pathlib.Path('examples/reference/policy.yaml')); "
        "print(sorted(m for m in ('typer', 'boto3', 'jsonschema', 'publicsuffixlist') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_files_stay_small():
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        assert len(path.read_text().splitlines()) < 400, path

"""A wheel built from this repository, installed into a clean virtual environment, works on its own: `build`,
`verify` and `catalog list` run with the catalogs and schemas the wheel carries (never the source tree's)."""

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT, SURICATAS


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ directory of a fresh venv with only the wheel (and its dependencies) installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # build from a copy: building never writes into the repository
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(src)],
        capture_output=True,
        check=True,
    )
    (wheel,) = (tmp / "dist").glob("rulec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "rulec/_catalogs/features.yaml" in names and "rulec/_schemas/create-rule-group.schema.json" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    venv.create(tmp / "venv", with_pip=True, clear=True)
    pip = [str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(wheel)], capture_output=True, check=True)
    return tmp / "venv" / "bin"


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "RULEC_SURICATA")}
    return subprocess.run(
        [str(bin_dir / "rulec"), *args], check=False, cwd=cwd, env=env, capture_output=True, text=True
    )


def test_wheel_builds_verifies_and_lists_catalogs_on_its_own(installed, tmp_path):
    work = tmp_path / "work"  # outside the source tree, so only the wheel's data can be found
    shutil.copytree(EXAMPLE.parent, work, ignore=shutil.ignore_patterns("out"))
    built = run(installed, work, "build", "policy.yaml", "-o", "out", "--locked")
    assert built.returncode == 0, built.stderr
    for f in (EXAMPLE.parent / "out").rglob("*.json"):
        assert (work / "out" / f.relative_to(EXAMPLE.parent / "out")).read_bytes() == f.read_bytes()
    catalogs = run(installed, work, "catalog", "list", "--format", "json")
    assert catalogs.returncode == 0, catalogs.stderr
    assert {"pypi", "workspace"} <= {f["name"] for f in json.loads(catalogs.stdout)["features"]}
    shown = run(installed, work, "catalog", "show", "pypi", "-r", "eu-west-1")
    assert shown.returncode == 0 and "pypi.org" in shown.stdout and "source:" in shown.stdout, shown.stderr
    suricata = SURICATAS.get("8")
    assert suricata, "Suricata 8 is not installed: run `bash scripts/suricata.sh`"
    verified = run(installed, work, "verify", "policy.yaml", "--suricata", suricata, "--problems")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "eu-west-1" in verified.stdout


def test_wheel_completes_commands_in_the_shell(installed, tmp_path):
    """Shell completion (the script `rulec --install-completion` installs; rulec answers) works from the wheel,
    in a real bash, without typer or click."""
    env = {**os.environ, "_RULEC_COMPLETE": "complete_bash", "COMP_WORDS": "rulec ex", "COMP_CWORD": "1"}
    r = subprocess.run([str(installed / "rulec")], check=False, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and {"explain", "export"} <= set(r.stdout.split()), r.stdout + r.stderr
    script = run(installed, tmp_path, "--show-completion", "bash")
    assert script.returncode == 0 and "_RULEC_COMPLETE=complete_bash" in script.stdout
    (tmp_path / "rulec.bash").write_text(script.stdout)
    shell = (
        ". ./rulec.bash; COMP_WORDS=(rulec catalog ''); COMP_CWORD=2; _rulec_completion rulec; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{installed}:{env['PATH']}"
    r = subprocess.run(["bash", "-c", shell], check=False, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.split() == ["list", "show", "import-ip-ranges"], r.stdout + r.stderr
    pip = subprocess.run(
        [str(installed / "python"), "-m", "pip", "list", "--format", "json"], check=True, capture_output=True, text=True
    )
    assert not {p["name"].lower() for p in json.loads(pip.stdout)} & {"typer", "click", "rich"}


def test_readme_ci_recipe_commands_run_against_the_wheel(installed, tmp_path):
    """The `rulec` commands of the README's GitHub Actions recipe, run in the layout it describes."""
    section = (ROOT / "README.md").read_text().split("\n## CI recipe\n", 1)[1].split("\n## ", 1)[0]
    workflow = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    steps = workflow["jobs"]["rulec"]["steps"]
    commands = [s["run"] for s in steps if s.get("run", "").startswith("rulec ")]
    assert [c.split()[1] for c in commands] == ["check", "lint", "verify"]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["if"] == "always()" and workflow["permissions"]["security-events"] == "write"
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE.parent, repo / "policies")
    assert SURICATAS.get("8"), "Suricata 8 is not installed: run `bash scripts/suricata.sh`"
    env = {**os.environ, "PATH": f"{installed}:{os.environ['PATH']}", "RULEC_SURICATA": SURICATAS["8"]}
    for command in commands:
        r = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, check=False)
        assert r.returncode == 0, (command, r.stdout, r.stderr)
    sarif = json.loads((repo / upload["with"]["sarif_file"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "rulec"
    (repo / "policies" / "out" / "eu-west-1" / "Deny-Protocols.json").write_text("{}\n")  # the gate bites
    r = subprocess.run(["bash", "-c", commands[0]], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 1 and "Deny-Protocols.json" in r.stdout

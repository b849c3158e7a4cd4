"""Smoke test only: checkov (PyPI) parses rulec's Terraform JSON and sees every exported resource.

checkov pins botocore 1.35 while rulec needs >= 1.44, so it cannot live in the dev extra: it is installed
into its own virtual environment here (about a minute). Its findings are not a gate (CKV_AWS_345, a customer
managed KMS key, fails by design); that it parses every file and finds every resource is.
"""

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from rulec import export, pipeline
from rulec.emit import terraform
from tests.test_export import examples, resolved_domain, with_policies  # noqa: F401 (fixture)

CHECKOV = "checkov==3.3.30"


@pytest.fixture(scope="module")
def checkov(tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("checkov") / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", CHECKOV]
    subprocess.run(pip, capture_output=True, check=True)
    return env_dir / "bin" / "checkov"


def test_checkov_parses_every_terraform_export(checkov, examples, tmp_path):  # noqa: F811 (fixture)
    expected = set()
    for name, policy in examples.items():
        build = with_policies(pipeline.build(policy))
        if resolved_domain(build):
            continue  # refused by export (tested in test_export.py)
        files = export.render(build, "terraform")
        for fname, data in files.items():
            (tmp_path / f"{name}-{fname}").write_bytes(data)
            for rtype, resources in json.loads(data)["resource"].items():
                expected |= {f"{rtype}.{label}" for label in resources}
    assert any(r.startswith(terraform.POLICY) for r in expected)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # offline: no guideline download
    cmd = [str(checkov), "-d", str(tmp_path), "--framework", "terraform_json", "-o", "json", "--skip-download"]
    run = subprocess.run([*cmd, "--quiet"], capture_output=True, text=True, env=env, check=False)
    assert run.returncode in (0, 1), run.stderr  # 1: some check failed; anything else: checkov itself failed
    report = json.loads(run.stdout)
    assert report["check_type"] == "terraform_json" and report["summary"]["parsing_errors"] == 0
    full = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    results = json.loads(full.stdout)["results"]
    seen = {c["resource"] for kind in ("passed_checks", "failed_checks") for c in results.get(kind, [])}
    found = {r for r in expected if r.split(".", 1)[1] in {s.split(".", 1)[1] for s in seen}}
    groups = {r for r in expected if r.startswith(terraform.GROUP)}
    assert groups <= found, sorted(groups - found)

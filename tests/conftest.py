from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "reference" / "policy.yaml"


@pytest.fixture
def write_policy(tmp_path):
    def write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@pytest.fixture
def cli():
    from rulec.cli import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run


MINIMAL = """
version: 1
regions:
  eu-west-1:
    home_net: [10.0.0.0/16]
    allow: [api.example.org]
"""


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Credentials from the standard chain (environment), no config files, no instance metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def emulator(aws_env):
    from tests.emulator import Emulator
    from tests.emulator.server import Server

    with Server(Emulator()) as server:
        yield server


def suricata_installs() -> dict[str, str]:
    """Major version -> binary, for every Suricata the tests run on: `suricata7` and `suricata8` (written by
    scripts/suricata.sh), or RULEC_TEST_SURICATA="7=/path,8=/path" to name them."""
    named = os.environ.get("RULEC_TEST_SURICATA", "")
    if named:
        return dict(item.split("=", 1) for item in named.split(",") if item)
    return {major: path for major in ("7", "8") if (path := shutil.which(f"suricata{major}"))}


SURICATAS = suricata_installs()


@pytest.fixture(params=["7", "8"], ids=lambda m: f"suricata{m}")
def suricata(request, monkeypatch):
    """Run the test on Suricata 7 and on Suricata 8 (Network Firewall runs 8.0.3). Never skips: a missing
    version fails, because a verdict nobody checked on the engine AWS runs proves nothing."""
    path = SURICATAS.get(request.param)
    if path is None:
        pytest.fail(f"Suricata {request.param} is not installed: run `bash scripts/suricata.sh`")
    monkeypatch.setenv("RULEC_SURICATA", path)
    return request.param

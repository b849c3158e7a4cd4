from __future__ import annotations

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

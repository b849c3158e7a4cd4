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

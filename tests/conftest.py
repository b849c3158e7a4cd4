from __future__ import annotations

import io
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "reference" / "policy.yaml"


@pytest.fixture
def write_policy(tmp_path):
    def write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    output: str  # stdout and stderr as they were written, interleaved


class _Tee(io.StringIO):
    def __init__(self, both: io.StringIO) -> None:
        super().__init__()
        self.both = both

    def write(self, text: str) -> int:
        self.both.write(text)
        return super().write(text)


def invoke(*args, stdin: bytes = b"") -> Result:
    """Run `rulec *args` in this process through rulec.cli.main: its exit code and what it wrote. An exception
    other than SystemExit propagates (a traceback is a bug, never an exit code)."""
    from rulec.cli import main

    both = io.StringIO()
    out, err = _Tee(both), _Tee(both)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.TextIOWrapper(io.BytesIO(stdin)), out, err
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return Result(code, out.getvalue(), err.getvalue(), both.getvalue())


@pytest.fixture
def cli():
    return invoke


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

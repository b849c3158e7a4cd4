"""`rulec push` from the command line, and the emulator as users start it."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore
import pytest

from tests.conftest import EXAMPLE, ROOT


@pytest.fixture
def example(tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def test_plan_apply_and_idempotence(cli, emulator, example):
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--dry-run")
    assert r.exit_code == 1, r.output
    assert "eu-west-1/Databricks-FQDNs: create (capacity 100)\n    + .cran.r-project.org" in r.stdout
    assert "dry run: the service accepted every change; nothing was written" in r.stdout
    assert emulator.emulator.groups.get("eu-west-1", {}) == {}
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url)
    assert r.exit_code == 1 and "not applied: re-run with --yes" in r.stderr  # no terminal, no --yes
    assert emulator.emulator.groups.get("eu-west-1", {}) == {}
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 0, r.output
    assert "  created eu-west-1/Deny-Protocols (capacity 100)\ndone" in r.stdout
    writes = len(emulator.emulator.writes())
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 0 and "nothing to do: the firewall matches the policy" in r.stdout
    assert len(emulator.emulator.writes()) == writes


def test_firewall_policy_is_wired_up(cli, emulator, example):
    fw = boto3.client("network-firewall", region_name="eu-west-1", endpoint_url=emulator.url)
    fw.create_firewall_policy(
        FirewallPolicyName="inspection",
        FirewallPolicy={"StatelessDefaultActions": ["aws:pass"], "StatelessFragmentDefaultActions": ["aws:pass"]},
    )
    r = cli(
        "push",
        example,
        "-o",
        example.parent / "out",
        "--endpoint-url",
        emulator.url,
        "--firewall-policy",
        "inspection",
        "--yes",
    )
    assert r.exit_code == 0, r.output
    body = fw.describe_firewall_policy(FirewallPolicyName="inspection")["FirewallPolicy"]
    assert body["StatelessDefaultActions"] == ["aws:forward_to_sfe"]
    assert sorted(ref["ResourceArn"].rpartition("/")[2] for ref in body["StatefulRuleGroupReferences"]) == [
        "Databricks-FQDNs",
        "Deny-Protocols",
    ]
    r = cli(
        "push",
        example,
        "-o",
        example.parent / "out",
        "--endpoint-url",
        emulator.url,
        "--firewall-policy",
        "missing",
        "--yes",
    )
    assert r.exit_code == 1 and "firewall policy 'missing' does not exist in eu-west-1" in r.stdout


def test_push_refuses_an_unreviewed_lock(cli, emulator, example):
    example.write_text(example.read_text().replace("[FTP, SSH, ICMP]", "[FTP, SSH, ICMP, SMB]"))
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 2 and "is not up to date" in r.stderr
    assert emulator.emulator.calls == []


def test_conflict_output_says_what_was_done(cli, emulator, example):
    assert cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes").exit_code == 0
    example.write_text(example.read_text().replace(", .cran.r-project.org]", "]"))
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    emulator.emulator.inject("UpdateRuleGroup", "ConcurrentUpdate")
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 1
    assert "push stopped: eu-west-1/Databricks-FQDNs changed remotely" in r.stderr
    assert "already applied: nothing" in r.stderr


def test_no_credentials_is_a_clear_error(cli, emulator, example, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url)
    assert r.exit_code == 2 and r.stderr.startswith("rulec: no AWS credentials found")


@pytest.mark.parametrize("protocol", ["json", "smithy-rpc-v2-cbor"])
def test_push_over_both_wire_protocols(emulator, example, tmp_path, monkeypatch, cli, protocol):
    """botocore 1.43 speaks awsJson1_0 to this service, 1.44 smithy-rpc-v2-cbor: push works over both."""
    src = Path(botocore.__file__).parent / "data" / "network-firewall" / "2020-11-12" / "service-2.json.gz"
    model = json.loads(gzip.decompress(src.read_bytes()))
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    dest = tmp_path / "models" / "network-firewall" / "2020-11-12"
    dest.mkdir(parents=True)
    (dest / "service-2.json").write_text(json.dumps(model))
    shutil.copy(src.with_name("endpoint-rule-set-1.json.gz"), dest)
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    assert (
        boto3.session.Session().client("network-firewall", region_name="eu-west-1").meta.service_model.protocol
        == protocol
    )
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 0, r.output
    assert "created eu-west-1/Databricks-FQDNs" in r.stdout
    assert (
        "nothing to do"
        in cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes").stdout
    )


def test_emulator_starts_from_the_command_line(tmp_path, example):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", str(port), "--updating-describes", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith(f"Network Firewall emulator on http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/calls", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "rulec",
                "push",
                str(example),
                "-o",
                str(example.parent / "out"),
                "--endpoint-url",
                f"http://127.0.0.1:{port}",
                "--yes",
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        assert run.returncode == 0, run.stderr
        assert "created eu-west-1/Databricks-FQDNs" in run.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _on_a_terminal(args, answer: bytes) -> tuple[int, str]:
    import pty
    import select

    primary, secondary = pty.openpty()
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rulec", *map(str, args)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    out = b""
    deadline = time.monotonic() + 30
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"apply these changes?" in out:
                os.write(primary, answer)
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(primary)
    return proc.returncode, out.decode(errors="replace")


def test_confirmation_on_a_terminal(emulator, example):
    code, out = _on_a_terminal(["push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url], b"n\n")
    assert code == 1 and "apply these changes? [y/N]" in out and "not applied" in out
    assert emulator.emulator.groups.get("eu-west-1", {}) == {}
    code, out = _on_a_terminal(["push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url], b"y\n")
    assert code == 0 and "created eu-west-1/Deny-Protocols" in out
    assert sorted(emulator.emulator.groups["eu-west-1"]) == ["Databricks-FQDNs", "Deny-Protocols"]

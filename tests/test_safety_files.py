"""Issue 11, items 5 and 6: build never deletes what it did not write; files are written as a user expects."""

import errno
import os
import resource
import signal
import subprocess
import sys

import pytest

from rulec import files
from rulec.errors import RulecError
from tests.conftest import MINIMAL, ROOT

TWO_REGIONS = MINIMAL + "  us-east-1:\n    home_net: [10.1.0.0/16]\n    allow: [b.example.org]\n"


def snapshot(root):
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode & 0o777) for p in root.rglob("*") if p.is_file()
    }


def test_a_users_file_in_a_region_directory_survives(cli, write_policy, tmp_path):
    p = write_policy(TWO_REGIONS)
    out = tmp_path / "out"
    assert cli("build", p, "-o", out).exit_code == 0
    mine = out / "us-east-1" / "main.tf.json"
    mine.write_text('{"terraform": {}}')
    p.write_text(MINIMAL)  # us-east-1 leaves the policy: rulec's files there go, the user's stays
    r = cli("build", p, "-o", out)
    assert r.exit_code == 0, r.output
    assert mine.read_text() == '{"terraform": {}}'
    assert sorted(f.name for f in (out / "us-east-1").iterdir()) == ["main.tf.json"]
    assert cli("check", p, "-o", out).exit_code == 0


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_outputs_and_lock_respect_the_umask(cli, write_policy, tmp_path, umask, mode):
    p = write_policy(MINIMAL + "deny_protocols: [SSH]\n")
    old = os.umask(umask)
    try:
        assert cli("build", p, "-o", tmp_path / "out").exit_code == 0
    finally:
        os.umask(old)
    written = [*(tmp_path / "out").rglob("*"), tmp_path / "policy.lock.json"]
    assert {oct(f.stat().st_mode & 0o777) for f in written if f.is_file()} == {oct(mode)}
    assert len([f for f in written if f.is_file()]) == 6  # 4 outputs, the manifest, the lock


def _changed_build(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL + "deny_protocols: [SSH]\n")
    out = tmp_path / "out"
    assert cli("build", p, "-o", out).exit_code == 0
    p.write_text(p.read_text().replace("api.example.org", "api.example.org, b.example.org").replace("SSH", "FTP"))
    return p, out, snapshot(tmp_path)


def _fail_third_rename(monkeypatch, fault):
    """The operating system's rename fails (or the user presses Ctrl-C) after two files were replaced."""
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise fault(dst)
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    return calls


def test_a_failed_rename_changes_nothing_and_leaves_no_temporary_file(cli, write_policy, tmp_path, monkeypatch):
    p, out, before = _changed_build(cli, write_policy, tmp_path)
    calls = _fail_third_rename(monkeypatch, lambda dst: OSError(errno.EIO, "Input/output error", str(dst)))
    r = cli("build", p, "-o", out)
    assert r.exit_code == 2
    assert r.stderr == f"{calls[2]}: cannot write: Input/output error; nothing was changed\n"
    assert snapshot(tmp_path) == before


def test_ctrl_c_during_the_renames_restores_everything(cli, write_policy, tmp_path, monkeypatch):
    p, out, before = _changed_build(cli, write_policy, tmp_path)
    _fail_third_rename(monkeypatch, lambda dst: KeyboardInterrupt())
    assert cli("build", p, "-o", out).exit_code != 0
    assert snapshot(tmp_path) == before
    monkeypatch.undo()
    assert cli("build", p, "-o", out).exit_code == 0  # and a rerun completes
    assert snapshot(tmp_path) != before


def test_new_directories_go_again_when_the_batch_fails(tmp_path):
    (tmp_path / "f").write_text("a file, not a directory")
    with pytest.raises(RulecError, match="cannot write"):
        files.write_atomic({tmp_path / "n" / "m" / "x": b"1", tmp_path / "f" / "x": b"2"})
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["f"]


def test_disk_full_names_the_file_that_did_not_fit(write_policy, tmp_path):
    names = ", ".join(f"host{i:04}.example.org" for i in range(300))
    p = write_policy(
        MINIMAL.replace("api.example.org", names)
        + "deny_protocols: [SSH]\ngroups: {allowlist: {name: Z-Allow}, deny: {name: A-Deny}}\n"
    )

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = subprocess.run(
        [sys.executable, "-m", "rulec", "build", str(p), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"{tmp_path / 'out' / 'eu-west-1' / 'Z-Allow.json'}: cannot write: File too large; " + (
        "nothing was changed\n"
    )
    assert not (tmp_path / "out").exists() and not (tmp_path / "policy.lock.json").exists()


def test_check_by_a_user_who_cannot_read_the_files_is_a_message(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL)
    out = tmp_path / "out"
    assert cli("build", p, "-o", out).exit_code == 0
    target = out / "eu-west-1" / "Databricks-FQDNs.json"
    os.chmod(target, 0o600)
    command = [sys.executable, "-m", "rulec", "check", str(p), "-o", str(out)]
    if os.geteuid() == 0:  # root reads everything: act as a process without the capability to override modes
        os.chown(target, 65534, 65534)
        command = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *command]
    else:
        os.chmod(target, 0)
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"{target}: cannot read: Permission denied\n"


def test_a_tampered_manifest_is_bad_input(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL)
    out = tmp_path / "out"
    assert cli("build", p, "-o", out).exit_code == 0
    (tmp_path / "victim").write_text("keep")
    (out / files.MANIFEST).write_text('{"version": 1, "files": ["../victim"]}')
    r = cli("build", p, "-o", out)
    assert r.exit_code == 2 and "not a manifest written by rulec" in r.stderr
    assert (tmp_path / "victim").read_text() == "keep"

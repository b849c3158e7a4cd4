"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on a throwaway git repository.

pre-commit installs rulec from a git repository, so the tests first commit a copy of this working tree
(tracked and new files) to a scratch repository and point pre-commit at it (`try-repo`, and a config with `args`
for rulec-check). PRE_COMMIT_HOME is a scratch directory: the hook environment is built once per session.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory) -> tuple[Path, str, dict]:
    """A committed copy of this working tree, its commit, and the environment for pre-commit."""
    repo = tmp_path_factory.mktemp("rulec-repo")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, listed):
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "rulec under test")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}
    env.pop("VIRTUAL_ENV", None)
    return repo, git(repo, "rev-parse", "HEAD").strip(), env


@pytest.fixture
def project(tmp_path) -> Path:
    """The user's repository: the reference policy with its lock and build, and YAML that is not a policy."""
    p = tmp_path / "project"
    shutil.copytree(EXAMPLE.parent, p)
    (p / "policy-notes.yaml").write_text("owners: [netsec]\nreview: quarterly\n")
    git(p, "init", "-q")
    git(p, "add", "-A")
    git(p, "commit", "-qm", "policy")
    return p


def pre_commit(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PRE_COMMIT), *args, "--color", "never"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_manifest_declares_both_hooks_with_the_policy_file_pattern():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["rulec-lint", "rulec-check"]
    assert all(h["files"] == r"(^|/)policy[^/]*\.ya?ml$" and h["language"] == "python" for h in hooks)


def test_rulec_lint_through_try_repo(hooks_repo, project):
    repo, _, env = hooks_repo
    ok = pre_commit(env, project, "try-repo", str(repo), "rulec-lint", "--files", "policy.yaml", "--verbose")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "rulec lint" in ok.stdout and "Passed" in ok.stdout
    # a policy that opens storage anyone can write to fails, pointing at the line
    policy = project / "policy.yaml"
    policy.write_text(
        policy.read_text().replace(
            "features: [hive-metastore", "allow: [s3.amazonaws.com]\n    features: [hive-metastore"
        )
    )
    bad = pre_commit(env, project, "try-repo", str(repo), "rulec-lint", "--files", "policy.yaml")
    assert bad.returncode == 1 and "Failed" in bad.stdout
    assert "policy.yaml:13:13: RC001 error" in bad.stdout, bad.stdout
    # YAML matching the pattern that is not a policy is skipped (the hook passes without reading it as one)
    skip = pre_commit(env, project, "try-repo", str(repo), "rulec-lint", "--files", "policy-notes.yaml")
    assert skip.returncode == 0 and "Passed" in skip.stdout, skip.stdout


def test_rulec_check_takes_the_build_directory_from_args(hooks_repo, project):
    repo, rev, env = hooks_repo
    config = {"repos": [{"repo": str(repo), "rev": rev, "hooks": [{"id": "rulec-check", "args": ["--out", "out"]}]}]}
    (project / "hooks.yaml").write_text(yaml.safe_dump(config))
    ok = pre_commit(env, project, "run", "-c", "hooks.yaml", "--files", "policy.yaml", "policy-notes.yaml")
    assert ok.returncode == 0 and "Passed" in ok.stdout, ok.stdout + ok.stderr
    (project / "out" / "eu-west-1" / "Deny-Protocols.rules").unlink()
    stale = pre_commit(env, project, "run", "-c", "hooks.yaml", "--files", "policy.yaml")
    assert stale.returncode == 1 and "Deny-Protocols.rules (missing)" in stale.stdout, stale.stdout
    assert "run `rulec build policy.yaml -o out`" in stale.stdout


def test_hook_command_exit_codes(cli, project, write_policy):
    assert cli("hook", "lint", project / "policy-notes.yaml").exit_code == 0
    broken = write_policy("version: 1\nregions: {eu-west-1: {home_net: [not-a-cidr]}}\n")
    r = cli("hook", "lint", project / "policy.yaml", broken)
    assert r.exit_code == 2 and f"{broken}:2:" in r.output
    assert cli("hook", "nope", project / "policy.yaml").exit_code == 2

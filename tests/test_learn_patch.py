"""The policy patch: additions only, every original line (comments, quotes, layout) kept, as a property."""

import textwrap

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rulec.learn.patch import Edit, apply, unified
from rulec.learn.report import progress_line
from tests.conftest import ROOT

STYLES = [
    # block lists with comments, 2-space mappings, dash at the key's indent + 2
    """
    # egress policy
    version: 1
    features:
      - workspace   # control plane
    allow:
      - 'api.example.org'   # quoted on purpose
    regions:
      eu-west-1:
        home_net: [10.0.0.0/16]   # spoke
        allow:
          - "x.example.org"
    """,
    # flow lists, 4-space mappings, dashes at the key's indent
    """
    version: 1
    features: [workspace]  # everywhere
    regions:
        us-east-1:
            home_net:
            - 10.1.0.0/16  # spoke
            features: [pypi]
        eu-west-1:
            home_net: [10.2.0.0/16]
    verify:
        probes:
        - {kind: tls, host: pypi.org, expect: pass}   # keep me
    """,
]
NAME = st.from_regex(r"\A\.?[a-z][a-z0-9]{0,8}\.(com|org|io)\Z")
PATHS = st.sampled_from(
    [("features",), ("allow",), ("regions", "eu-west-1", "allow"), ("regions", "eu-west-1", "features")]
)


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(line in it for line in small)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(STYLES), st.lists(st.tuples(PATHS, NAME), min_size=1, max_size=6))
def test_only_additions_and_every_line_kept(style, edits):
    text = textwrap.dedent(style).lstrip()
    new = apply(text, [Edit(p, v) for p, v in edits], "policy.yaml")
    before, after = yaml.safe_load(text), yaml.safe_load(new)
    for path, value in edits:
        node = after
        for key in path:
            node = node[key]
        assert value in node
    after_regions = {
        r: {k: v for k, v in s.items() if k not in ("allow", "features")} for r, s in after["regions"].items()
    }
    assert after_regions == {
        r: {k: v for k, v in s.items() if k not in ("allow", "features")} for r, s in before["regions"].items()
    }
    edited = {p[-1] for p, _ in edits if len(p) == 1}
    assert {k: v for k, v in after.items() if k not in edited | {"regions"}} == {
        k: v for k, v in before.items() if k not in edited | {"regions"}
    }
    old_lines = text.splitlines()
    changed = {ln for ln in old_lines if ln.lstrip().startswith(("features:", "allow:"))}
    assert is_subsequence([ln for ln in old_lines if ln not in changed], new.splitlines())
    assert all("#" not in ln or ln in new.splitlines() for ln in old_lines if ln not in changed)


def test_shipped_examples_patch_without_touching_other_lines():
    for policy in sorted((ROOT / "examples").glob("*/policy.yaml")):
        text = policy.read_text()
        new = apply(text, [Edit(("features",), "github"), Edit(("allow",), "x.example.org")], str(policy))
        diff = unified(text, new, "policy.yaml")
        removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
        added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        assert len(removed) <= 2 and len(added) <= 3, diff  # at most the two list lines change
        assert all("github" in ln or "x.example.org" in ln for ln in added)
        assert apply(text, [], str(policy)) == text


def test_progress_line():
    assert progress_line(0, 2**20) == "\r[                              ]   0% 0.0/1.0 MiB"
    assert progress_line(2**19, 2**20).startswith("\r[###############               ]  50% 0.5/1.0")
    assert progress_line(2**20, 2**20).endswith(" 100% 1.0/1.0 MiB\n")

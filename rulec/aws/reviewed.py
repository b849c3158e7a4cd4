"""What push and drift deploy and compare: the documents of the reviewed build directory, never a rebuild.

The build output is what `rulec check` guards in CI and what reviewers read. push and drift first run the
same comparison as `rulec check`; when the directory is stale (an edit that was never built, or built and
not committed) they refuse, with that diff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rulec.errors import Position, error_at

POLICY_SUFFIX = ".firewall-policy.json"


class StaleBuild(Exception):
    """The build directory differs from what the policy builds now; `diffs` as `rulec check` prints them."""

    def __init__(self, out_dir: Path, diffs: list[str]):
        super().__init__(f"{out_dir} is not what the policy builds now")
        self.out_dir, self.diffs = out_dir, diffs

    def describe(self, policy: Path) -> str:
        return (
            f"{self.out_dir} is stale: it is not what {policy} builds now, so it was not what was reviewed.\n"
            f"Run `rulec build {policy} -o {self.out_dir}`, review and commit the result, then push again.\n\n"
            + "".join(self.diffs)
        )


@dataclass
class Reviewed:
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # region -> CreateRuleGroup requests
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # region -> CreateFirewallPolicy request


def load(
    out_dir: Path, regions: list[str], group_names: dict[str, list[str]], files: list[str], diffs: list[str]
) -> Reviewed:
    """The documents in `out_dir` for `regions`, in the build's order. `files`: the build's relative paths;
    `diffs`: `pipeline.check`'s result (non-empty: stale)."""
    if diffs:
        raise StaleBuild(out_dir, diffs)
    found = Reviewed()
    for region in regions:
        found.groups[region] = [_read(out_dir / region / f"{name}.json") for name in group_names.get(region, [])]
        for rel in files:
            if rel.startswith(f"{region}/") and rel.endswith(POLICY_SUFFIX):
                found.policies[region] = _read(out_dir / rel)
    return found


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise error_at(Position(str(path)), f"cannot read the reviewed document: {exc}") from None

"""Runs the stages in order (load -> resolve -> compile -> emit) and writes or checks the outputs.

Everything is computed in memory first; files are written only when every stage succeeded, each one
atomically (temporary file + rename), so an error never leaves a half-written output or lock.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rulec.compile import nextgen
from rulec.compile.ir import RegionPlan
from rulec.compile.lock import Lock, dump_lock, lock_path, read_lock
from rulec.compile.plan import compile_policy
from rulec.compile.resolve import resolve
from rulec.emit import aws_classic as emit_aws
from rulec.emit import dns_firewall as emit_dns
from rulec.emit import aws_nextgen as emit_nextgen
from rulec.emit import firewall_policy as emit_policy
from rulec.emit import suricata as emit_suricata
from rulec.errors import Position, RulecError, error_at
from rulec.load.catalog import Catalogs, default_root
from rulec.load.policy import LoadedPolicy, load_policy

_REGION_DIR = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")


@dataclass
class Build:
    policy: LoadedPolicy
    plans: list[RegionPlan]
    lock_path: Path
    lock_before: Lock
    lock_after: Lock
    files: dict[str, bytes]  # path relative to the output directory -> bytes
    requests: dict[str, list[dict]]  # region -> the CreateRuleGroup requests written for it (schema-checked)
    # region -> the CreateFirewallPolicy request written for it, when the policy declares `firewall_policy`
    # (DIR/<region>/<name>.firewall-policy.json; group ARNs carry the placeholder ${AccountId})
    policy_requests: dict[str, dict] = field(default_factory=dict)
    # engine: next-gen: region -> (CreateRuleGroup Type FIREWALL requests, the CreateFirewallPolicyV2 request)
    nextgen_requests: dict[str, tuple[list[dict], dict]] = field(default_factory=dict)

    @property
    def lock_bytes(self) -> bytes:
        return dump_lock(self.lock_after)

    @property
    def lock_changed(self) -> bool:
        return dump_lock(self.lock_before) != self.lock_bytes


def plan(policy_path: Path, catalogs: Path | None = None) -> tuple[LoadedPolicy, list[RegionPlan], Lock, Lock]:
    """Load, resolve and compile: the IR for every region, without emitting anything."""
    lp = load_policy(policy_path)
    cats = Catalogs(catalogs or default_root())
    nextgen.check_policy(lp)
    regions = resolve(lp, cats)
    before = read_lock(lock_path(policy_path))
    compiler = nextgen.compile_policy if lp.policy.engine == "next-gen" else compile_policy
    plans, after = compiler(lp, regions, before)
    return lp, plans, before, after


def build(policy_path: Path, catalogs: Path | None = None) -> Build:
    """Plan, then emit every group's request (checked against the schema) and Suricata rules, in memory."""
    lp, plans, before, after = plan(policy_path, catalogs)
    validator = emit_aws.RequestValidator()
    files: dict[str, bytes] = {}
    requests: dict[str, list[dict]] = {}
    policies: dict[str, dict] = {}
    ng_requests: dict[str, tuple[list[dict], dict]] = {}
    for p in plans:
        if p.nextgen is not None:
            ng_requests[p.region] = emit_nextgen.files(p, files)
            continue
        for group in p.groups:
            doc = emit_aws.request(group)
            rel = f"{p.region}/{group.name}.json"
            validator.check(doc, rel)
            requests.setdefault(p.region, []).append(doc)
            files[rel] = emit_aws.to_bytes(doc)
            files[f"{p.region}/{group.name}.rules"] = emit_suricata.rules_text(group).encode()
        doc = emit_policy.request(p)
        if doc is not None:
            rel = f"{p.region}/{emit_policy.file_name(doc)}"
            if rel in files:
                raise error_at(p.resolved.firewall_policy.pos, f"{rel} would be written twice; rename the policy")
            emit_aws.RequestValidator("create-firewall-policy").check(doc, rel)
            policies[p.region] = doc
            files[rel] = emit_aws.to_bytes(doc)
        if p.resolved.dns is not None:  # Route 53 Resolver DNS Firewall (emit/dns_firewall.py)
            rel = f"{p.region}/{emit_dns.file_name(p.resolved.dns)}"
            doc = emit_dns.request(p.resolved.dns)
            if rel in files:
                raise error_at(p.resolved.dns.pos, f"{rel} would be written twice; rename the DNS Firewall")
            emit_aws.RequestValidator("dns-firewall").check(doc, rel)
            files[rel] = emit_aws.to_bytes(doc)
    return Build(
        lp, plans, lock_path(policy_path), before, after, dict(sorted(files.items())), requests, policies, ng_requests
    )


def figures(result: Build) -> str:
    """What a build holds, per region: names, rules and capacity per group, and every merged name."""
    lines = []
    for p in result.plans:
        r = p.resolved
        extra = f", {len(r.collapsed)} collapsed" if r.collapsed else ""
        lines.append(f"{p.region}: {len(r.targets)} names{extra}")
        for g in p.groups or (p.nextgen.groups if p.nextgen else ()):
            how = "set" if g.capacity_explicit else "computed"
            spare = g.capacity - g.rule_count
            lines.append(f"  {g.name}: {g.rule_count} rules, capacity {g.capacity} ({how}, {spare} spare)")
        lines += [f"    collapsed {c.name}: {c.reason} ({c.origin.pos})" for c in r.collapsed]
    return "\n".join(lines)


def select(plans: list[RegionPlan], region: str | None, policy_path: Path) -> list[RegionPlan]:
    """The plans of one region (or all, for None); an unknown region is bad input."""
    chosen = [p for p in plans if region in (None, p.region)]
    if not chosen:
        raise RulecError(f"region '{region}' is not in {policy_path}")
    return chosen


def stale_files(out_dir: Path, files: dict[str, bytes]) -> list[str]:
    """Generated-looking files under region directories of `out_dir` that this build does not produce."""
    if not out_dir.is_dir():
        return []
    stale = []
    for sub in sorted(out_dir.iterdir()):
        if sub.is_dir() and _REGION_DIR.match(sub.name):
            for f in sorted(sub.iterdir()):
                rel = f"{sub.name}/{f.name}"
                if f.suffix in (".json", ".rules") and rel not in files:
                    stale.append(rel)
    return stale


def write_atomic(targets: dict[Path, bytes]) -> list[Path]:
    """Write the files whose content changes: all are staged first, then each is renamed into place."""
    changed = [p for p, data in targets.items() if not p.is_file() or p.read_bytes() != data]
    staged: list[tuple[str, Path]] = []
    try:
        for path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(targets[path])
            staged.append((tmp, path))
    except OSError as exc:
        for tmp, _ in staged:
            os.unlink(tmp)
        raise error_at(Position(str(exc.filename or changed[0])), f"cannot write: {exc.strerror}") from None
    for tmp, path in staged:
        os.replace(tmp, path)
    return changed


def write(result: Build, out_dir: Path, write_lock: bool = True) -> list[str]:
    """Write outputs (and the lock) atomically; remove stale generated files. Returns changed paths."""
    targets = {out_dir / rel: data for rel, data in result.files.items()}
    if write_lock:
        targets[result.lock_path] = result.lock_bytes
    changed = write_atomic(targets)
    removed = stale_files(out_dir, result.files)
    for rel in removed:
        (out_dir / rel).unlink()
    return [str(p) for p in changed] + [f"{out_dir / rel} (removed)" for rel in removed]


def check(result: Build, out_dir: Path) -> list[str]:
    """Unified diffs between what is committed and what a build would write; empty when in sync."""
    diffs = []
    expected = {str(out_dir / rel): data for rel, data in result.files.items()}
    expected[str(result.lock_path)] = result.lock_bytes
    for name, data in expected.items():
        path = Path(name)
        old = path.read_bytes() if path.is_file() else b""
        if old != data:
            label = name if path.is_file() else f"{name} (missing)"
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.decode("utf-8", "replace").splitlines(keepends=True),
                        data.decode().splitlines(keepends=True),
                        fromfile=f"{label} (committed)",
                        tofile=f"{name} (built)",
                    )
                )
            )
    diffs.extend(
        f"{out_dir / rel}: stale, not produced by the policy any more\n" for rel in stale_files(out_dir, result.files)
    )
    return diffs


def require_locked(result: Build) -> None:
    if result.lock_changed:
        raise RulecError(
            [
                error_at(
                    Position(str(result.lock_path)),
                    (
                        "the SID lock would change (new or retired rules) but --locked was given; "
                        "run without --locked and commit the lock"
                    ),
                ).diagnostics[0]
            ]
        )

"""Runs the stages in order (load -> resolve -> compile -> emit) and writes or checks the outputs.

Everything is computed in memory first; files are written only when every stage succeeded, all or nothing
(rulec/files.py), so an error never leaves a half-written output or lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rulec.compile import nextgen
from rulec.compile.ir import RegionPlan
from rulec.compile.lock import Lock, dump_lock, lock_path, read_lock
from rulec.compile.plan import compile_policy, pool_note
from rulec.compile.resolve import resolve
from rulec.emit import aws_classic as emit_aws
from rulec.emit import aws_nextgen as emit_nextgen
from rulec.emit import dns_firewall as emit_dns
from rulec.emit import firewall_policy as emit_policy
from rulec.emit import suricata as emit_suricata
from rulec.errors import Diagnostic, Position, RulecError, error_at
from rulec.files import MANIFEST, dump_manifest, read_manifest, read_or_none, write_atomic
from rulec.load.catalog import Catalogs, default_root
from rulec.load.policy import LoadedPolicy, load_policy


@dataclass
class Build:
    policy: LoadedPolicy
    plans: list[RegionPlan]
    lock_path: Path | None  # None: a policy from stdin without --lock (nothing is written beside it)
    lock_before: Lock
    lock_after: Lock
    files: dict[str, bytes]  # path relative to the output directory -> bytes
    requests: dict[str, list[dict]]  # region -> the CreateRuleGroup requests written for it (validate() checks them)
    # region -> the CreateFirewallPolicy request written for it, when the policy declares `firewall_policy`
    # (DIR/<region>/<name>.firewall-policy.json; group ARNs carry the placeholder ${AccountId})
    policy_requests: dict[str, dict] = field(default_factory=dict)
    # engine: next-gen: region -> (CreateRuleGroup Type FIREWALL requests, the CreateFirewallPolicyV2 request)
    nextgen_requests: dict[str, tuple[list[dict], dict]] = field(default_factory=dict)
    schemas: dict[str, str] = field(default_factory=dict)  # JSON file -> the API schema it follows (validate)

    @property
    def lock_bytes(self) -> bytes:
        return dump_lock(self.lock_after)

    @property
    def lock_changed(self) -> bool:
        return dump_lock(self.lock_before) != self.lock_bytes


def lock_for(policy_path: Path, lock: Path | None = None) -> Path | None:
    """The SID lock: `lock`, else beside the policy; None for a policy read from stdin (nothing beside it)."""
    if lock is not None:
        return lock
    if str(policy_path) == "-" or (policy_path.exists() and not policy_path.is_file()):  # -, /dev/stdin, a pipe
        return None
    return lock_path(policy_path)


def plan(
    policy_path: Path, catalogs: Path | None = None, lock: Path | None = None
) -> tuple[LoadedPolicy, list[RegionPlan], Lock, Lock]:
    """Load, resolve and compile: the IR for every region, without emitting anything."""
    lp = load_policy(policy_path)
    cats = Catalogs(catalogs or default_root())
    nextgen.check_policy(lp)
    regions = resolve(lp, cats)
    path = lock_for(policy_path, lock)
    before = read_lock(path) if path is not None else Lock()
    compiler = nextgen.compile_policy if lp.policy.engine == "next-gen" else compile_policy
    plans, after = compiler(lp, regions, before)
    empty = [r.region for r in plans if not r.resolved.targets]
    if empty:  # bad input for every command, not only those that emit: a domain list needs a name
        raise RulecError(
            [
                Diagnostic(
                    lp.doc.key_at("regions", r),
                    f"region '{r}' allows no names: add `features` or `allow` (here or at the top level); "
                    "a domain list needs at least one name",
                )
                for r in empty
            ]
        )
    return lp, plans, before, after


def build(policy_path: Path, catalogs: Path | None = None, lock: Path | None = None) -> Build:
    """Plan, then emit every group's request and Suricata rules, in memory (`validate` checks the requests)."""
    lp, plans, before, after = plan(policy_path, catalogs, lock)
    files: dict[str, bytes] = {}
    schemas: dict[str, str] = {}
    requests: dict[str, list[dict]] = {}
    policies: dict[str, dict] = {}
    ng_requests: dict[str, tuple[list[dict], dict]] = {}
    for p in plans:
        if p.nextgen is not None:
            ng_requests[p.region] = emit_nextgen.files(p, files, schemas)
            continue
        for group in p.groups:
            doc = emit_aws.request(group)
            rel = f"{p.region}/{group.name}.json"
            schemas[rel] = "create-rule-group"
            requests.setdefault(p.region, []).append(doc)
            files[rel] = emit_aws.to_bytes(doc)
            files[f"{p.region}/{group.name}.rules"] = emit_suricata.rules_text(group).encode()
        doc = emit_policy.request(p)
        if doc is not None:
            rel = f"{p.region}/{emit_policy.file_name(doc)}"
            if rel in files:
                raise error_at(p.resolved.firewall_policy.pos, f"{rel} would be written twice; rename the policy")
            schemas[rel] = "create-firewall-policy"
            policies[p.region] = doc
            files[rel] = emit_aws.to_bytes(doc)
        if p.resolved.dns is not None:  # Route 53 Resolver DNS Firewall (emit/dns_firewall.py)
            rel = f"{p.region}/{emit_dns.file_name(p.resolved.dns)}"
            doc = emit_dns.request(p.resolved.dns)
            if rel in files:
                raise error_at(p.resolved.dns.pos, f"{rel} would be written twice; rename the DNS Firewall")
            schemas[rel] = "dns-firewall"
            files[rel] = emit_aws.to_bytes(doc)
    return Build(
        lp,
        plans,
        lock_for(policy_path, lock),
        before,
        after,
        dict(sorted(files.items())),
        requests,
        policies,
        ng_requests,
        schemas,
    )


def validate(result: Build) -> None:
    """Check every request file, as written, against its API schema (schemas/<name>.schema.json). `check`, and
    so push, and export run it: jsonschema's import and its per-item `$ref` walks stay off `build`, whose
    requests tests validate for every example and random policies."""
    validators: dict[str, emit_aws.RequestValidator] = {}
    for rel, name in sorted(result.schemas.items()):
        if name not in validators:
            validators[name] = emit_aws.RequestValidator(name)
        validators[name].check(json.loads(result.files[rel]), rel)


def risk_gate(result: Build, today=None):
    """Lint errors that stop this build unless waived (rulec.review.gate.GateResult); imported only here,
    so that commands that never gate do not pay for the lint checks' imports."""
    from rulec.review.gate import risk_gate as gate

    return gate(result.policy, result.plans, today)


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
        note = pool_note(p.groups)
        lines += [f"  {note}"] if note else []
        lines += [f"    collapsed {c.name}: {c.reason} ({c.origin.pos})" for c in r.collapsed]
    return "\n".join(lines)


def pool_warnings(result: Build) -> list[str]:
    """The regions whose groups overflow a firewall policy's pool (figures() says it too, in place)."""
    notes = ((p.region, pool_note(p.groups)) for p in result.plans)
    return [f"{region}: {note}" for region, note in notes if note]


def select(plans: list[RegionPlan], region: str | None, policy_path: Path) -> list[RegionPlan]:
    """The plans of one region (or all, for None); an unknown region is bad input."""
    chosen = [p for p in plans if region in (None, p.region)]
    if not chosen:
        raise RulecError(f"region '{region}' is not in {policy_path}")
    return chosen


def stale_files(out_dir: Path, files: dict[str, bytes]) -> list[str]:
    """Files an earlier build wrote under `out_dir` (its manifest) that this build does not produce.
    A file rulec did not write is never stale: it is not rulec's to remove."""
    return [rel for rel in read_manifest(out_dir) if rel not in files and (out_dir / rel).is_file()]


def write(result: Build, out_dir: Path, write_lock: bool = True) -> list[str]:
    """Write outputs, the manifest (and the lock) all or nothing; remove the stale files rulec wrote.
    Returns the changed paths."""
    targets = {out_dir / rel: data for rel, data in result.files.items()}
    targets[out_dir / MANIFEST] = dump_manifest(list(result.files))
    if write_lock and result.lock_path is not None:
        targets[result.lock_path] = result.lock_bytes
    removed = stale_files(out_dir, result.files)
    changed = write_atomic(targets, [out_dir / rel for rel in removed])
    gone = {out_dir / rel for rel in removed}
    return [str(p) for p in changed if p not in gone] + [f"{out_dir / rel} (removed)" for rel in removed]


def check(result: Build, out_dir: Path) -> list[str]:
    """Unified diffs between what is committed and what a build would write; empty when in sync. The build's
    requests are validated against their API schemas first (bad requests raise RulecError)."""
    import difflib  # here, not at the top: only check compares (start-up of the other commands)

    validate(result)
    diffs = []
    expected = {str(out_dir / rel): data for rel, data in result.files.items()}
    expected[str(out_dir / MANIFEST)] = dump_manifest(list(result.files))
    if result.lock_path is not None:
        expected[str(result.lock_path)] = result.lock_bytes
    for name, data in expected.items():
        path = Path(name)
        committed = read_or_none(path)
        old = committed or b""
        if old != data:
            label = name if committed is not None else f"{name} (missing)"
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
                    Position(str(result.lock_path or "<stdin>")),
                    (
                        "the SID lock would change (new or retired rules) but --locked was given; "
                        "run without --locked and commit the lock"
                        if result.lock_path is not None
                        else "a policy read from stdin needs --lock PATH for its SID lock (nothing is written beside "
                        "stdin); without it the policy must need no new SIDs"
                    ),
                ).diagnostics[0]
            ]
        )

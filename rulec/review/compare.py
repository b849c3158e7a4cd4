"""`rulec diff`: what a change does, group by group: names and rules added and removed, capacity, and
the feature and catalog source behind each name (when policies, not build directories, are compared)."""

from __future__ import annotations

import difflib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rulec import pipeline
from rulec.aws import push_diff
from rulec.errors import Position, error_at
from rulec.review.explain import origin_text


@dataclass
class Side:
    label: str
    requests: dict[str, dict[str, Any]]  # "region/Group" -> CreateRuleGroup request
    why: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (region, name) -> origins
    waivers: list[str] = field(default_factory=list)  # the policy's waivers, one line each
    documents: dict[str, Any] = field(default_factory=dict)  # "region/file" -> firewall policy, DNS Firewall
    firewall_rules: dict[str, str] = field(default_factory=dict)  # next-gen: "region/Group" -> capacity and rules


DOCUMENTS = (".firewall-policy.json", ".firewall-policy-v2.json", ".dns-firewall.json")


@dataclass
class GroupDiff:
    key: str
    status: str  # added | removed | changed | unchanged
    diff: push_diff.Diff
    rules: tuple[int | None, int | None]
    why: dict[str, list[str]]  # name -> origins (added names: new side; removed: old side)


def _from_policy(label: str, policy: Path, catalogs: Path | None) -> Side:
    result = pipeline.build(policy, catalogs)
    side = Side(label, {}, waivers=[_waiver(w) for w in result.policy.policy.waivers])
    side.documents = {rel: json.loads(data) for rel, data in result.files.items() if rel.endswith(DOCUMENTS)}
    for region, (groups, _) in result.nextgen_requests.items():
        side.firewall_rules.update({f"{region}/{g['RuleGroupName']}": _firewall_text(g) for g in groups})
    for p in result.plans:
        for doc in result.requests.get(p.region, []):
            side.requests[f"{p.region}/{doc['RuleGroupName']}"] = doc
        for t in p.resolved.targets:
            side.why[(p.region, t.name)] = [origin_text(o) for o in t.origins]
    return side


def _from_dir(path: Path) -> Side:
    side = Side(str(path), {})
    for f in sorted(path.glob("*/*.json")):
        try:
            doc = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise error_at(Position(str(f)), f"not a rulec output file: {exc}") from None
        if f.name.endswith(DOCUMENTS):  # the firewall policy and the DNS layer: compared as documents
            side.documents[f"{f.parent.name}/{f.name}"] = doc
            continue
        if isinstance(doc, dict) and doc.get("Type") == "FIREWALL" and "FirewallRuleGroup" in doc:
            side.firewall_rules[f"{f.parent.name}/{f.stem}"] = _firewall_text(doc)
            continue
        if not isinstance(doc, dict) or not {"RuleGroupName", "RuleGroup"} <= set(doc):
            raise error_at(Position(str(f)), "not a CreateRuleGroup request (no RuleGroupName/RuleGroup)")
        side.requests[f"{f.parent.name}/{f.stem}"] = doc
    if not side.requests and not side.firewall_rules:
        raise error_at(Position(str(path)), "no <region>/<Group>.json files here; pass a build directory or a policy")
    return side


def _from_git(spec: str, catalogs: Path | None) -> Side:
    """REV:PATH (PATH relative to the current directory): the policy and its lock as committed at REV,
    built with the current catalogs."""
    rev, _, path = spec.partition(":")
    if rev.startswith("-"):
        raise error_at(Position(spec), "a git revision cannot start with '-'")
    policy = Path(path)
    with tempfile.TemporaryDirectory(prefix="rulec-diff-") as tmp:
        target = Path(tmp) / policy.name
        for src, dst in ((policy, target), (pipeline.lock_path(policy), pipeline.lock_path(target))):
            rel = src.as_posix() if src.is_absolute() else f"./{src.as_posix()}"  # relative to the current directory
            proc = subprocess.run(["git", "show", f"{rev}:{rel}"], capture_output=True, check=False)
            if proc.returncode == 0:
                dst.write_bytes(proc.stdout)
            elif src == policy:
                raise error_at(Position(spec), f"git cannot show it: {proc.stderr.decode(errors='replace').strip()}")
        side = _from_policy(spec, target, catalogs)
    side.why = {k: [w.replace(str(target), spec) for w in v] for k, v in side.why.items()}
    return side


def load(arg: str, catalogs: Path | None) -> Side:
    path = Path(arg)
    if path.is_dir():
        return _from_dir(path)
    if path.is_file():
        return _from_policy(arg, path, catalogs)
    if ":" in arg:
        return _from_git(arg, catalogs)
    raise error_at(Position(arg), "no such file or directory (nor a git REV:PATH)")


def _firewall_text(doc: dict[str, Any]) -> str:
    """A next-gen FIREWALL group as its capacity and AWS-dialect rule strings, one line each, to diff as text."""
    from rulec.emit.aws_nextgen import rules_text

    return f"# Capacity {doc.get('Capacity')}\n" + rules_text(doc)


def _waiver(w: Any) -> str:
    where = f" in {w.region}" if w.region else ""
    until = f" until {w.expires}" if w.expires else ""
    return f"{w.code} {w.target}{where}{until}: {w.reason.strip()}"


def waiver_changes(old: Side, new: Side) -> tuple[list[str], list[str]]:
    """Waivers (accepted risks) added and removed between two policies."""
    return [w for w in new.waivers if w not in old.waivers], [w for w in old.waivers if w not in new.waivers]


def document_changes(old: Side, new: Side) -> list[str]:
    """Unified diffs of the firewall-policy and DNS Firewall documents, and of next-gen groups' rules, that
    differ."""
    out = []
    texts = [
        {**{rel: json.dumps(d, indent=2, sort_keys=True) for rel, d in s.documents.items()}, **s.firewall_rules}
        for s in (old, new)
    ]
    for rel in sorted(set(texts[0]) | set(texts[1])):
        a, b = texts[0].get(rel, ""), texts[1].get(rel, "")
        if a != b:
            out.append(
                "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), f"{rel} (old)", f"{rel} (new)"))
            )
    return out


def compare(old: Side, new: Side) -> list[GroupDiff]:
    out = []
    for key in sorted(set(old.requests) | set(new.requests)):
        a, b = old.requests.get(key), new.requests.get(key)
        d = push_diff.diff(a, b)
        status = (
            "added"
            if a is None
            else "removed"
            if b is None
            else "unchanged"
            if d.empty and a.get("Capacity") == b.get("Capacity")
            else "changed"
        )
        region = key.split("/")[0]
        why = {n: new.why.get((region, n), []) for n in d.names_added}
        why.update({n: old.why.get((region, n), []) for n in d.names_removed})
        rules = tuple(push_diff.rules_needed(x["RuleGroup"]) if x else None for x in (a, b))
        out.append(GroupDiff(key, status, d, rules, why))  # type: ignore[arg-type]
    return out


def render(
    diffs: list[GroupDiff],
    markdown: bool = False,
    waivers: tuple[list[str], list[str]] = ([], []),
    firewall: list[tuple[str, str]] = (),
) -> str:
    """Text for a terminal, or Markdown for a pull-request comment."""
    lines = []
    if any(waivers):
        body = [f"+ waiver {w}" for w in waivers[0]] + [f"- waiver {w}" for w in waivers[1]]
        lines.append("### waivers (accepted risks)" if markdown else "waivers (accepted risks):")
        lines.extend(["```diff", *body, "```"] if markdown else [f"  {b}" for b in body])
    for g in diffs:
        old, new = g.diff.capacity
        cap = f"capacity {new}" if old in (None, new) or new is None else f"capacity {old} -> {new}"
        if g.status == "removed":
            cap = f"capacity {old}"
        counts = [str(r) for r in g.rules if r is not None]
        rules = (counts[0] if len(set(counts)) == 1 else " -> ".join(counts)) + " rules"
        head = f"{g.key}: {g.status} ({cap}, {rules})"
        lines.append(f"### {head}" if markdown else head)
        if g.status == "unchanged":
            continue
        body = []
        for line in g.diff.describe():
            name = line[2:]
            body.append(line)
            body.extend(f"    via {w}" for w in g.why.get(name, []))
        if markdown and body:
            lines.extend(["```diff", *body, "```"])
        else:
            lines.extend(f"  {b}" for b in body)
    changed = sum(g.status != "unchanged" for g in diffs)
    if diffs or not firewall:
        lines.append(f"{changed} of {len(diffs)} group(s) changed")
    for key, status in firewall:
        lines.append(f"### {key}: {status} (next-gen)" if markdown else f"{key}: {status} (next-gen)")
    if firewall:
        moved = sum(status != "unchanged" for _, status in firewall)
        lines.append(f"{moved} of {len(firewall)} next-gen group(s) changed" + (": rules below" if moved else ""))
    return "\n".join(lines)


def firewall_changes(old: Side, new: Side) -> list[tuple[str, str]]:
    """(region/Group, added | removed | changed | unchanged) for every next-gen FIREWALL group."""
    out = []
    for key in sorted(set(old.firewall_rules) | set(new.firewall_rules)):
        a, b = old.firewall_rules.get(key), new.firewall_rules.get(key)
        out.append((key, "added" if a is None else "removed" if b is None else "unchanged" if a == b else "changed"))
    return out


def as_data(diffs: list[GroupDiff], waivers: tuple[list[str], list[str]] = ([], [])) -> list[dict[str, Any]]:
    """One object per group; when waivers changed, a last object {"waivers": {"added", "removed"}}."""
    extra = [{"waivers": {"added": waivers[0], "removed": waivers[1]}}] if any(waivers) else []
    groups = [
        {
            "group": g.key,
            "status": g.status,
            "capacity": list(g.diff.capacity),
            "rules": list(g.rules),
            "names_added": g.diff.names_added,
            "names_removed": g.diff.names_removed,
            "rules_added": g.diff.rules_added,
            "rules_removed": g.diff.rules_removed,
            "other": g.diff.other,
            "description_changed": g.diff.description,
            "why": g.why,
        }
        for g in diffs
    ]
    return groups + extra


def run(old: str, new: str, catalogs: Path | None, fmt: str = "text") -> tuple[str, bool]:
    """`rulec diff OLD NEW`: the report (text, markdown or JSON) and whether anything differs, waivers included."""
    a, b = load(old, catalogs), load(new, catalogs)
    diffs, waivers, documents = compare(a, b), waiver_changes(a, b), document_changes(a, b)
    firewall = firewall_changes(a, b)
    if fmt == "json":
        data = as_data(diffs, waivers) + [{"group": k, "status": st, "engine": "next-gen"} for k, st in firewall]
        text = json.dumps(data + ([{"documents": documents}] if documents else []), indent=2)
    else:
        text = render(diffs, fmt == "markdown", waivers, firewall)
        if documents:
            fence = ["```diff"] if fmt == "markdown" else []
            text += "\n" + "\n".join([*fence, *(d.rstrip("\n") for d in documents), *(["```"] if fence else [])])
    return text, any(d.status != "unchanged" for d in diffs) or any(waivers) or bool(documents)

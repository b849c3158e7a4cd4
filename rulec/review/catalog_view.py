"""Read-only views of the catalogs for `rulec catalog list/show` (plain data, no printing)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rulec.compile.resolve import feature_targets, unknown_feature
from rulec.errors import Position, RulecError
from rulec.load.catalog import Catalogs, default_root
from rulec.load.policy import REGION_PATTERN


def listing(root: Path | None = None) -> dict[str, Any]:
    cats = Catalogs(root or default_root())
    regions = []
    for name in cats.region_names():
        r = cats.region(name)
        regions.append({"region": name, "completeness": r.completeness, "missing": list(r.missing)})
    features = [
        {"name": n, "description": f.description, "facts": list(f.facts), "unnecessary_with": f.unnecessary_with}
        for n, f in sorted(cats.features.features.items())
    ]
    return {"regions": regions, "features": features}


def show(feature: str, region: str | None = None, root: Path | None = None) -> dict[str, Any]:
    """A feature's names in `region`; without a region, for a feature that is the same in every region."""
    cats = Catalogs(root or default_root())
    known = cats.features.features
    if feature not in known:
        raise RulecError(unknown_feature(feature, known))
    if region is None and known[feature].facts:
        raise RulecError(
            f"'{feature}' differs per region ({', '.join(known[feature].facts)}): give --region, one of "
            f"{', '.join(cats.region_names())}"
        )
    pairs = feature_targets(cats, region or "every region", feature, Position("command line"))
    entries: dict[int, dict[str, Any]] = {}
    for target, origin in pairs:
        e = origin.entry
        item = entries.setdefault(
            id(e),
            {
                "entry": e.label,
                "where": str(origin.entry_pos),
                "targets": [],
                "source": e.source,
                "reviewed": e.reviewed.isoformat(),
                "note": e.note,
            },
        )
        item["targets"].append(target)
    spec = known[feature]
    unnecessary, caveat = spec.unnecessary_with, None
    homes = sorted({_home(target, o.entry) for target, o in pairs})
    if region and unnecessary and "endpoint" in unnecessary and homes and all(homes) and region not in homes:
        # every bucket or service lies in another region: an endpoint in this region's spoke does not reach it
        unnecessary = None
        caveat = (
            f"a VPC endpoint in {region} does not replace it: it is in {', '.join(homes)}, and a gateway or interface "
            f"endpoint reaches only its own region's buckets and services"
        )
    return {
        "feature": feature,
        "region": region or "every region",
        "description": spec.description,
        "unnecessary_with": unnecessary,
        "caveat": caveat,
        "entries": list(entries.values()),
    }


def _home(target: str, entry: Any) -> str:
    """The AWS region a catalog entry's bucket or service is in ('' when the name does not say)."""
    bucket = getattr(entry, "bucket_region", None)
    if bucket:
        return bucket
    m = re.search(rf"\.({REGION_PATTERN.strip('^$')})\.amazonaws\.com$", target)
    return m.group(1) if m else ""


def render_listing(data: dict[str, Any]) -> str:
    lines = ["regions:"]
    for r in data["regions"]:
        missing = f" (missing: {', '.join(r['missing'])})" if r["missing"] else ""
        lines.append(f"  {r['region']:<15} {r['completeness']}{missing}")
    lines.append("features:")
    lines += [f"  {f['name']:<15} {f['description']}" for f in data["features"]]
    return "\n".join(lines)


def render_show(feature: str, region: str | None, data: dict[str, Any]) -> str:
    lines = [f"{feature} in {region or data['region']}: {data['description']}"]
    if data["unnecessary_with"]:
        lines.append(f"  not needed with: {data['unnecessary_with']}")
    if data.get("caveat"):
        lines.append(f"  note: {data['caveat']}")
    for e in data["entries"]:
        lines.append(f"  {e['entry']}  ({e['where']}, reviewed {e['reviewed']})")
        lines += [f"    -> {t}" for t in e["targets"]]
        lines.append(f"    source: {e['source']}")
        if e["note"]:
            lines.append(f"    note: {e['note']}")
    return "\n".join(lines)

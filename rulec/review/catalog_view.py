"""Read-only views of the catalogs for `rulec catalog list/show` (plain data, no printing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rulec.compile.resolve import feature_targets, unknown_feature
from rulec.errors import Position, RulecError
from rulec.load.catalog import Catalogs, default_root


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


def show(feature: str, region: str, root: Path | None = None) -> dict[str, Any]:
    cats = Catalogs(root or default_root())
    known = cats.features.features
    if feature not in known:
        raise RulecError(unknown_feature(feature, known))
    pairs = feature_targets(cats, region, feature, Position("command line"))
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
    return {
        "feature": feature,
        "region": region,
        "description": spec.description,
        "unnecessary_with": spec.unnecessary_with,
        "entries": list(entries.values()),
    }

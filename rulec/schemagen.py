"""Generate the JSON Schemas of rulec's own YAML files from their models.

Run `python -m rulec.schemagen` after changing a model; tests fail when schemas/ drifts.
"""

from __future__ import annotations

import json
from pathlib import Path

from rulec.load import catalog, policy


def generated() -> dict[str, bytes]:
    schemas = {"policy": policy.json_schema(), **catalog.schemas()}
    return {
        f"{name}.schema.json": (json.dumps(s, indent=2, sort_keys=True) + "\n").encode()
        for name, s in sorted(schemas.items())
    }


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "schemas"
    for name, data in generated().items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()

"""Locate the data directories shipped with rulec (catalogs/, schemas/), in a checkout or a wheel."""

from __future__ import annotations

import json
from pathlib import Path

from rulec.errors import RulecError

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`rulec/_<name>` inside an installed wheel, else `<name>/` at the root of the source tree."""
    for candidate in (_HERE / f"_{name}", _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RulecError(f"rulec's {name}/ directory is missing from this installation")


def load_schema(name: str) -> dict:
    return json.loads((data_dir("schemas") / f"{name}.schema.json").read_text())

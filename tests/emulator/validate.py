"""Server-side validation the way the Network Firewall API documents it: walk botocore's published
service model (required members, enums, patterns, lengths, ranges) over a request."""

from __future__ import annotations

import re
from typing import Any


class Invalid(Exception):
    pass


def check(value: Any, shape: Any, path: str = "") -> None:
    meta, kind = shape.metadata, shape.type_name
    where = path or "request"
    if kind == "structure":
        if not isinstance(value, dict):
            raise Invalid(f"{where}: expected an object")
        for name in shape.required_members:
            if name not in value:
                raise Invalid(f"{where}: missing required member {name}")
        for name, item in value.items():
            if name not in shape.members:
                raise Invalid(f"{where}: unknown member {name}")
            check(item, shape.members[name], f"{path}.{name}" if path else name)
    elif kind == "list":
        if not isinstance(value, list):
            raise Invalid(f"{where}: expected a list")
        _bounds(len(value), meta, where, "items")
        for i, item in enumerate(value):
            check(item, shape.member, f"{where}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise Invalid(f"{where}: expected a map")
        for k, item in value.items():
            check(k, shape.key, f"{where} key")
            check(item, shape.value, f"{where}.{k}")
    elif kind == "string":
        if not isinstance(value, str):
            raise Invalid(f"{where}: expected a string")
        _bounds(len(value), meta, where, "characters")
        if shape.enum and value not in shape.enum:
            raise Invalid(f"{where}: '{value}' is not one of {', '.join(shape.enum)}")
        if "pattern" in meta and not re.search(meta["pattern"], value):
            raise Invalid(f"{where}: '{value[:80]}' does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"{where}: expected an integer")
        _bounds(value, meta, where, "")
    elif kind == "boolean" and not isinstance(value, bool):
        raise Invalid(f"{where}: expected a boolean")


def _bounds(n: int, meta: dict, where: str, unit: str) -> None:
    if "min" in meta and n < meta["min"]:
        raise Invalid(f"{where}: at least {meta['min']} {unit}".rstrip())
    if "max" in meta and n > meta["max"]:
        raise Invalid(f"{where}: at most {meta['max']} {unit}".rstrip())

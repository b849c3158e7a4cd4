"""The JSON Schema (draft 2020-12) of a rulec.load.schema model, from the same annotations that validate it.

The layout follows the one pydantic generated before (titles, `$defs`, `anyOf` with null for optional keys),
so editors and the committed schemas/ files keep their shape. One difference: a mapping whose keys have a
pattern (regions) also refuses other keys (`additionalProperties: false`), as the validator does.
"""

from __future__ import annotations

import datetime
import inspect
from typing import Any

from rulec.load.schema import MISSING, Checked, Choice, Constraint, DictOf, ListOf, Model, Nullable, Ref, Scalar

_TYPES = {str: "string", int: "integer", bool: "boolean", datetime.date: "string"}


def model_json_schema(model: type[Model]) -> dict:
    defs: dict = {}
    out = _model(model, defs)
    return {"$defs": defs, **out} if defs else out


def _model(model: type[Model], defs: dict) -> dict:
    props, required = {}, []
    for name, f in model.model_fields.items():
        s = _node(f.node, defs)
        if f.default is MISSING:
            required.append(name)
        else:
            s["default"] = _jsonable(f.default)
        if f.description:
            s["description"] = f.description
        if not isinstance(f.node.inner if isinstance(f.node, Nullable) else f.node, Ref):  # a model has its title
            s["title"] = name.title().replace("_", " ")
        props[name] = {**s, **f.json_schema}
    out: dict = {"additionalProperties": False, "properties": props, "title": model.__name__, "type": "object"}
    if model.__doc__:
        out["description"] = inspect.cleandoc(model.__doc__)
    if required:
        out["required"] = required
    return out


def _node(node: Any, defs: dict) -> dict:
    if isinstance(node, Scalar):
        if node.kind is object:
            return {}
        return {"format": "date", "type": "string"} if node.kind is datetime.date else {"type": _TYPES[node.kind]}
    if isinstance(node, Choice):
        kind = {"type": _TYPES[type(node.values[0])]}
        return {"const": node.values[0], **kind} if len(node.values) == 1 else {"enum": list(node.values), **kind}
    if isinstance(node, ListOf):
        return {"items": _node(node.item, defs), "type": "array"}
    if isinstance(node, DictOf):
        return _mapping(node, defs)
    if isinstance(node, Nullable):
        return {"anyOf": [_node(node.inner, defs), {"type": "null"}]}
    if isinstance(node, Checked):
        out = _node(node.inner, defs)
        for m in node.metadata:
            if isinstance(m, Constraint):
                out.update(_limits(m, out.get("type")), **m.json_schema)
        return out
    name = node.model.__name__
    if name not in defs:
        defs[name] = {}  # a model that refers to itself
        defs[name] = _model(node.model, defs)
    return {"$ref": f"#/$defs/{name}"}


def _mapping(node: DictOf, defs: dict) -> dict:
    keys, values = _node(node.key, defs), _node(node.value, defs)
    values.pop("title", None)
    pattern = keys.pop("pattern", None)
    out: dict = {"type": "object"}
    if pattern is None:
        out["additionalProperties"] = values
    else:  # the validator refuses other keys, so the schema does too
        out.update(patternProperties={pattern: values}, additionalProperties=False)
    if keys.get("type") == "string" and len(keys) > 1:
        out["propertyNames"] = {k: v for k, v in keys.items() if k != "type"}
    return out


def _limits(c: Constraint, kind: str | None) -> dict:
    low, high = {"string": ("minLength", "maxLength"), "array": ("minItems", "maxItems")}.get(
        kind or "", ("minProperties", "maxProperties")
    )
    pairs = [(low, c.min_length), (high, c.max_length), ("minimum", c.ge), ("maximum", c.le)]
    pairs += [("pattern", c.pattern), ("description", c.description)]
    return {k: v for k, v in pairs if v is not None}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return {k: _jsonable(v) for k, v in value.__dict__.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value.isoformat() if isinstance(value, datetime.date) else value

"""Declarative models for rulec's YAML files: strict validation with every error located, and their JSON Schema.

A model is a class whose annotations describe the YAML shape:

    class GroupSpec(Model):
        name: Annotated[str, Constraint(pattern=r"^[a-z]+$", max_length=128)]
        capacity: Annotated[int, Constraint(ge=1)] | None = field(None, description="...")

        @model_check
        def _sane(self) -> None: ...  # raise ValueError(message) when the whole model is wrong

Types: str, int, bool, datetime.date, object, Literal[...], list[X], dict[K, V], X | None, another Model,
and Annotated[X, Constraint(...) | After(fn), ...] (checked in order; `After` returns the validated value,
normalised, or raises ValueError). Validation is strict: unknown keys are refused, nothing is coerced (a bool
is not an int, "1" is not a number), a missing required key is an error, and every error in the document is
collected with its location (a tuple of keys and indices). Instances are immutable and hashable; the method
names (model_validate, model_dump, model_copy, model_fields, model_json_schema) are the ones pydantic uses.
"""

from __future__ import annotations

import copy

import datetime
import re
import types
import typing
from typing import Annotated, Any, Literal, NamedTuple

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
_BAD: Any = type("Bad", (), {})()  # a value that failed; its errors are already recorded


class Error(NamedTuple):
    """One problem: where (keys and indices), what kind and the message.

    kind: extra (an unknown key), missing, key (a mapping key that fails), value (a wrong type or a limit),
    check (an After function or a model check refused it: rules JSON Schema cannot express)."""

    loc: tuple
    kind: str
    message: str


class Invalid(ValueError):
    def __init__(self, model: str, errors: list[Error]):
        self.errors = errors
        where = [".".join(map(str, e.loc)) + ": " if e.loc else "" for e in errors]
        super().__init__(f"{model}: " + "; ".join(w + e.message for w, e in zip(where, errors, strict=True)))


class Constraint:
    """Limits on a value: pattern, lengths (str, list, dict), bounds (int); `json_schema` is for the schema only."""

    def __init__(self, *, pattern=None, min_length=None, max_length=None, ge=None, le=None, description=None, json_schema=None):  # fmt: skip
        self.pattern, self.min_length, self.max_length, self.ge, self.le = pattern, min_length, max_length, ge, le
        self.description, self.json_schema, self._regex = description, json_schema or {}, None

    kind = "value"

    def apply(self, value: Any) -> Any:
        return _constrain(self, value)

    def matches(self, text: str) -> bool:
        if self._regex is None:  # compiled on first use; `$` ends the text only, as in JSON Schema (ECMA-262)
            self._regex = re.compile(self.pattern[:-1] + r"\Z" if self.pattern.endswith("$") else self.pattern)
        return self._regex.search(text) is not None


class After:
    """A function run on the value once its type and constraints passed: returns the value to keep."""

    kind = "check"

    def __init__(self, fn: typing.Callable[[Any], Any]):
        self.apply = fn


class Field:
    def __init__(self, default: Any = MISSING, description: str | None = None, json_schema: dict | None = None):
        self.default, self.description, self.json_schema = default, description, json_schema or {}
        self.node: Any = None

    def make_default(self) -> Any:
        return self.default.copy() if isinstance(self.default, list | dict) else self.default


def field(default: Any = MISSING, *, description: str | None = None, json_schema: dict | None = None) -> Any:
    """A model field's default (none: the key is required) and its description in the JSON Schema."""
    return Field(default, description, json_schema)


def model_check(fn):
    """Mark a method that checks the whole model once its fields are valid (raise ValueError to refuse)."""
    fn.__model_check__ = True
    return fn


PLAIN = {str: "expected a string", int: "expected a whole number", bool: "expected true or false"}
PLAIN.update({datetime.date: "expected a date such as 2027-06-30 (unquoted)", list: "expected a list, such as [a, b]"})
MAPPING = "expected a mapping (key: value)"
PATTERNS = {
    r"^[a-zA-Z0-9-]+$": "may hold only letters, digits and '-'",
    r"^[^\n\r]*$": "must be a single line",
    r"^[a-z0-9][a-z0-9-]*$": "may hold only lower-case letters, digits and '-'",
    r"^RC[0-9]{3}$": "is not a lint code such as RC001",
}


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string '{value[:60]}'"
    return f"{type(value).__name__} {str(value)[:60]}"


def _wrong(expected: str, value: Any) -> str:
    return expected if value is None else f"{expected}, not {_kind_of(value)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


_NOT = {int: bool, datetime.date: datetime.datetime}  # a bool is an int and a datetime a date to Python, not here


# Nodes: one per type expression (rulec.load.schema_json turns them into JSON Schema).
# check() returns the validated value, or _BAD after recording the errors.
class Scalar:
    def __init__(self, kind: type):
        self.kind, self.refused = kind, _NOT.get(kind, ())

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        if isinstance(value, self.kind) and not isinstance(value, self.refused):
            return value
        errors.append(Error(loc, "value", _wrong(PLAIN[self.kind], value)))
        return _BAD


class Choice:
    def __init__(self, values: tuple):
        self.values = values

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        if any(type(v) is type(value) and v == value for v in self.values):
            return value
        shown = [repr(v) for v in self.values]
        expected = f"{', '.join(shown[:-1])} or {shown[-1]}" if len(shown) > 1 else shown[0]
        errors.append(Error(loc, "value", f"Input should be {expected}"))
        return _BAD


class ListOf:
    def __init__(self, item: Any):
        self.item = item

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        if not isinstance(value, list):
            errors.append(Error(loc, "value", _wrong(PLAIN[list], value)))
            return _BAD
        before, check = len(errors), self.item.check
        out = [check(v, (*loc, i), errors) for i, v in enumerate(value)]
        return _BAD if len(errors) > before else out


class DictOf:
    def __init__(self, key: Any, value: Any):
        self.key, self.value = key, value

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        if not isinstance(value, dict):
            errors.append(Error(loc, "value", _wrong(MAPPING, value)))
            return _BAD
        out, bad = {}, False
        for k, v in value.items():
            found: list[Error] = []
            key = self.key.check(k, loc, found)
            errors += [Error(loc + (k,), "key", e.message) for e in found]
            out[key] = self.value.check(v, loc + (k,), errors)
            bad = bad or key is _BAD or out[key] is _BAD
        return _BAD if bad else out


class Nullable:
    def __init__(self, inner: Any):
        self.inner = inner

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        return None if value is None else self.inner.check(value, loc, errors)


class Checked:
    def __init__(self, inner: Any, metadata: tuple):
        self.inner, self.metadata = inner, [m for m in metadata if isinstance(m, Constraint | After)]

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        value = self.inner.check(value, loc, errors)
        if value is _BAD:
            return value
        for m in self.metadata:
            try:
                value = m.apply(value)
            except ValueError as exc:
                errors.append(Error(loc, m.kind, str(exc)))
                return _BAD
        return value


def _constrain(c: Constraint, value: Any) -> Any:
    if isinstance(value, int):
        if c.ge is not None and value < c.ge:
            raise ValueError(f"Input should be greater than or equal to {c.ge}")
        if c.le is not None and value > c.le:
            raise ValueError(f"Input should be less than or equal to {c.le}")
        return value
    n, text = len(value), isinstance(value, str)
    what, unit = ("String", "character") if text else ("List" if isinstance(value, list) else "Dictionary", "item")
    tail = "" if text else f" after validation, not {n}"
    if c.min_length is not None and n < c.min_length:
        raise ValueError(f"{what} should have at least {_plural(c.min_length, unit)}{tail}")
    if c.max_length is not None and n > c.max_length:
        raise ValueError(f"{what} should have at most {_plural(c.max_length, unit)}{tail}")
    if c.pattern is not None and not c.matches(value):
        raise ValueError(f"'{value}' {PATTERNS.get(c.pattern, 'does not have the form this key needs')}")
    return value


class Ref:
    def __init__(self, model: type[Model]):
        self.model = model

    def check(self, value: Any, loc: tuple, errors: list[Error]) -> Any:
        return _validate_model(self.model, value, loc, errors)


def _node(tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return Checked(_node(args[0]), tp.__metadata__)
    if origin is Literal:
        return Choice(args)
    if origin is list:
        return ListOf(_node(args[0]))
    if origin is dict:
        return DictOf(_node(args[0]), _node(args[1]))
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            raise TypeError(f"only `X | None` unions are supported, not {tp}")
        return Nullable(_node(rest[0]))
    if isinstance(tp, type) and issubclass(tp, Model):
        return Ref(tp)
    if tp in (str, int, bool, datetime.date, object):
        return Scalar(tp)
    raise TypeError(f"unsupported type in a model: {tp!r}")


def _fields(cls: type[Model]) -> dict[str, Field]:
    """The model's fields in declaration order, compiled once (on first use, so that imports stay cheap)."""
    compiled = cls.__dict__.get("_compiled")
    if compiled is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        compiled = {}
        for klass in reversed(cls.__mro__):
            for name in vars(klass).get("__annotations__", {}):
                if name.startswith("_") or typing.get_origin(hints[name]) is typing.ClassVar:
                    continue
                given = getattr(cls, name, MISSING)
                f = copy.copy(given) if isinstance(given, Field) else Field(given)  # a subclass's own node
                f.node = _node(hints[name])
                compiled[name] = f
        cls._checks = [v for k in reversed(cls.__mro__) for v in vars(k).values() if hasattr(v, "__model_check__")]
        cls._compiled = compiled  # last: another thread sees a model compiled whole or not at all
    return compiled


def _validate_model(cls: type[Model], data: Any, loc: tuple, errors: list[Error]) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        errors.append(Error(loc, "value", _wrong(MAPPING, data)))
        return _BAD
    before, values = len(errors), {}
    for name, f in _fields(cls).items():
        if name in data:
            values[name] = f.node.check(data[name], loc + (name,), errors)
        elif f.default is MISSING:
            errors.append(Error(loc + (name,), "missing", f"missing required key '{name}'"))
        else:
            values[name] = f.make_default()
    fields = cls._compiled
    errors += [Error(loc + (k,), "extra", _unknown(k, fields, data)) for k in data if k not in fields]
    if len(errors) > before:
        return _BAD
    obj = cls._make(values, frozenset(k for k in data if k in fields))
    for check in cls._checks:
        try:
            check(obj)
        except ValueError as exc:
            errors.append(Error(loc, "check", str(exc)))
            return _BAD
    return obj


class _FieldsOf:
    def __get__(self, obj: Any, cls: type[Model]) -> dict[str, Field]:
        return _fields(cls)


def _unknown(key: object, fields, data: dict) -> str:
    """`unknown key 'x'`, with the key meant when a missing one is close to it (`capcity`: capacity)."""
    import difflib  # only for a misspelt key

    free = [f for f in fields if f not in data]
    close = difflib.get_close_matches(str(key), free, 1, 0.75) if isinstance(key, str) else []
    return f"unknown key '{key}'" + (f"; did you mean '{close[0]}'?" if close else "")


class Model:
    """The base of every YAML model: unknown keys refused, no type coercion, immutable."""

    __slots__ = ("__dict__", "model_fields_set")
    model_fields = _FieldsOf()

    def __init__(self, **data: Any):
        obj = type(self).model_validate(data)
        object.__setattr__(self, "model_fields_set", obj.model_fields_set)
        self.__dict__.update(obj.__dict__)

    @classmethod
    def _make(cls, values: dict, given: frozenset) -> Any:
        obj = object.__new__(cls)
        object.__setattr__(obj, "model_fields_set", given)
        obj.__dict__.update(values)
        return obj

    @classmethod
    def model_validate(cls, data: Any) -> Any:
        """`data` (plain YAML values) as this model; raises Invalid with every error."""
        errors: list[Error] = []
        obj = _validate_model(cls, data, (), errors)
        if errors:
            raise Invalid(cls.__name__, errors)
        return obj

    def model_dump(self, exclude_unset: bool = False) -> dict:
        """Plain values; with exclude_unset, only the keys the document gave (at every level)."""

        def plain(v: Any) -> Any:
            if isinstance(v, Model):
                return v.model_dump(exclude_unset)
            if isinstance(v, list):
                return [plain(x) for x in v]
            return {k: plain(x) for k, x in v.items()} if isinstance(v, dict) else v

        return {k: plain(v) for k, v in self.__dict__.items() if not exclude_unset or k in self.model_fields_set}

    def model_copy(self, update: dict | None = None) -> Any:
        """A copy with some fields replaced (not validated, as with pydantic); they count as set."""
        update = update or {}
        return self._make({**self.__dict__, **update}, self.model_fields_set | frozenset(update))

    @classmethod
    def model_json_schema(cls) -> dict:
        """The JSON Schema (draft 2020-12) of this model, from the same annotations."""
        from rulec.load.schema_json import model_json_schema

        return model_json_schema(cls)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use model_copy(update=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def __getstate__(self) -> tuple:
        return self.__dict__, self.model_fields_set

    def __setstate__(self, state: tuple) -> None:
        self.__dict__.update(state[0])
        object.__setattr__(self, "model_fields_set", state[1])

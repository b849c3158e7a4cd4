"""Read YAML with positions: every value and key keeps its file:line:col.

PyYAML silently keeps the last of two equal keys and expands aliases without limit; a reviewer reads
the first key and an alias bomb exhausts memory. Composing nodes ourselves fixes both and lets every
later stage point at the line a problem comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rulec.errors import Diagnostic, Position, RulecError, error_at

MAX_NODES = 200_000  # alias expansion guard; a 50,000-name policy has about 50,000 nodes
MAX_BYTES = 16 * 1024 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

Path_ = tuple[Any, ...]


@dataclass
class Document:
    """A parsed YAML file: plain data plus where each piece came from."""

    file: str
    data: Any
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    def at(self, *path: Any) -> Position:
        """Position of the value at `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Position(self.file, 1, 1))

    def key_at(self, *path: Any) -> Position:
        """Position of the mapping key that leads to `path` (falls back to the value)."""
        return self.keys.get(tuple(path)) or self.at(*path)


def _pos(file: str, mark: Any) -> Position:
    return Position(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.doc = Document(file, None)
        self.count = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise error_at(
                _pos(self.file, node.start_mark), f"document expands to more than {MAX_NODES} values (alias bomb?)"
            )
        self.doc.values[path] = _pos(self.file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            return _constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise error_at(_pos(self.file, node.start_mark), f"invalid value: {exc}") from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            kpos = _pos(self.file, key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise error_at(kpos, "merge keys (<<) are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise error_at(kpos, "mapping keys must be plain scalars")
            key = _constructor.construct_object(key_node)
            if isinstance(key, (bool, int, float)) or key is None:
                key = key_node.value  # `on:`/`1:` keys are names here, not booleans or numbers
            if key in first:
                raise error_at(
                    kpos,
                    f"duplicate key '{key}' (first defined at line {first[key].line});"
                    " YAML keeps only the last one, so remove one of them",
                )
            first[key] = kpos
            self.doc.keys[path + (key,)] = kpos
            out[key] = self.build(value_node, path + (key,))
        return out


def parse_yaml(raw: bytes, file: str) -> Document:
    """Parse bytes into a Document, turning every failure into a positioned RulecError."""
    if len(raw) > MAX_BYTES:
        raise error_at(Position(file), f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error_at(Position(file, line, col), "file is not valid UTF-8; save it as UTF-8") from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise error_at(Position(file, 1, 1), "file is empty; expected a YAML mapping")
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(file, mark) if mark else Position(file, 1, 1)
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise error_at(pos, f"YAML syntax error: {msg}") from None
    except yaml.YAMLError as exc:
        raise error_at(Position(file, 1, 1), f"YAML error: {exc}") from None
    if len(nodes) != 1:
        raise error_at(Position(file, 1, 1), "expected exactly one YAML document")
    builder = _Builder(file)
    builder.doc.data = builder.build(nodes[0], ())
    if not isinstance(builder.doc.data, dict):
        raise error_at(builder.doc.at(), "expected a YAML mapping at the top level")
    return builder.doc


def read_bytes(path: Path, file: str | None = None) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error_at(Position(file or str(path)), "no such file") from None
    except IsADirectoryError:
        raise error_at(Position(file or str(path)), "is a directory, expected a file") from None
    except OSError as exc:
        raise error_at(Position(file or str(path)), f"cannot read: {exc.strerror}") from None


def load_yaml(path: Path, file: str | None = None) -> Document:
    return parse_yaml(read_bytes(path, file), file or str(path))


def load_model(path: Path, model: Any, file: str | None = None) -> tuple[Any, Document]:
    """Read `path` and validate it into pydantic `model`; every problem comes back positioned."""
    from pydantic import ValidationError

    doc = load_yaml(path, file)
    try:
        return model.model_validate(doc.data), doc
    except ValidationError as exc:
        raise diagnostics_from_pydantic(doc, exc) from None


def diagnostics_from_pydantic(doc: Document, exc: Any, root: Path_ = ()) -> RulecError:
    """Map pydantic ValidationError entries onto YAML positions."""
    out = []
    for err in exc.errors(include_url=False):
        loc = root + tuple(err["loc"])
        # pydantic appends union/validator branch names to loc; keep the part that exists in the doc
        while loc and loc not in doc.values and loc not in doc.keys:
            loc = loc[:-1]
        kind = err["type"]
        if kind == "extra_forbidden":
            pos = doc.key_at(*(root + tuple(err["loc"])))
            key = err["loc"][-1]
            msg = f"unknown key '{key}'"
        else:
            pos = doc.at(*loc)
            where = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "lax-", "str")))
            msg = err["msg"].removeprefix("Value error, ")
            if kind == "missing":
                pos = doc.at(*loc)
                msg = f"missing required key '{err['loc'][-1]}'"
            elif where:
                msg = f"{where}: {msg}"
        out.append(Diagnostic(pos, msg))
    return RulecError(out)

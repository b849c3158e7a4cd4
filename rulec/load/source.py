"""Read YAML with positions: every value and key keeps its file:line:col.

PyYAML silently keeps the last of two equal keys and expands aliases without limit; a reviewer reads
the first key and an alias bomb exhausts memory. Composing nodes ourselves fixes both and lets every
later stage point at the line a problem comes from.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rulec.errors import Diagnostic, Position, RulecError, error_at
from rulec.load.schema import Invalid

MAX_NODES = 200_000  # alias expansion guard; a 50,000-name policy has about 50,000 nodes
MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64  # a policy is about 5 levels deep; deeper documents are refused before Python's recursion limit

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"

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
        if len(path) > MAX_DEPTH:
            raise error_at(_pos(self.file, node.start_mark), f"values nested more than {MAX_DEPTH} levels deep")
        self.doc.values[path] = _pos(self.file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        """The value of a scalar; an explicit tag that does not fit its text (`!!int abc`) is bad input."""
        if node.tag == _STR:  # what SafeConstructor gives a string, without its bookkeeping (most values)
            return node.value
        try:
            return _constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            problem = exc.problem or "cannot be read"
        except Exception:  # noqa: BLE001 - PyYAML's constructors raise ValueError, KeyError, AttributeError...
            problem = f"'{node.value}' is not a valid {node.tag.rsplit(':', 1)[-1]}"
        finally:
            _constructor.constructed_objects.clear()
            _constructor.recursive_objects.clear()
        raise error_at(_pos(self.file, node.start_mark), f"invalid value: {problem}")

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            kpos = _pos(self.file, key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise error_at(kpos, "merge keys (<<) are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise error_at(kpos, "mapping keys must be plain scalars")
            self._scalar(key_node)  # raises for an explicit tag that does not fit (`!!int x: 1`)
            key = key_node.value  # keys are names here: `on:`, `1:`, `2020-01-01:` stay the text written
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
    except yaml.reader.ReaderError as exc:
        raise error_at(_offset(file, text, exc.position), _control(exc.character)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(file, mark) if mark else Position(file, 1, 1)
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        message, col = _syntax_hint(text, mark, msg)
        raise error_at(Position(file, pos.line, col) if col else pos, message) from None
    except yaml.YAMLError as exc:
        raise error_at(Position(file, 1, 1), f"YAML error: {exc}") from None
    except RecursionError:
        raise error_at(Position(file, 1, 1), f"values nested more than {MAX_DEPTH} levels deep") from None
    if len(nodes) != 1:
        raise error_at(Position(file, 1, 1), "expected exactly one YAML document")
    builder = _Builder(file)
    builder.doc.data = builder.build(nodes[0], ())
    if not isinstance(builder.doc.data, dict):
        raise error_at(builder.doc.at(), "expected a YAML mapping at the top level")
    return builder.doc


def _offset(file: str, text: str, index: int) -> Position:
    line = text.count("\n", 0, index) + 1
    return Position(file, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _control(char: Any) -> str:
    code = ord(char) if isinstance(char, str) and len(char) == 1 else int(char or 0)
    what = "NUL" if code == 0 else f"control character U+{code:04X}"
    return f"{what} is not allowed in YAML; remove it (write it as an escape in a double-quoted string if meant)"


def _syntax_hint(text: str, mark: Any, msg: str) -> tuple[str, int | None]:
    """PyYAML's message, plus what to write when the cause is a common slip (a tab, an unquoted `*`)."""
    line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
    if "\t" in line[: len(line) - len(line.lstrip())] or "tab character" in msg:
        return "YAML syntax error: a tab is used for indentation; YAML allows only spaces, so replace the tab", None
    star = line.rfind("*", 0, (mark.column if mark else 0) + 1)
    if "alias" in msg and star >= 0:
        word = line[star:].split()[0].rstrip(",]}")
        rest = word.lstrip("*")
        hint = rest if rest.startswith(".") else "." + rest
        return (
            f"YAML syntax error: '{word}': an unquoted '*' starts a YAML alias; for a name and all its "
            f"subdomains write '{hint}'"
        ), star + 1
    return f"YAML syntax error: {msg}", None


def parse_json(raw: bytes, file: str, what: str = "") -> Any:
    """JSON from bytes; not UTF-8, a syntax error or absurd nesting is a positioned error, never a traceback."""
    prefix = f"{what} is " if what else ""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error_at(Position(file, 1, 1), f"{prefix}not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise error_at(Position(file, exc.lineno, exc.colno), f"{prefix}not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise error_at(Position(file, 1, 1), f"{prefix}nested too deeply") from None


def read_bytes(path: Path, file: str | None = None) -> bytes:
    """The file's bytes (`-`: standard input); problems are positioned errors, never tracebacks."""
    try:
        if str(path) == "-":
            return sys.stdin.buffer.read(MAX_BYTES + 1)
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
    """Read `path` and validate it into `model` (rulec.load.schema); every problem comes back positioned."""
    doc = load_yaml(path, file)
    return validate(doc, model), doc


def validate(doc: Document, model: Any) -> Any:
    """`doc` validated into `model`, or a RulecError with every problem at its file:line:col."""
    try:
        return model.model_validate(doc.data)
    except Invalid as exc:
        raise diagnostics(doc, exc.errors) from None


def diagnostics(doc: Document, errors: list) -> RulecError:
    """Map validation errors (rulec.load.schema.Error: loc, kind, message) onto YAML positions."""
    out = []
    for err in errors:
        if err.kind == "extra":  # an unknown key: point at the key
            out.append(Diagnostic(doc.key_at(*err.loc), err.message))
            continue
        if err.kind == "key":  # a mapping key that fails: point at the key itself
            where = ".".join(str(p) for p in err.loc[:-1])
            out.append(Diagnostic(doc.key_at(*err.loc), f"{where}: {err.message}" if where else err.message))
            continue
        loc = err.loc
        while loc and loc not in doc.values and loc not in doc.keys:  # a missing key: its mapping
            loc = loc[:-1]
        where = ".".join(str(p) for p in err.loc)
        message = err.message if err.kind == "missing" or not where else f"{where}: {err.message}"
        out.append(Diagnostic(doc.at(*loc), message))
    return RulecError(out)

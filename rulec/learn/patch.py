"""Edit a policy YAML the way a reviewer would: append to lists, keep every comment and the layout.

ruamel.yaml's round-trip mode keeps comments, quotes and flow/block styles; it is imported here only, so
only `rulec learn` needs it. Lines the edit did not touch are restored byte for byte afterwards (ruamel
re-spaces some end-of-line comments after flow collections), so the diff shows only the additions.
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass

from rulec.errors import Position, error_at


@dataclass(frozen=True)
class Edit:
    """Append `value` to the list at `path` (("features",), ("regions", R, "allow"), ...)."""

    path: tuple[str, ...]
    value: str


def _indents(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file writes them; rulec's examples use 2/4/2."""
    mapping = 2
    for prev, line in zip(text.splitlines(), text.splitlines()[1:]):
        m = re.match(r"^( +)[^\s#-][^:]*:", line)
        if m and prev.rstrip().endswith(":") and not prev.lstrip().startswith("-"):
            mapping = len(m.group(1)) - (len(prev) - len(prev.lstrip()))
            break
    offset = 0
    for prev, line in zip(text.splitlines(), text.splitlines()[1:]):
        m = re.match(r"^( *)- ", line)
        if m and prev.rstrip().endswith(":") and not prev.lstrip().startswith("-"):
            offset = len(m.group(1)) - (len(prev) - len(prev.lstrip()))
            break
    return max(mapping, 1), offset + 2, offset


def apply(text: str, edits: list[Edit], file: str) -> str:
    """The policy text with every edit applied (in order); unchanged text when `edits` is empty."""
    if not edits:
        return text
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    mapping, sequence, offset = _indents(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        raise error_at(Position(file), f"cannot edit the policy: {exc}") from None
    for edit in edits:
        node = data
        for key in edit.path[:-1]:
            if not isinstance(node.get(key), CommentedMap):
                raise error_at(Position(file), f"cannot edit the policy: '{key}' is not a mapping")
            node = node[key]
        last = edit.path[-1]
        if last not in node or node[last] is None:
            seq = CommentedSeq([edit.value])
            seq.fa.set_flow_style()
            node.insert(_slot(list(node.keys()), last), last, seq)
        elif isinstance(node[last], list):
            node[last].append(edit.value)
        else:
            raise error_at(Position(file), f"cannot edit the policy: '{'.'.join(edit.path)}' is not a list")
    out = io.StringIO()
    yaml.dump(data, out)
    return _restore(text, out.getvalue())


def _slot(keys: list[str], key: str) -> int:
    """Where a new `features`/`allow` key goes: after home_net/features, before regions/verify."""
    before = ("home_net", "features") if key == "allow" else ("home_net",)
    after = [i + 1 for i, k in enumerate(keys) if k in before]
    if after:
        return max(after)
    return next((i for i, k in enumerate(keys) if k in ("regions", "verify", "allow")), len(keys))


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip())


def _restore(old: str, new: str) -> str:
    """`new`, with each changed line that differs from its original only in spacing put back as it was."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(a[i1:i2])
            continue
        originals = {_norm(x): x for x in a[i1:i2]}
        out.extend(originals.get(_norm(line), line) for line in b[j1:j2])
    result = "".join(out)
    if old.endswith("\n") and not result.endswith("\n"):
        result += "\n"
    return result


def unified(old: str, new: str, path: str) -> str:
    """A unified diff that `patch -p1` (or `git apply`) applies to `path`."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
        )
    )

"""Checks on what a name is: look-alikes (mixed scripts) and services made for moving data out.

Each check looks every name up in sets, one label suffix at a time: linear in the number of names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Annotated, ClassVar, Literal

from rulec.load.domains import unicode_labels
from rulec.load.policy import Name
from rulec.load.schema import Constraint, Model
from rulec.load.source import load_model
from rulec.resources import data_dir
from rulec.review.lint import Check, Context, Finding
from rulec.review.lint.checks import _entries

Category = Literal["paste", "file-drop", "tunnel", "request-catcher", "upload"]
# Scripts that are written together (UTS #39, "highly restrictive"): Japanese, Chinese, Korean with Latin.
_TOGETHER = ({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}, {"LATIN", "CJK", "BOPOMOFO"}, {"LATIN", "CJK", "HANGUL"})


class CategorySpec(Model):
    label: str
    source: Annotated[str, Constraint(min_length=8)]


class Service(Model):
    name: Name
    category: Category
    source: Annotated[str, Constraint(min_length=8)]


class ExfiltrationCatalog(Model):
    schema_version: Literal[1]
    categories: dict[Category, CategorySpec]
    services: list[Service]


@cache
def services() -> tuple[dict[str, Service], dict[str, list[Service]], ExfiltrationCatalog]:
    """(name -> service, suffix -> services strictly below it, the catalog) from catalogs/exfiltration.yaml."""
    cat, _ = load_model(data_dir("catalogs") / "exfiltration.yaml", ExfiltrationCatalog, "catalogs/exfiltration.yaml")
    by_name = {s.name: s for s in cat.services}
    below: dict[str, list[Service]] = {}
    for s in cat.services:
        labels = s.name.split(".")
        for i in range(1, len(labels)):
            below.setdefault(".".join(labels[i:]), []).append(s)
    return by_name, below, cat


def hits(name: str, categories: frozenset[str]) -> list[tuple[Service, bool]]:
    """Services `name` reaches: (service, True) when the name is the service or below it; (service, False)
    when a wildcard admits the service below it."""
    by_name, below, _ = services()
    labels = name.lstrip(".").split(".")
    out = []
    for i in range(len(labels)):
        s = by_name.get(".".join(labels[i:]))
        if s is not None and s.category in categories:
            out.append((s, True))
            break
    if not out and name.startswith("."):
        out = [(s, False) for s in below.get(name[1:], []) if s.category in categories]
    return out


class _ServiceCheck(Check):
    categories: ClassVar[frozenset[str]]

    def run(self, ctx: Context) -> Iterable[Finding]:
        cat = services()[2]
        for region, t in _entries(ctx):
            found = hits(t.name, self.categories)
            if not found:
                continue
            kinds = sorted({cat.categories[s.category].label for s, _ in found})
            inside = found[0][1]
            names = ", ".join(s.name for s, _ in found[:4]) + (", ..." if len(found) > 4 else "")
            how = f"'{t.name}' is {names}" if inside else f"'{t.name}' admits {names}"
            sources = ", ".join(sorted({s.source for s, _ in found[:2]}))
            yield self.origin(t.origin, self.message(how, kinds, sources, t), self.level(t), t.name, region)

    def message(self, how: str, kinds: list[str], sources: str, t) -> str:
        raise NotImplementedError

    def level(self, t) -> str:
        return self.severity


class ExfiltrationService(_ServiceCheck):
    code, severity = "RC013", "error"
    summary = (
        "Paste sites, anonymous file drops, tunnels and request catchers (catalogs/exfiltration.yaml): an error "
        "in `allow`, a warning when a catalog feature's own name admits one."
    )
    categories = frozenset({"paste", "file-drop", "tunnel", "request-catcher"})

    def message(self, how, kinds, sources, t) -> str:
        fix = "allow exact names instead where you can" if t.origin.feature else "remove it"
        return f"{how}: a {'; a '.join(kinds)}, a way to move data out ({sources}); {fix}"

    def level(self, t) -> str:
        return "warning" if t.origin.feature is not None else "error"


class UploadEndpoint(_ServiceCheck):
    code, severity = "RC014", "warning"
    summary = "What a wildcard admits: package and code upload endpoints (`.pypi.org` admits upload.pypi.org)."
    categories = frozenset({"upload"})

    def message(self, how, kinds, sources, t) -> str:
        return f"{how}: a {'; a '.join(kinds)} ({sources}); allow the exact names you download from instead"


def _script(char: str) -> str:
    word = unicodedata.name(char, "UNKNOWN").split(" ")[0]
    return "CJK" if word in ("CJK", "IDEOGRAPHIC") else word


class _LookAlike(Check):
    """A check of each label of the internationalised names (`xn--`); the first label it objects to is reported.
    `problem` returns the words between the name and "a look-alike of another name", with their punctuation."""

    def run(self, ctx: Context) -> Iterable[Finding]:
        for region, t in _entries(ctx):
            if "xn--" not in t.name:
                continue
            labels = unicode_labels(t.name)
            problem = next(filter(None, (self.problem(label, labels, t.name) for label in labels)), None)
            if problem:
                shown = f"'{t.name}' ({'.'.join(labels)})"
                message = f"{shown} {problem} a look-alike of another name; write the name you mean"
                yield self.origin(t.origin, message, target=t.name, region=region)

    def problem(self, label: str, labels: list[str], name: str) -> str | None:
        raise NotImplementedError


class MixedScript(_LookAlike):
    code, severity = "RC012", "error"
    summary = "Look-alike names that mix scripts in one label (`pypі.org` with a Cyrillic і)."

    def problem(self, label: str, labels: list[str], name: str) -> str | None:
        scripts = {_script(c) for c in label if c.isalpha()}
        if len(scripts) > 1 and not any(scripts <= ok for ok in _TOGETHER):
            return f"mixes {' and '.join(sorted(s.title() for s in scripts))} letters in '{label}':"
        return None


# Letters of other scripts that look like Latin ones in lower case (after Unicode's confusables, conservative)
LATIN_LOOKALIKES = {
    **dict(zip("аеһіјкорсѕуүхԁԛԝӏ", "aehijkopcsyyxdqwl")),  # Cyrillic
    **dict(zip("οιρνκυ", "oipvku")),  # Greek
}


class WholeScript(_LookAlike):
    code, severity = "RC016", "error"
    summary = "Look-alike names written wholly in another script whose letters all look Latin (`рурі.org`: Cyrillic)."

    def problem(self, label: str, labels: list[str], name: str) -> str | None:
        letters = [c for c in label if c.isalpha()]
        if len(letters) < 2 or not all(c in LATIN_LOOKALIKES for c in letters):  # the table holds no ASCII letter
            return None
        reads = ".".join("".join(LATIN_LOOKALIKES.get(c, c) for c in lab) for lab in labels)
        script = _script(letters[0]).title()
        return f"is written in {script} letters that all look Latin: it reads as '{'.' * name.startswith('.')}{reads}',"

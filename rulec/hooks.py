"""pre-commit entry points (`.pre-commit-hooks.yaml`): lint or check every policy among the staged files.

pre-commit passes all matching file names at once; YAML that is not a rulec policy (no top-level `version`
and `regions`) is skipped, so a broad `files:` pattern is harmless. Returns the exit code and the text.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from rulec import pipeline
from rulec.errors import RulecError


def is_policy(path: Path) -> bool:
    """A YAML mapping with `version` and `regions`: what every rulec policy has (anything else is skipped)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError):
        return path.name.startswith("policy")  # let the real loader report what is wrong with it
    return isinstance(data, dict) and "version" in data and "regions" in data


def _lint(policy: Path, out: Path) -> tuple[int, str]:
    from rulec.review import lint as linter
    from rulec.review.lint import output

    lp, plans, _, _ = pipeline.plan(policy)
    findings = linter.run(linter.Context(lp, plans))
    failed = any(linter.at_least(f.severity, "error") for f in findings)
    return (1 if failed else 0), output.text(findings)


def _check(policy: Path, out: Path) -> tuple[int, str]:
    diffs = pipeline.check(pipeline.build(policy), out)
    if diffs:
        return 1, "".join(diffs) + f"{policy}: {len(diffs)} file(s) out of date: run `rulec build {policy} -o {out}`\n"
    return 0, f"{policy}: {out} and the lock are up to date\n"


HOOKS = {"lint": _lint, "check": _check}


def run(hook: str, files: list[Path], out: Path) -> tuple[int, str]:
    """Run `hook` on each policy among `files`: the worst exit code (2 bad input, 1 findings) and all output."""
    if hook not in HOOKS:
        return 2, f"unknown hook '{hook}': {' or '.join(HOOKS)}\n"
    code, texts = 0, []
    for path in files:
        if not is_policy(path):
            continue
        try:
            rc, text = HOOKS[hook](path, out)
        except RulecError as exc:
            rc, text = 2, "".join(f"{d}\n" for d in exc.diagnostics)
        code = max(code, rc)
        texts.append(text if not text or text.endswith("\n") else text + "\n")
    return code, "".join(texts)

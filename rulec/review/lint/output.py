"""Lint findings as text, JSON or SARIF 2.1.0 (for code-scanning UIs). Returns strings; never prints."""

from __future__ import annotations

import json
from pathlib import Path

from rulec import __version__
from rulec.review.lint import Finding

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def text(findings: list[Finding]) -> str:
    lines = [str(f) for f in findings]
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    lines.append(", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items()))
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps(
        [
            {
                "file": f.pos.file,
                "line": f.pos.line,
                "column": f.pos.col,
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
            }
            for f in findings
        ],
        indent=2,
    )


def sarif(findings: list[Finding], checks: list[type]) -> str:
    rules = [
        {
            "id": c.code,
            "name": c.__name__,
            "shortDescription": {"text": c.summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[c.severity]},
            "helpUri": f"https://rulec.invalid/docs/lint#{c.code.lower()}",
        }
        for c in checks
    ]
    index = {c.code: i for i, c in enumerate(checks)}
    results = []
    for f in findings:
        region = {"startLine": max(f.pos.line, 1), "startColumn": max(f.pos.col, 1)}
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": Path(f.pos.file).as_posix()}, "region": region}}
                ],
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rulec",
                        "version": __version__,
                        "informationUri": "https://rulec.invalid",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2)

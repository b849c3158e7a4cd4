"""Print how long rulec takes at Network Firewall's limits and on the shipped example.

    python benchmarks/scale.py

Figures only; nothing is asserted (timings depend on the machine).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulec import pipeline  # noqa: E402
from rulec.errors import RulecError  # noqa: E402


def policy(n: int) -> str:
    names = "\n".join(f"      - host{i}.svc{i % 97}.example.org" for i in range(n))
    return f"version: 1\nregions:\n  eu-west-1:\n    home_net: [10.0.0.0/16]\n    allow:\n{names}\n"


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        p = tmpdir / "policy.yaml"
        p.write_text(policy(24_999))
        seconds, result = timed(lambda: pipeline.build(p))
        group = result.plans[0].groups[0]
        print(
            f"24,999 targets x 2 types: {group.rule_count:,} rules, capacity {group.capacity:,}, "
            f"build in memory {seconds:.2f} s (median of 3)"
        )
        seconds, _ = timed(lambda: pipeline.write(result, tmpdir / "out"), repeat=1)
        print(f"  writing the JSON and .rules: {seconds:.2f} s")
        base, _ = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), repeat=5)
        for n in (6_250, 12_500, 24_999):  # the risk gate must grow linearly: no pairwise comparison
            p.write_text(policy(n))
            built = pipeline.build(p)
            seconds, _ = timed(lambda b=built: pipeline.risk_gate(b))
            print(f"  risk gate on {n:,} names: {seconds:.2f} s = {seconds / base:.1f} x `python -c pass`")
        p.write_text(policy(25_000))
        try:
            pipeline.build(p)
        except RulecError as exc:
            print(f"25,000 targets: refused: {exc.diagnostics[0].message}")
        cmd = [
            sys.executable,
            "-m",
            "rulec",
            "build",
            str(ROOT / "examples/reference/policy.yaml"),
            "-o",
            str(tmpdir / "ex"),
            "-q",
        ]
        seconds, _ = timed(lambda: subprocess.run(cmd, check=True), repeat=5)
        print(f"`rulec build` on the reference example, whole process: {seconds * 1000:.0f} ms (median of 5)")
        imp = [sys.executable, "-c", "import pydantic, yaml, typer, jsonschema"]
        seconds, _ = timed(lambda: subprocess.run(imp, check=True), repeat=5)
        print(f"  python + importing its dependencies alone: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()

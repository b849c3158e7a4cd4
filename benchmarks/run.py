"""Print one table of rulec's speed and memory, every time as a ratio to `python -c pass` measured in the same run.

    python benchmarks/run.py [--suricata suricata8] [--repeat 5] [--skip-verify]

Rows: start-up of each command on the shipped reference example (and which heavy modules it imports); the
build scale curve (100 to 24,999 names, 10 regions x 2,500, Classic strict at 24,999, Next Generation at the
largest policy its firewall engine holds and refused at 24,999); verify of the reference example and of 1,000-
and 5,000-name `domains` policies (probes/s, Python's peak RSS, Suricata's). Each command runs as its own
process (the `rulec` script beside this Python); seconds are medians, RSS is that process's peak. Figures
only: nothing is asserted, and they depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RULEC = Path(sys.executable).parent / "rulec"
HEAVY = ("typer", "click", "rich", "pydantic", "jsonschema", "boto3", "ruamel", "publicsuffixlist")
# Python caches compiled modules as users' machines do (a PYTHONDONTWRITEBYTECODE=1 in the environment would
# recompile every module of rulec on every start); each row starts with one untimed run that writes the caches
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
NG_LARGEST = 14_992  # (30,000 - 16 fixed rules) // 2 rules per name; tests/test_scale.py derives it


def run(cmd: list[str], cwd: Path | None = None, ok=(0,)) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err}")
    return seconds, usage.ru_maxrss / 1024


def median(cmd: list[str], repeat: int, **kw) -> tuple[float, float]:
    run(cmd, **kw)  # untimed: bytecode caches, page cache
    runs = [run(cmd, **kw) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def imported(cmd: list[str], cwd: Path | None = None) -> str:
    """The heavy modules a command imports (from -X importtime)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rulec", *cmd], cwd=cwd, env=ENV, capture_output=True, text=True
    )
    names = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    found = [m for m in HEAVY if m in names]
    return "imports " + ", ".join(found) if found else "imports none of " + "/".join(HEAVY[:6])


def names(n: int, region: int = 0) -> str:
    return "".join(f"      - host{i}.r{region}.svc{i % 97}.example.org\n" for i in range(n))


def policy(n: int, head: str = "", regions: int = 1) -> str:
    body = "".join(
        f"  {r}:\n    home_net: [10.0.0.0/16]\n    allow:\n{names(n, i)}"
        for i, r in enumerate(
            [
                "eu-west-1",
                "eu-west-2",
                "eu-west-3",
                "eu-central-1",
                "eu-north-1",
                "us-east-1",
                "us-east-2",
                "us-west-1",
                "us-west-2",
                "ap-southeast-1",
            ][:regions]
        )
    )
    return f"version: 1\n{head}regions:\n{body}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suricata", default=os.environ.get("RULEC_SURICATA", "suricata8"))
    ap.add_argument("--repeat", type=int, default=5, help="runs per row (3 for the large builds and verify)")
    ap.add_argument("--skip-verify", action="store_true", help="leave out the verify rows (no Suricata needed)")
    args = ap.parse_args()
    os.environ["RULEC_SURICATA"] = ENV["RULEC_SURICATA"] = args.suricata
    rows: list[tuple[str, str, float, float | None, str]] = []
    base, _ = median([sys.executable, "-c", "pass"], max(7, args.repeat))
    rows.append(("python", "python -c pass (the unit)", base, None, ""))
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        ref = tmpdir / "ref"
        ref.mkdir()
        for name in ("policy.yaml", "policy.lock.json"):
            if (EXAMPLES / "reference" / name).exists():
                (ref / name).write_bytes((EXAMPLES / "reference" / name).read_bytes())
        subprocess.run([RULEC, "build", "policy.yaml", "-o", "out", "-q"], cwd=ref, env=ENV, check=True)
        startup = [
            ("--help", ["--help"], (0,)),
            ("build", ["build", "policy.yaml", "-o", "out", "-q"], (0,)),
            ("check", ["check", "policy.yaml", "-o", "out"], (0,)),
            ("lint", ["lint", "policy.yaml"], (0, 1)),
            ("explain", ["explain", "pypi.org", "policy.yaml"], (0, 1)),
            ("diff", ["diff", "policy.yaml", str(EXAMPLES / "hub-and-spoke" / "policy.yaml")], (0, 1)),
            ("catalog list", ["catalog", "list"], (0,)),
            ("export terraform", ["export", "policy.yaml", "--format", "terraform", "-o", "tf"], (0,)),
            ("push --help", ["push", "--help"], (0,)),
        ]
        for label, cmd, ok in startup:
            seconds, rss = median([str(RULEC), *cmd], args.repeat, cwd=ref, ok=ok)
            rows.append(("start-up", f"rulec {label}", seconds, rss, imported(cmd, cwd=ref)))
        cases = [(f"{n:,} names", policy(n), (0,), f"{2 * n + 2:,} rules") for n in (100, 1_000, 5_000, 10_000, 24_999)]
        cases += [
            ("10 regions x 2,500 names", policy(2_500, regions=10), (0,), "10 x 5,002 rules"),
            ("egress: strict, 24,999 names", policy(24_999, "egress: strict\n"), (0,), "50,007 rules, pool overflow"),
            (f"next-gen, {NG_LARGEST:,} names", policy(NG_LARGEST, _NG), (0,), "30,000 firewall rules"),
            ("next-gen, 24,999 names: refused", policy(24_999, _NG), (2,), "50,014 rules > 30,000: exit 2"),
        ]
        for label, text, ok, note in cases:
            path = tmpdir / "scale.yaml"
            path.write_text(text)
            run([str(RULEC), "build", str(path), "-o", str(tmpdir / "warm"), "-q"], ok=ok)  # lock, page cache
            runs = []
            for i in range(3):
                runs.append(run([str(RULEC), "build", str(path), "-o", str(tmpdir / f"o{len(rows)}-{i}"), "-q"], ok=ok))
            seconds, rss = statistics.median(r[0] for r in runs), max(r[1] for r in runs)
            rows.append(("build", label, seconds, rss, note))
        if not args.skip_verify:
            verify = [("reference example", EXAMPLES / "reference" / "policy.yaml")]
            for n in (1_000, 5_000):
                path = tmpdir / f"verify-{n}.yaml"
                path.write_text(_verify_policy(n))
                verify.append((f"{n:,}-name domains policy", path))
            for label, path in verify:
                runs = []
                for _ in range(3):
                    out = subprocess.run(
                        [sys.executable, str(ROOT / "benchmarks" / "verify.py"), "--one", str(path)],
                        capture_output=True,
                        text=True,
                        check=True,
                        env=ENV,
                    ).stdout
                    runs.append(json.loads(out.splitlines()[-1]))
                f = sorted(runs, key=lambda r: r["seconds"])[1]
                rows.append(
                    (
                        "verify",
                        label,
                        f["seconds"],
                        max(r["rss_self"] for r in runs),
                        f"{f['probes']:,} probes, {f['probes'] / f['seconds']:,.0f}/s, {f['failed']} failed, "
                        f"Suricata {max(r['rss_children'] for r in runs):.0f} MB",
                    )
                )
    print_table(rows, base)


_NG = "engine: next-gen\nfirewall_policy:\n  name: egress\n"


def _verify_policy(n: int) -> str:
    allow = "".join(f"      - {'.' if i % 2 else ''}svc{i}.example{i % 13}.org\n" for i in range(n))
    head = "version: 1\ndeny_protocols: [SSH, FTP, ICMP]\nregions:\n  eu-west-1:\n"
    return f"{head}    home_net: [10.0.0.0/16]\n    allow:\n{allow}"


def print_table(rows, base: float) -> None:
    from rulec.verify.engine import suricata_version

    try:
        engine = f"Suricata {suricata_version()}"
    except Exception as exc:  # noqa: BLE001 - a figure only
        engine = f"Suricata: {exc}"
    print(f"rulec benchmarks: Python {sys.version.split()[0]}, {os.cpu_count()} cores, {engine}")
    print(f"{'stage':<10} {'case':<44} {'seconds':>8} {'x python':>9} {'peak RSS MB':>12}  notes")
    for stage, label, seconds, rss, note in rows:
        rss_text = "" if rss is None else f"{rss:.0f}"
        print(f"{stage:<10} {label:<44} {seconds:>8.3f} {seconds / base:>9.1f} {rss_text:>12}  {note}")


if __name__ == "__main__":
    main()

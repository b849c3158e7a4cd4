"""Print how fast `rulec verify` runs and how much memory it takes: the shipped example, and `domains`
policies of 1,000 and 5,000 names (half of them wildcards), each in a fresh process.

    python benchmarks/verify.py [--suricata suricata8] [--sizes 1000,5000]

For each case (the median of --repeat runs): the probe count, seconds end to end (plan, derive, pcap,
Suricata, EVE), probes/s, the seconds as a ratio to `python3 -c pass` measured in the same run, the pcap
synthesis alone, and the peak RSS of the Python process and of Suricata. Figures only; nothing is asserted. Needs Suricata (scripts/setup.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def policy_text(names: int) -> str:
    allow = "\n".join(f"      - {'.' if i % 2 else ''}svc{i}.example{i % 13}.org" for i in range(names))
    return (
        f"version: 1\ndeny_protocols: [SSH, FTP, ICMP]\nregions:\n  eu-west-1:\n"
        f"    home_net: [10.0.0.0/16]\n    allow:\n{allow}\n"
    )


def one(policy: str) -> None:
    """Child process: verify every region of `policy` once and print the figures as JSON."""
    from rulec.pipeline import plan
    from rulec.verify import synthesize, verify_region
    from rulec.verify.probes import derive, home_host

    started = time.perf_counter()
    _, plans, _, _ = plan(Path(policy))
    reports = [verify_region(p, []) for p in plans]
    seconds = time.perf_counter() - started
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the pcap-alone figure below
    probes, _ = derive(plans[0])
    servers = [f"198.18.{i // 250}.{i % 250 + 1}" for i in range(len(probes))]
    t = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        try:  # streamed, as verify does
            synthesize(probes, home_host(plans[0].resolved.home_net[0]), servers, sink)
        except TypeError:  # an older rulec builds it in memory
            synthesize(probes, home_host(plans[0].resolved.home_net[0]), servers)
    pcap = time.perf_counter() - t
    print(
        json.dumps(
            {
                "probes": sum(len(r.verdicts) for r in reports),
                "failed": sum(len(r.failures) for r in reports),
                "seconds": seconds,
                "pcap": pcap,
                "rss_self": rss_self,
                "rss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


def python_start() -> float:
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        runs.append(time.perf_counter() - t)
    return sorted(runs)[len(runs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suricata", default=os.environ.get("RULEC_SURICATA"))
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the median time is shown")
    ap.add_argument("--one")
    args = ap.parse_args()
    if args.one:
        return one(args.one)
    env = dict(os.environ, **({"RULEC_SURICATA": args.suricata} if args.suricata else {}))
    from rulec.verify.engine import suricata_version

    os.environ.update(env)
    base = python_start()
    print(f"Suricata {suricata_version()}; python3 -c pass: {base * 1000:.0f} ms; {os.cpu_count()} cores")
    print(
        f"{'case':<34}{'probes':>8}{'failed':>8}{'s':>7}{'x py':>7}{'probes/s':>10}{'pcap s':>8}{'RSS MB':>8}{'suricata MB':>13}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("reference example", ROOT / "examples/reference/policy.yaml")]
        for n in (int(s) for s in args.sizes.split(",") if s):
            path = Path(tmp) / f"policy-{n}.yaml"
            path.write_text(policy_text(n))
            cases.append((f"{n:,}-name domains policy", path))
        for label, path in cases:
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(path)], capture_output=True, text=True, env=env, check=True
                ).stdout
                runs.append(json.loads(out.splitlines()[-1]))
            f = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
            rss, rss_suricata = max(r["rss_self"] for r in runs), max(r["rss_children"] for r in runs)
            print(
                f"{label:<34}{f['probes']:>8,}{f['failed']:>8}{f['seconds']:>7.2f}{f['seconds'] / base:>7.0f}"
                f"{f['probes'] / f['seconds']:>10,.0f}{f['pcap']:>8.2f}{rss:>8.0f}{rss_suricata:>13.0f}"
            )


if __name__ == "__main__":
    main()

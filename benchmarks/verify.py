"""The verify rows of benchmarks/run.py: one `rulec verify` of a policy's every region, in this process, with
its figures printed as one JSON line (probes, failures, seconds end to end, pcap synthesis alone, the peak RSS of
Python and of Suricata).

    python benchmarks/verify.py --one POLICY        # run.py starts it once per row and run, with RULEC_SURICATA set
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
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


def main() -> None:
    ap = argparse.ArgumentParser(description="One verify run for benchmarks/run.py; print its figures as JSON.")
    ap.add_argument("--one", required=True, metavar="POLICY")
    one(ap.parse_args().one)


if __name__ == "__main__":
    main()

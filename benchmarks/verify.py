"""Print how fast `rulec verify` runs: the shipped example, and a 1,000-name allowlist.

    python benchmarks/verify.py

Figures only; nothing is asserted. Needs Suricata (scripts/setup.sh installs it).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulec.pipeline import plan  # noqa: E402
from rulec.verify import synthesize, verify_region  # noqa: E402
from rulec.verify.engine import suricata_version  # noqa: E402
from rulec.verify.probes import derive, home_host  # noqa: E402


def measure(policy: Path, label: str) -> None:
    _, plans, _, _ = plan(policy)
    region = plans[0]
    probes, _ = derive(region)
    t = time.perf_counter()
    pcap = synthesize(
        probes, home_host(region.resolved.home_net[0]), [f"198.18.{i // 250}.{i % 250 + 1}" for i in range(len(probes))]
    )
    build_pcap = time.perf_counter() - t
    report = verify_region(region, [])
    print(
        f"{label}: {len(report.verdicts):,} probes, {len(report.failures)} failed, "
        f"{report.seconds:.2f} s in all ({len(report.verdicts) / report.seconds:,.0f} probes/s); "
        f"pcap synthesis alone {build_pcap:.2f} s for {len(pcap) / 1e6:.1f} MB"
    )


def main() -> None:
    print(f"Suricata {suricata_version()}")
    measure(ROOT / "examples/reference/policy.yaml", "reference example")
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "policy.yaml"
        names = "\n".join(f"      - {'.' if i % 2 else ''}svc{i}.example{i % 13}.org" for i in range(1000))
        p.write_text(
            f"version: 1\ndeny_protocols: [SSH, FTP, ICMP]\nregions:\n  eu-west-1:\n"
            f"    home_net: [10.0.0.0/16]\n    allow:\n{names}\n"
        )
        measure(p, "1,000-name allowlist (half wildcards)")


if __name__ == "__main__":
    main()

"""Stream a generated gigabyte of Network Firewall logs through `rulec learn`; print throughput and peak RSS.

    python benchmarks/learn.py              # 1024 MiB of JSON lines (alert + netflow, in the envelope)
    python benchmarks/learn.py --mib 100    # a smaller run
    python benchmarks/learn.py --gzip       # the same, gzip-compressed as Network Firewall delivers to S3

The logs are written to a temporary directory and removed afterwards. `rulec learn` runs as a child
process, so its peak RSS is measured alone (getrusage of the children). Figures only, nothing asserted;
times are also given as a ratio to `python3 -c pass` on the same machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = """# benchmark workspace
version: 1
deny_protocols: [FTP, SSH, ICMP]
features: [workspace, artifacts, logs]
regions:
  us-east-1:
    home_net: [10.20.0.0/16]
"""
NAMES = (
    ["pypi.org", "files.pythonhosted.org", "repo1.maven.org", "cran.r-project.org", "github.com"]
    + [f"svc{i}.corp-mirror.io" for i in range(40)]
    + [f"bucket-{i}.s3.amazonaws.com" for i in range(200)]
    + [f"host{i}.vendor{i % 300}.example" for i in range(5000)]
)


def lines(rng: random.Random, count: int) -> list[bytes]:
    """`count` distinct log lines: about one blocked alert for every three netflow records."""
    out = []
    for i in range(count):
        ts = 1764316800 + i
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{i % 999999:06d}+0000"
        event = {
            "timestamp": stamp,
            "flow_id": rng.getrandbits(50),
            "src_ip": f"10.20.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "src_port": rng.randrange(32768, 60999),
            "dest_ip": f"203.0.113.{rng.randrange(1, 255)}",
            "dest_port": 443,
            "proto": "TCP",
            "app_proto": "tls",
        }
        if i % 4 == 0:
            event |= {"event_type": "alert", "tls": {"sni": rng.choice(NAMES), "version": "UNDETERMINED"}}
            event["alert"] = {
                "action": "blocked",
                "signature_id": 3,
                "rev": 0,
                "signature": "not matching any TLS allowlisted FQDNs",
                "category": "",
                "severity": 1,
            }
        else:
            event |= {"event_type": "netflow", "netflow": {"pkts": 5, "bytes": 1200, "start": stamp, "end": stamp}}
        zone = "us-east-1" + "abc"[i % 3]
        wrapped = {"firewall_name": "inspection", "availability_zone": zone, "event_timestamp": str(ts)}
        out.append(json.dumps(wrapped | {"event": event}, separators=(",", ":")).encode() + b"\n")
    return out


def generate(directory: Path, mib: int, compress: bool) -> tuple[list[Path], int, int]:
    """Files of about 128 MiB each until `mib` MiB of log text; returns (files, bytes of text, lines)."""
    rng = random.Random(13)
    block = b"".join(lines(rng, 20_000))
    per_block = block.count(b"\n")
    files, written, count = [], 0, 0
    target = mib * 2**20
    while written < target:
        path = directory / (f"alert-{len(files):04d}.log" + (".gz" if compress else ""))
        with gzip.open(path, "wb", compresslevel=1) if compress else path.open("wb") as fh:
            file_bytes = 0
            while file_bytes < 128 * 2**20 and written < target:
                fh.write(block)
                file_bytes += len(block)
                written += len(block)
                count += per_block
        files.append(path)
    return files, written, count


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="MiB of log text to generate (default 1024)")
    parser.add_argument("--gzip", action="store_true", help="gzip the files, as delivered to S3")
    args = parser.parse_args()
    baseline = min(run([sys.executable, "-c", "pass"]) for _ in range(3))
    with tempfile.TemporaryDirectory(prefix="rulec-learn-bench-") as tmp:
        work = Path(tmp)
        (work / "policy.yaml").write_text(POLICY)
        t = time.perf_counter()
        files, size, count = generate(work, args.mib, args.gzip)
        on_disk = sum(f.stat().st_size for f in files)
        print(
            f"generated {size / 2**20:,.0f} MiB of log text ({count:,} lines, {len(files)} file(s), "
            f"{on_disk / 2**20:,.0f} MiB on disk{', gzip' if args.gzip else ''}) in {time.perf_counter() - t:.1f} s"
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        cmd = [sys.executable, "-m", "rulec", "learn", str(work / "policy.yaml"), *map(str, files), "--format", "json"]
        seconds = run(cmd)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"rulec learn: {seconds:.1f} s = {size / 2**20 / seconds:,.1f} MiB/s of log text, "
        f"{count / seconds:,.0f} lines/s ({seconds / baseline:,.0f} x `python3 -c pass`, {baseline * 1000:.0f} ms)"
    )
    note = "" if peak > before else " (at most; an earlier child had this peak)"
    print(f"peak RSS of rulec learn: {peak / 1024:,.0f} MiB{note}")


if __name__ == "__main__":
    main()

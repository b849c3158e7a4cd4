"""python -m tests.emulator --port PORT: serve an emulated Network Firewall API on 127.0.0.1."""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from tests.emulator import Emulator
from tests.emulator.server import app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=4599)
    parser.add_argument(
        "--updating-describes",
        type=int,
        default=1,
        help="describes that report UPDATING after each write (exercises waiting)",
    )
    args = parser.parse_args()
    print(f"Network Firewall emulator on http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    run_simple("127.0.0.1", args.port, app(Emulator(args.updating_describes)), threaded=True)


if __name__ == "__main__":
    main()

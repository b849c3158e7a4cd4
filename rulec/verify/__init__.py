"""Verify stage: prove a region's rule groups on Suricata with real packets (runner.py), and the engine model
that explain and lint share (model.py).

The package itself imports nothing: `explain` and the build's risk gate use the model without loading the
Suricata runner, its pcap writer and its threads. `rulec.verify.verify_region` and the runner's other names
are looked up in runner.py on first use.
"""

from __future__ import annotations

import importlib
import importlib.util


def __getattr__(name: str):
    # `from rulec.verify import model` asks for the attribute before importing the submodule: let it import
    # (found as the import system finds it, so wheels, zips and bytecode-only installs behave alike)
    if name.startswith("__") or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(name)
    runner = importlib.import_module("rulec.verify.runner")
    try:
        return getattr(runner, name)
    except AttributeError:
        raise AttributeError(f"module 'rulec.verify' has no attribute '{name}'") from None

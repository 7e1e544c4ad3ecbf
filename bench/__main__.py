"""python -m bench [renew|monitor|simulated|renewals|image [OPTIONS]]: every benchmark in turn, or the one named (with its options)."""
from __future__ import annotations

import importlib
import importlib.util
import sys

BENCHES = {"renew": "bench.renew", "monitor": "bench.monitor_scan", "simulated": "bench.simulated_cloud",
           "renewals": "bench.renewals", "image": "bench.image"}


def present() -> dict[str, str]:
    """The benchmarks whose module exists in this checkout."""
    return {name: module for name, module in BENCHES.items() if importlib.util.find_spec(module)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    benches = present()
    if not argv:
        chosen, options = list(benches), []
    elif argv[0] in benches:
        chosen, options = [argv[0]], argv[1:]
    elif argv[0] in BENCHES:
        print(f"{BENCHES[argv[0]]} is not in this checkout", file=sys.stderr)
        return 2
    else:
        print(f"usage: python -m bench [{'|'.join(BENCHES)} [OPTIONS]]", file=sys.stderr)
        return 2
    status = 0
    for name in chosen:
        print(f"== bench {name} ==", flush=True)
        run = importlib.import_module(benches[name]).main
        status = max(status, run(options) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The function image's installed tree, as build/fn_tree.py makes it for `fn build` (here into .cache/fn-tree,
where the Fn end-to-end tests run it): its size against the target, and what takes the room.

    python -m bench image
"""
from __future__ import annotations

import runpy
import sys

from bench.emulator import ROOT

TREE = ROOT / ".cache" / "fn-tree"
TARGET_MB = 110.0
TOP = 6


def main(argv=None) -> int:
    fn_tree = runpy.run_path(str(ROOT / "build" / "fn_tree.py"))
    fn_tree["ensure"](TREE)

    def size(path) -> float:
        return fn_tree["size"](path) / 1e6

    total = size(TREE / "python") + size(TREE / "function")
    parts = sorted(((size(p), p.name) for p in (TREE / "python").iterdir() if p.is_dir()), reverse=True)
    print(f"function image tree (/python and /function): {total:.1f} MB of files; target <= {TARGET_MB:.0f} MB: "
          f"{'met' if total <= TARGET_MB else 'MISSED'}")
    print("  largest in /python (MB): " + ", ".join(f"{name} {mb:.1f}" for mb, name in parts[:TOP])
          + f"; /function {size(TREE / 'function'):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

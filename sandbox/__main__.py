"""python -m sandbox up --env-file FILE | install-pebble"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything, write the env file, run until SIGTERM/SIGINT")
    up.add_argument("--env-file", required=True, help="where to write `export NAME=value` lines")
    sub.add_parser("install-pebble", help="fetch Pebble >= 2.6 into .cache/pebble")
    args = parser.parse_args(argv)

    if args.command == "install-pebble":
        from .pebble import install
        install()
        return 0

    from .stack import Sandbox
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    with Sandbox() as box:
        box.write_env_file(args.env_file)
        print(box.summary(startup_seconds=time.monotonic() - started), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

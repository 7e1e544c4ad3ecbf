"""certmgr's command line: the same runs as the Fn function, from a shell.

    python -m certmgr run [--force] [--dry-run] [--json]   renew if needed, store, deploy
    python -m certmgr plan [--force] [--json]              what a run would do, changing nothing
    python -m certmgr status [--json]                      what is stored and served now
    python -m certmgr monitor [--json]                     expiry digest of every certificate

Configuration comes from CERTMGR_* environment variables (see README). Exit codes: 0 done, 1 the run
failed, 2 the configuration is wrong.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from .app import config_for
from .errors import ConfigError
from .renewal.result import Result


def main(argv=None, environ=None, policy=None) -> int:
    """`environ` (os.environ) and `policy` (the default retry policy) are there for tests to pass their own."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m certmgr", description="Keep TLS certificates alive on OCI.")
    parser.add_argument("command", choices=("run", "plan", "status", "monitor"))
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--force", action="store_true", help="renew now, whatever the certificate's state")
    parser.add_argument("--dry-run", action="store_true", help="observe and plan, change nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        config = config_for(environ, "monitor" if args.command == "monitor" else "renew")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.command == "monitor":
        from .monitor import run as monitor
        result = monitor(config)
    elif args.command == "status":
        from .renewal.status import status
        result = status(config)
    else:
        from .timing import DEFAULT
        from .renewal.runner import run
        result = run(config, force=args.force, dry_run=args.dry_run or args.command == "plan",
                     policy=policy or DEFAULT)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.render())
    if result.status != "failed":
        return 0
    # A renewal may find the configuration wrong only once it looks (e.g. names outside the zone).
    return 2 if isinstance(result, Result) and result.error_component == "config" else 1


if __name__ == "__main__":
    sys.exit(main())

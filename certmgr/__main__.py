"""certmgr's command line: the same runs as the Fn function, from a shell (`python -m certmgr COMMAND --help`).

Configuration comes from CERTMGR_* environment variables (see README). Exit codes: 0 done, 1 the run (or a
check) failed, 2 the configuration is wrong.
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

COMMANDS = {
    "check": ("prove everything a run needs, changing nothing",
              "One pass over what a renewal (CERTMGR_MODE=monitor: a monitor run) needs: the identity and its "
              "region, each zone and its nameservers, DNS and Vault writes (proven without a change), the key, "
              "the load balancer and its listeners, the CA and its account, the clock. Each failure says the "
              "fix; a refused call names the policy statement to add. Run it first after `terraform apply`."),
    "run": ("renew if needed, store, deploy",
            "Observe Vault, the listeners and the CA's advice; renew when due (or --force); store in Vault; deploy "
            "to the listeners or the Certificates service. Exit 1 if the run failed (the result says what it left)."),
    "plan": ("what a run would do and why, changing nothing", "Observe and plan only: nothing is written."),
    "status": ("what Vault holds and what each listener serves", "What is stored and served now, and the plan."),
    "monitor": ("the expiry digest of every certificate in the tenancy",
                "Scan the Certificates service in every subscribed region, the listed load balancers and "
                "certmgr's own certificate; send one digest by e-mail and Notifications; log each certificate."),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m certmgr", description="Keep TLS certificates alive on OCI.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, description) in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=description)
        command.add_argument("--json", action="store_true", help="print the result as JSON")
        command.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
        if name in ("run", "plan"):
            command.add_argument("--force", action="store_true", help="renew now, whatever the certificate's state")
        if name == "run":
            command.add_argument("--dry-run", action="store_true", help="observe and plan, change nothing")
    return top


def main(argv=None, environ=None, policy=None) -> int:
    """`environ` (os.environ) and `policy` (the default retry policy) are there for tests to pass their own."""
    environ = os.environ if environ is None else environ
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        config = config_for(environ, args.command if args.command in ("monitor", "check") else "renew")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from .timing import DEFAULT
    policy = policy or DEFAULT
    if args.command == "check":
        from .check import check
        result = check(config, policy=policy)
    elif args.command == "monitor":
        from .monitor import run as monitor
        result = monitor(config)
    elif args.command == "status":
        from .renewal.status import status
        result = status(config)
    else:
        from .renewal.runner import run
        result = run(config, force=args.force, dry_run=getattr(args, "dry_run", False) or args.command == "plan",
                     policy=policy)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.render())
    if result.status != "failed":
        return 0
    # A renewal may find the configuration wrong only once it looks (e.g. names outside the zone).
    return 2 if isinstance(result, Result) and result.error_component == "config" else 1


if __name__ == "__main__":
    sys.exit(main())

"""certmgr's command line: the same runs as the Fn function, from a shell (`python -m certmgr COMMAND --help`).

Configuration comes from CERTMGR_* environment variables (see README). Exit codes: 0 done, 1 the run (or a
check) failed, 2 the configuration is wrong.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading

from .app import config_for, quiet_libraries
from .errors import ConfigError, Interrupted
from .renewal.result import Result

SIGNALS = (signal.SIGINT, signal.SIGTERM)

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
    handler = logging.StreamHandler(sys.stderr)
    if not args.verbose:  # the result says it: its summary line is for the function's log (and -v)
        handler.addFilter(lambda record: not getattr(record, "outcome", False))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    quiet_libraries()
    try:
        config = config_for(environ, args.command if args.command in ("monitor", "check") else "renew")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    received: list[int] = []
    with interruptible(received):
        try:
            result = execute(args, config, policy)
        except Interrupted as exc:  # outside a renewal's own handling: nothing to report but that it stopped
            emit(json.dumps({"status": "interrupted", "error": f"{args.command}: interrupted by {exc.name}"})
                 if args.json else f"INTERRUPTED: {args.command} stopped by {exc.name} before it finished")
            return 128 + exc.signum
    emit(json.dumps(result.to_dict(), indent=2) if args.json else result.render())
    if received:
        return 128 + received[0]
    if result.status != "failed":
        return 0
    # A renewal may find the configuration wrong only once it looks (e.g. names outside the zone).
    return 2 if isinstance(result, Result) and result.error_component == "config" else 1


def execute(args, config, policy):
    from .timing import DEFAULT
    policy = policy or DEFAULT
    if args.command == "check":
        from .check import check
        return check(config, policy=policy)
    if args.command == "monitor":
        from .monitor import run as monitor
        return monitor(config)
    if args.command == "status":
        from .renewal.status import status
        return status(config)
    from .renewal.runner import run
    return run(config, force=args.force, dry_run=getattr(args, "dry_run", False) or args.command == "plan",
               policy=policy)


@contextlib.contextmanager
def interruptible(received: list[int]):
    """SIGINT and SIGTERM raise Interrupted once (in the main thread), then are ignored while the run cleans up
    and reports; the handlers are put back afterwards."""
    def interrupt(signum, frame):
        received.append(signum)
        for each in SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        raise Interrupted(signum)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {each: signal.signal(each, interrupt) for each in SIGNALS}
    try:
        yield
    finally:
        for each, handler in before.items():
            signal.signal(each, handler)


def emit(text: str) -> None:
    """Print the result; a reader that went away (`| head -1`) ends the output quietly, without a traceback."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to say, nor to flush


if __name__ == "__main__":
    sys.exit(main())

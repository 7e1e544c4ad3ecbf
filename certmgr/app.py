"""The entry both the Fn handler and the CLI use: env -> Config -> the chosen job -> (JSON body, ok).

The Fn request body is checked like the environment: a key certmgr does not know, or a value of the wrong
type, is refused with what is allowed (and the nearest key, for a typo), and nothing runs. `{"force":
"false"}` must never force a renewal, nor `{"dry-run": true}` (spelled like the CLI flag) run for real.
"""
from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from .settings.config import Config
from .errors import ConfigError

log = logging.getLogger("certmgr")

ACTIONS = ("renew", "plan", "monitor", "check")
BODY_KEYS = {"action": f"one of {', '.join(map(repr, ACTIONS))}", "force": "true or false",
             "dry_run": "true or false"}


@dataclass(frozen=True)
class Request:
    action: str | None = None
    force: bool = False
    dry_run: bool = False


def parse_request(body: object) -> Request:
    """The Fn body as a Request; ValueError naming every problem (and the allowed keys) otherwise."""
    if body is None or body == {}:
        return Request()
    if not isinstance(body, dict):
        raise ValueError(f"request body must be a JSON object with any of {', '.join(BODY_KEYS)}, "
                         f"not {type(body).__name__}")
    problems = []
    for key, value in body.items():
        if key not in BODY_KEYS:
            close = difflib.get_close_matches(str(key).replace("-", "_"), BODY_KEYS, n=1, cutoff=0.6)
            problems.append(f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        elif key == "action" and value not in ACTIONS:
            problems.append(f"action must be {BODY_KEYS['action']}, not {value!r}")
        elif key in ("force", "dry_run") and not isinstance(value, bool):
            problems.append(f"{key} must be a JSON boolean (true or false), not {type(value).__name__} {value!r}")
    if problems:
        raise ValueError("; ".join(problems) + f"; allowed keys: {', '.join(f'{k} ({v})' for k, v in BODY_KEYS.items())}")
    return Request(**body)


def config_for(env: Mapping[str, str], action: str | None) -> Config:
    """The Config for `action`: an explicit action overrides CERTMGR_MODE, which decides what is required
    (`check` checks the mode CERTMGR_MODE says)."""
    if action in (None, "check"):
        return Config.from_env(env)
    return Config.from_env({**env, "CERTMGR_MODE": "monitor" if action == "monitor" else "renew"})


def quiet_libraries() -> None:
    """The SDK's and the HTTP clients' own logging (oci.circuit_breaker, oci.base_client, urllib3, acme) only from
    WARNING: certmgr logs each step itself, and their INFO and DEBUG would bury it (or print a request in full)."""
    for name in ("oci", "urllib3", "acme", "josepy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def execute(env: Mapping[str, str], request: Request = Request()) -> tuple[dict, bool]:
    """Run what `request` asks. Every failure, the configuration's included, leaves one line in the log."""
    try:
        config = config_for(env, request.action)
    except ConfigError as exc:
        log.error("run failed: %s", one_line(str(exc)))
        return {"status": "failed", "error": str(exc), "state": "nothing was read or changed"}, False
    action = request.action or config.mode
    if action == "check":
        from .check import check
        result = check(config)
    elif action == "monitor":
        from .monitor import run as monitor
        result = monitor(config)
    else:
        from .renewal.runner import run
        result = run(config, force=request.force, dry_run=request.dry_run or action == "plan")
    return result.to_dict(), result.status != "failed"

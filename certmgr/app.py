"""The entry both the Fn handler and the CLI use: env -> Config -> the chosen job -> (JSON body, ok)."""
from __future__ import annotations

from collections.abc import Mapping

from .config import Config
from .errors import ConfigError

ACTIONS = ("renew", "plan", "monitor")


def execute(env: Mapping[str, str], *, action: str | None = None, force: bool = False,
            dry_run: bool = False) -> tuple[dict, bool]:
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        return {"status": "failed", "error": str(exc), "state": "nothing was read or changed"}, False
    action = action or config.mode
    if action not in ACTIONS:
        return {"status": "failed", "error": f"request: unknown action {action!r}; use one of {ACTIONS}"}, False
    if action == "monitor":
        from .monitor import run as monitor
        result = monitor(config, env)
    else:
        from .renew import run
        result = run(config, force=force, dry_run=dry_run or action == "plan")
    return result.to_dict(), result.status != "failed"

"""The entry both the Fn handler and the CLI use: env -> Config -> the chosen job -> (JSON body, ok)."""
from __future__ import annotations

from collections.abc import Mapping

from .config import Config
from .errors import ConfigError

ACTIONS = ("renew", "plan", "monitor")


def config_for(env: Mapping[str, str], action: str | None) -> Config:
    """The Config for `action`: an explicit action overrides CERTMGR_MODE, which decides what is required."""
    if action is None:
        return Config.from_env(env)
    return Config.from_env({**env, "CERTMGR_MODE": "monitor" if action == "monitor" else "renew"})


def execute(env: Mapping[str, str], *, action: str | None = None, force: bool = False,
            dry_run: bool = False) -> tuple[dict, bool]:
    if action is not None and action not in ACTIONS:
        return {"status": "failed", "error": f"request: unknown action {action!r}; use one of {ACTIONS}"}, False
    try:
        config = config_for(env, action)
    except ConfigError as exc:
        return {"status": "failed", "error": str(exc), "state": "nothing was read or changed"}, False
    action = action or config.mode
    if action == "monitor":
        from .monitor import run as monitor
        result = monitor(config, env)
    else:
        from .renew import run
        result = run(config, force=force, dry_run=dry_run or action == "plan")
    return result.to_dict(), result.status != "failed"

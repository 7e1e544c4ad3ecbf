"""Fn entry point: `handler(ctx, data)`, a thin shell around the same run the CLI does.

The FDK loads this file by path (as module `func`), so imports are absolute and the package root is put on
`sys.path`. The request body may hold `{"action": "renew"|"plan"|"monitor"|"check", "force": true,
"dry_run": true}` and nothing else (see `app.parse_request`); an empty body runs the mode from CERTMGR_MODE. A
failed run, a failed check, or a body certmgr refuses, answers 502 (a failed invocation) with a body that says
what failed and what state was left.
"""
import io
import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fdk import response  # noqa: E402

from certmgr.app import execute, parse_request, quiet_libraries  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
# The FDK has already set the root logger to DEBUG (so basicConfig did nothing): without this, every HTTP
# request and every ACME exchange in full would land in the function's log.
logging.getLogger().setLevel(logging.INFO)
quiet_libraries()


log = logging.getLogger("certmgr")


def _body(data: io.BytesIO | None):
    raw = data.getvalue() if data is not None else b""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError("request body must be JSON, e.g. {\"action\": \"plan\"}") from None


def handler(ctx, data: io.BytesIO = None):
    try:
        request = parse_request(_body(data))
    except ValueError as exc:
        log.error("run failed: request: %s", exc)
        body, ok = {"status": "failed", "error": f"request: {exc}", "state": "nothing was read or changed"}, False
    else:
        body, ok = execute(os.environ, request)
    return response.Response(ctx, response_data=json.dumps(body), headers={"Content-Type": "application/json"},
                             status_code=200 if ok else 502)

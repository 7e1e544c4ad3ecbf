"""Fn entry point: `handler(ctx, data)`, a thin shell around the same run the CLI does.

The FDK loads this file by path (as module `func`), so imports are absolute and the package root is put on
`sys.path`. The request body may hold `{"action": "renew"|"plan"|"monitor", "force": true, "dry_run": true}`;
an empty body runs the mode from CERTMGR_MODE. A failed run answers 502 (a failed invocation) with a body
that says what failed and what state was left.
"""
import io
import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fdk import response  # noqa: E402

from certmgr.app import execute  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
# The FDK has already set the root logger to DEBUG (so basicConfig did nothing): without this, every HTTP
# request and every ACME exchange in full would land in the function's log.
logging.getLogger().setLevel(logging.INFO)


def _request(data: io.BytesIO | None) -> dict:
    raw = data.getvalue() if data is not None else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ValueError("request body must be JSON, e.g. {\"action\": \"plan\"}") from None
    if not isinstance(body, dict):
        raise ValueError("request body must be a JSON object")
    return body


def handler(ctx, data: io.BytesIO = None):
    try:
        request = _request(data)
    except ValueError as exc:
        body, ok = {"status": "failed", "error": f"request: {exc}"}, False
    else:
        body, ok = execute(os.environ, action=request.get("action"), force=bool(request.get("force")),
                           dry_run=bool(request.get("dry_run")))
    return response.Response(ctx, response_data=json.dumps(body), headers={"Content-Type": "application/json"},
                             status_code=200 if ok else 502)

"""A client of the sandbox's control endpoint (SANDBOX_CONTROL): faults, options, state, calls, mails."""
from __future__ import annotations

import json
import urllib.request


def call(base: str, method: str, path: str, body: dict | None = None, timeout: float = 30):
    """`method path` on the control endpoint at `base` with a JSON body; the JSON answer, or None."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        text = reply.read()
    return json.loads(text) if text else None

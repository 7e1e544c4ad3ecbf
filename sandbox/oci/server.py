"""The emulator's HTTP server: region prefix, routing, signature check, faults, errors, control API.

`/regions/<region>/<version>/...` addresses one region; a bare `/<version>/...` is the home region.
`/_control/...` is the unsigned control API that tests and the demo use to inspect state and inject
faults; it is not part of OCI.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import apigateway, certificates, dns, email, errors, loadbalancer, monitoring, observability, vault
from .faults import Fault
from .http import Reply, Request, Route
from .world import CHOICES, World

SERVICES = (dns, vault, loadbalancer, certificates, observability, monitoring, email, apigateway)


def _control_state(req: Request) -> Reply:
    world = req.world
    state: dict = {"tenancy": world.tenancy_id, "compartments": list(world.compartments.values()),
                   "homeRegion": world.home_region, "regions": {}}
    for (module, region), backend in world.backends():
        state["regions"].setdefault(region, {})[module.rsplit(".", 1)[-1]] = backend.snapshot()
    return Reply(body=state)


def _control_calls(req: Request) -> Reply:
    op = req.arg("operation")
    with req.world.lock:
        calls = [c for c in req.world.calls if op is None or c["operation"] == op]
    return Reply(body=calls)


def _control_add_fault(req: Request) -> Reply:
    fault = Fault.from_json(req.json())
    req.world.faults.add(fault)
    return Reply(body=fault.to_json())


def _control_clear_faults(req: Request) -> Reply:
    req.world.faults.clear()
    return Reply(status=204)


def _control_options(req: Request) -> Reply:
    """Numbers (delays in seconds) or, for the options in `world.CHOICES`, one of their choices."""
    changes = {}
    for name, value in req.json().items():
        choices = CHOICES.get(name)
        if choices and value not in choices:
            raise errors.InvalidParameter(f"Option {name} must be one of {', '.join(choices)}")
        changes[name] = value if choices else float(value)
    req.world.options.update(changes)
    return Reply(body=req.world.options)


def _control_session_token(req: Request) -> Reply:
    from .auth import pem_private
    data = req.json()
    world = req.world
    token, key = world.auth.mint_session_token(world.tenancy_id, data.get("compartmentId", world.tenancy_id),
                                               int(data.get("lifetime", 3600)))
    return Reply(body={"token": token, "privateKeyPem": pem_private(key), "region": world.home_region})


CONTROL_ROUTES = [
    Route("GET", "/_control/health", "control.health", lambda req: Reply(body={"ok": True})),
    Route("GET", "/_control/state", "control.state", _control_state),
    Route("GET", "/_control/calls", "control.calls", _control_calls),
    Route("POST", "/_control/faults", "control.add_fault", _control_add_fault),
    Route("DELETE", "/_control/faults", "control.clear_faults", _control_clear_faults),
    Route("POST", "/_control/options", "control.options", _control_options),
    Route("POST", "/_control/session-token", "control.session_token", _control_session_token),
    Route("GET", "/_control/mails", "control.mails", lambda req: Reply(body=req.world.mailbox())),
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: "OciServer"

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        pass

    def _now(self) -> float:
        """The service's time: this machine's, moved by the option `clock_offset` (seconds)."""
        return time.time() + float(self.server.world.options.get("clock_offset", 0.0))

    def date_time_string(self, timestamp=None):
        """Every reply's Date header, on the service's time (as OCI's tell a client how far off its clock is)."""
        return super().date_time_string(self._now() if timestamp is None else timestamp)

    def _handle(self):
        world = self.server.world
        request_id = uuid.uuid4().hex.upper()
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        path, region = split.path, world.home_region
        headers = {k.lower(): v for k, v in self.headers.items()}
        operation, principal, status = "unknown", "", 500
        try:
            control = path.startswith("/_control/")
            if path.startswith("/regions/"):
                _, _, region, rest = path.split("/", 3)
                path = "/" + rest
                if region not in world.regions:
                    raise errors.NotAuthorizedOrNotFound(f"Region {region!r} is not subscribed")
            if not control:  # OCI authenticates before it looks at the path
                principal = world.auth.verify(self.command, self.path, headers, body, self._now())
            route, params = self.server.match(self.command, path, control)
            operation = route.operation
            req = Request(self.command, path, parse_qs(split.query, keep_blank_values=True), headers, body,
                          world, region, params, principal)
            if not control:
                latency, fault = world.faults.check(operation, path, region)
                if latency:
                    time.sleep(latency)
                if fault:
                    raise fault
            with world.lock:
                reply = route.handler(req)
        except errors.OciError as exc:
            reply = Reply(exc.status, exc.body(), dict(exc.headers))
        except Exception as exc:  # a bug in the emulator: answer like OCI would, keep serving
            import traceback
            traceback.print_exc()
            reply = Reply(500, {"code": "InternalServerError", "message": f"sandbox bug: {exc!r}"})
        status = reply.status
        if not path.startswith("/_control/"):
            world.record(operation, region, status, principal, path, split.query)
        self._send(reply, request_id)

    def _send(self, reply: Reply, request_id: str):
        payload = reply.body
        ctype = reply.headers.pop("content-type", None)
        if isinstance(payload, (bytes, bytearray)):
            data = bytes(payload)
            ctype = ctype or "application/octet-stream"
        elif payload is None:
            data = b""
        else:
            data = json.dumps(payload).encode()
            ctype = ctype or "application/json"
        self.send_response(reply.status)
        self.send_header("opc-request-id", request_id)
        if ctype:
            self.send_header("content-type", ctype)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class OciServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), _Handler)
        self.world = world
        self.routes = [r for m in SERVICES for r in m.ROUTES]
        self.control_routes = CONTROL_ROUTES + [r for m in SERVICES for r in getattr(m, "CONTROL_ROUTES", [])]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def match(self, method: str, path: str, control: bool) -> tuple[Route, dict]:
        path_matched = False
        for route in self.control_routes if control else self.routes:
            found = route.regex.match(path)
            if found:
                path_matched = True
                if route.method == method:
                    return route, {k: unquote(v) for k, v in found.groupdict().items()}
        if path_matched:
            raise errors.OciError(f"Method {method} not allowed on {path}")
        raise errors.NotAuthorizedOrNotFound(f"Not found: {method} {path}")

    def start(self) -> "OciServer":
        self._thread = threading.Thread(target=self.serve_forever, name="oci-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

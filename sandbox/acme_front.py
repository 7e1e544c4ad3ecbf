"""A front for Pebble that can answer like a busy CA: rate limits, Retry-After, any ACME problem, on demand.

Pebble has no rate limits. This HTTPS reverse proxy forwards every request to Pebble unchanged (Pebble builds
its URLs from the request's Host, so every URL it hands out points back at the front) and records each one,
so a test can see which ACME requests a run made. `fail(path_glob, ...)` makes the next matching requests
answer with an RFC 8555 problem document instead, as Let's Encrypt does when a limit is hit.
"""
from __future__ import annotations

import fnmatch
import http.client
import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class AcmeFault:
    path: str                  # glob over the request path: "/order-plz", "*renewalInfo*"
    status: int = 429
    problem: str = "rateLimited"
    detail: str = "too many new orders recently"
    retry_after: int | None = None
    count: int = 1             # how many matching requests get the fault


class AcmeFront:
    """`directory_url` and `ca_bundle` replace Pebble's in certmgr's environment."""

    def __init__(self, pebble, workdir: str | Path):
        self.pebble = pebble
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) in arrival order
        self.faults: list[AcmeFault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.ca_bundle = self.workdir / "acme-front-ca.pem"
        self.directory_url = ""
        # The directory's meta.caaIdentities (RFC 8555 7.1.1), as Let's Encrypt publishes ["letsencrypt.org"];
        # Pebble publishes none.
        self.caa_identities: list[str] = []

    def fail(self, path: str, **fault) -> None:
        with self._lock:
            self.faults.append(AcmeFault(path, **fault))

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def paths(self, since: int = 0) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self.requests[since:]]

    def _fault_for(self, path: str) -> AcmeFault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fnmatch.fnmatchcase(path, fault.path):
                    fault.count -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def start(self) -> "AcmeFront":
        ca = trustme.CA(organization_name="certmgr sandbox ACME front")
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        upstream = self.pebble.directory_url.split("/")[2]
        upstream_context = self.pebble.ssl_context()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                fault = front._fault_for(path)
                if fault:
                    problem = json.dumps({"type": f"urn:ietf:params:acme:error:{fault.problem}",
                                          "detail": fault.detail, "status": fault.status}).encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/problem+json")
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", str(fault.retry_after))
                    self.send_header("Content-Length", str(len(problem)))
                    self.end_headers()
                    self.wfile.write(problem)
                    front._record(self.command, path, fault.status)
                    return
                connection = http.client.HTTPSConnection(upstream, context=upstream_context, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    reply = connection.getresponse()
                    data = reply.read()
                finally:
                    connection.close()
                if path == "/dir" and front.caa_identities and reply.status == 200:
                    directory = json.loads(data)
                    directory.setdefault("meta", {})["caaIdentities"] = front.caa_identities
                    data = json.dumps(directory).encode()
                self.send_response(reply.status)
                for name, value in reply.getheaders():
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                front._record(self.command, path, reply.status)

            do_GET = do_POST = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.directory_url = f"https://127.0.0.1:{self._server.server_address[1]}/dir"
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

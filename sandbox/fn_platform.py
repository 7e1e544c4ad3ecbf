"""The Fn platform's side of the container contract, for running certmgr's handler locally.

Fn starts the image's entrypoint (`fdk <func.py> handler`) with `FN_FORMAT=http-stream` and
`FN_LISTENER=unix:<path>`, waits for the socket, then POSTs `/call` with `Fn-Call-Id` and `Fn-Deadline`.
This module does exactly that against a local process, so tests exercise the real FDK.
"""
from __future__ import annotations

import datetime as dt
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNC = ROOT / "certmgr" / "func.py"
START_TIMEOUT = 5.0  # Fn gives the FDK this long to listen


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass
class Invocation:
    status: int
    headers: dict
    body: bytes


class FnContainer:
    """One hot function container: started once, invoked any number of times."""

    def __init__(self, env: dict[str, str], *, func: Path = FUNC, handler: str = "handler"):
        self._dir = tempfile.mkdtemp(prefix="fn-")  # short path: unix sockets allow ~107 bytes
        self.socket = os.path.join(self._dir, "lsnr.sock")
        self.log = Path(self._dir) / "container.log"
        self.env = {**env, "FN_FORMAT": "http-stream", "FN_LISTENER": f"unix:{self.socket}",
                    "FN_APP_ID": "ocid1.fnapp.oc1..sandbox", "FN_FN_ID": "ocid1.fnfunc.oc1..sandbox",
                    "FN_APP_NAME": "certmgr", "FN_FN_NAME": "certmgr", "PYTHONPATH": str(ROOT)}
        self.cmd = [str(Path(sys.executable).parent / "fdk"), str(func), handler]
        self.process: subprocess.Popen | None = None

    def start(self) -> "FnContainer":
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=str(ROOT))
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"FDK did not listen on {self.socket} within {START_TIMEOUT}s:\n"
                                   f"{self.logs()[-2000:]}")
            time.sleep(0.02)
        return self

    def invoke(self, body: bytes = b"", timeout: float = 300.0) -> Invocation:
        deadline = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=timeout)
        conn = _UnixConnection(self.socket, timeout=timeout + 5)
        conn.request("POST", "/call", body=body, headers={
            "Fn-Call-Id": uuid.uuid4().hex, "Fn-Deadline": deadline.isoformat().replace("+00:00", "Z"),
            "Content-Type": "application/json", "Fn-Http-Method": "POST",
            "Fn-Http-Request-Url": "/invoke"})
        reply = conn.getresponse()
        result = Invocation(reply.status, dict(reply.getheaders()), reply.read())
        conn.close()
        return result

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

"""The Fn platform's side of the container contract, for running certmgr's handler locally.

Fn starts the image's entrypoint (`fdk <func.py> handler`) with `FN_FORMAT=http-stream` and
`FN_LISTENER=unix:<path>`, waits for the socket, then POSTs `/call` with `Fn-Call-Id` and `Fn-Deadline`.
This module does exactly that against a local process, so tests exercise the real FDK, run from the
function's installed tree as the image holds it (build/fn_tree.py, into .cache/fn-tree), with the
Dockerfile's entrypoint, PYTHONPATH and working directory: what the function needs and the tree lacks
fails here.
"""
from __future__ import annotations

import datetime as dt
import functools
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
TREE = ROOT / ".cache" / "fn-tree"
# The Dockerfile's ENTRYPOINT, PYTHONPATH and WORKDIR, with the image's / at TREE.
ENTRYPOINT = [str(TREE / "python" / "bin" / "fdk"), str(TREE / "function" / "certmgr" / "func.py"), "handler"]
PYTHONPATH = f"{TREE / 'function'}:{TREE / 'python'}"
WORKDIR = TREE / "function"
START_TIMEOUT = 5.0  # Fn gives the FDK this long to listen


@functools.cache
def _build_tree() -> None:
    """The tree brought up to date with the sources, once per process (a no-op when it is)."""
    subprocess.run([sys.executable, str(ROOT / "build" / "fn_tree.py"), str(TREE)], check=True,
                   stdout=subprocess.DEVNULL)


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

    def __init__(self, env: dict[str, str]):
        self._dir = tempfile.mkdtemp(prefix="fn-")  # short path: unix sockets allow ~107 bytes
        self.socket = os.path.join(self._dir, "lsnr.sock")
        self.log = Path(self._dir) / "container.log"
        self.env = {**env, "FN_FORMAT": "http-stream", "FN_LISTENER": f"unix:{self.socket}",
                    "FN_APP_ID": "ocid1.fnapp.oc1..sandbox", "FN_FN_ID": "ocid1.fnfunc.oc1..sandbox",
                    "FN_APP_NAME": "certmgr", "FN_FN_NAME": "certmgr", "PYTHONPATH": PYTHONPATH}
        # The interpreter itself, not a venv's (sys._base_executable), without its site-packages (-S): all
        # the function imports must come from the tree.
        self.cmd = [sys._base_executable, "-S", *ENTRYPOINT]
        self.process: subprocess.Popen | None = None

    def start(self) -> "FnContainer":
        _build_tree()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=WORKDIR)
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

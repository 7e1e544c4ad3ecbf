"""Real endpoints standing in for load balancer listeners, each on 127.0.0.1 with an ephemeral port.

A TLS handshake with a listener is the only proof that a deployment reached the load balancer, so every
emulated listener is a live server: with a `TlsConfig` it presents that certificate chain, without one it
speaks plain HTTP (as an OCI listener whose SSL configuration was dropped does, so TLS clients fail).
Each connection gets a handshake and a one-line HTTP 200, then is closed.
"""
from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

_TLS_VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
                 "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class TlsConfig:
    """What a listener presents; equal configs mean no rebuild is needed."""
    certificate_chain: str                 # PEM: leaf first, then intermediates
    private_key: str                       # PEM, unencrypted
    protocols: tuple[str, ...] = ("TLSv1.2",)
    server_order_preference: bool = False
    session_resumption: bool = True
    client_ca: str | None = None           # set: clients must present a certificate issued by it


def _load_cert_chain(context: ssl.SSLContext, chain_pem: str, key_pem: str) -> None:
    """`load_cert_chain` only reads files: hand it an anonymous in-memory file so no key touches disk."""
    data = (chain_pem.strip() + "\n" + key_pem.strip() + "\n").encode()
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("lb-listener", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            context.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="lb-listener-") as private_dir:  # mode 0700, removed at once
        path = Path(private_dir) / "chain.pem"
        path.touch(mode=0o600)
        path.write_bytes(data)
        context.load_cert_chain(str(path))


def make_context(config: TlsConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = sorted((_TLS_VERSIONS[p] for p in config.protocols), key=lambda v: v.value)
    context.minimum_version, context.maximum_version = versions[0], versions[-1]
    if config.server_order_preference:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if not config.session_resumption:
        context.options |= ssl.OP_NO_TICKET
    if config.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=config.client_ca)
    _load_cert_chain(context, config.certificate_chain, config.private_key)
    return context


class ListenerServer:
    """One listener. `configure` swaps what it presents; connections already open keep the old one."""

    def __init__(self, name: str, tls: TlsConfig | None = None, host: str = "127.0.0.1"):
        self.name = name
        self.tls: TlsConfig | None = None
        self._context: ssl.SSLContext | None = None
        self.configure(tls)
        self._closed = threading.Event()
        self._sock = socket.create_server((host, 0))
        self._thread = threading.Thread(target=self._serve, name=f"lb-listener-{name}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    def configure(self, tls: TlsConfig | None) -> None:
        context = make_context(tls) if tls else None
        self._context, self.tls = context, tls   # one assignment each: a connection sees old or new

    def close(self) -> None:
        """Returns at once: shutting the socket down wakes the blocked `accept` (a close alone does not)."""
        self._closed.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=2)

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn, self._context), daemon=True).start()

    def _answer(self, conn: socket.socket, context: ssl.SSLContext | None) -> None:
        conn.settimeout(5)
        try:
            if context:
                conn = context.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            body = f"sandbox listener {self.name}\n".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:  # includes ssl.SSLError: a failed handshake is the client's problem
            pass
        finally:
            conn.close()

"""A Space's stable local URL: a small HTTP reverse proxy on its own port, in front of the app.

It plays the part of `https://{subdomain}.hf.space`: it answers 503 while the app is not
running, and for private Spaces lets through only requests whose bearer token may read the
Space, as the Hub's gate does. Responses are streamed chunk by chunk (SSE works).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Gateway"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    gateway: Gateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    error_message_format = '{"error": "%(message)s"}'
    error_content_type = "application/json"

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging; the Space's own run log is what users read."""

    def _proxy(self) -> None:
        gateway = self.server.gateway
        target = gateway.target()
        if target is None:
            self._reply(503, f"Space is not running ({gateway.describe()})")
            return
        if not gateway.allows(self.headers.get("Authorization")):
            self._reply(404, "Space not found")  # the Hub hides private Spaces
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection("127.0.0.1", target, timeout=600)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            upstream = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._reply(502, f"the app did not answer: {exc}")
            return
        try:
            self.send_response(upstream.status, upstream.reason)
            for key, value in upstream.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            known_length = upstream.getheader("Content-Length")
            if known_length is not None:
                self.send_header("Content-Length", known_length)
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            while chunk := upstream.read1(64 * 1024) if self.command != "HEAD" else b"":
                self.wfile.write(chunk)
                self.wfile.flush()
        except (OSError, http.client.HTTPException):
            # The client left, or the app went away mid-response (a restart): hang up.
            self.close_connection = True
        finally:
            connection.close()

    def _reply(self, status: int, message: str) -> None:
        body = ('{"error": "' + message.replace('"', "'") + '"}').encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # http.server dispatches on these names.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _proxy  # noqa: N815


class Gateway:
    """Listens on `host:port` for one Space and forwards to wherever its app listens now."""

    def __init__(
        self,
        host: str,
        port: int,
        target: Callable[[], int | None],
        allows: Callable[[str | None], bool],
        describe: Callable[[], str],
    ) -> None:
        self.target = target
        self.allows = allows
        self.describe = describe
        try:
            self._server = _Server((host, port), _Handler)
        except OSError:
            self._server = _Server((host, 0), _Handler)  # the old port is taken: take a new one
        self._server.gateway = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port actually listened on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The Space's app URL."""
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop listening and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])

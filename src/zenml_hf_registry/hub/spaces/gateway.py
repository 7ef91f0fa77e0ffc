"""A Space's stable local URL: a small HTTP reverse proxy on its own port, in front of the app.

It plays the part of `https://{subdomain}.hf.space`: for private Spaces it lets through only
requests whose bearer token may read the Space, as the Hub's gate does, and drops that token
before the app sees it; it answers 503 while the app is not running. Request bodies (bounded)
and responses are streamed chunk by chunk (SSE works); a stalled client is dropped.
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
    # A client that stalls mid-request is dropped (socket timeout, seconds).
    timeout = 60
    server: _Server
    error_message_format = '{"error": "%(message)s"}'
    error_content_type = "application/json"

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging; the Space's own run log is what users read."""

    def _proxy(self) -> None:
        gateway = self.server.gateway
        # The gate first: to an outsider a private Space does not exist, running or not.
        if not gateway.allows(self.headers.get("Authorization")):
            self._reply(404, "Space not found")  # the Hub hides private Spaces
            return
        target = gateway.target()
        if target is None:
            self._reply(503, f"Space is not running ({gateway.describe()})")
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._reply(411, "send a Content-Length: chunked request bodies are not forwarded")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= gateway.max_body:
            self._reply(413, f"request body over {gateway.max_body} bytes, or a bad length")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if gateway.private:
            # The visitor's Hub token opened the gate; the app never sees it.
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        connection = http.client.HTTPConnection("127.0.0.1", target, timeout=600)
        try:
            # The body is streamed through in chunks, never held whole in memory.
            connection.putrequest(
                self.command, self.path, skip_host=True, skip_accept_encoding=True
            )
            for key, value in headers.items():
                connection.putheader(key, value)
            connection.endheaders()
            left = length
            while left > 0:
                chunk = self.rfile.read(min(left, 64 * 1024))
                if not chunk:
                    raise ConnectionError("the client sent less than its Content-Length")
                connection.send(chunk)
                left -= len(chunk)
            upstream = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self.close_connection = True
            self._reply(502, f"the app did not answer: {exc}")
            connection.close()
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
        is_private: Callable[[], bool] = lambda: False,
        max_body: int = 1024**3,
    ) -> None:
        self.target = target
        self.allows = allows
        self.describe = describe
        self._is_private = is_private
        self.max_body = max_body
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
    def private(self) -> bool:
        """Whether the Space is private now (its gate admits Hub tokens, then drops them)."""
        return self._is_private()

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

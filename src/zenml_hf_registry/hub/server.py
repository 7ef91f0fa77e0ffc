"""Run a local Hub: in a background thread for tests and the demo, or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from zenml_hf_registry.hub.app import create_app
from zenml_hf_registry.hub.control import ControlClient
from zenml_hf_registry.hub.settings import HubSettings, load_or_create_dev_token

__all__ = ["LocalHub", "SharedModeError", "check_loopback", "serve_forever"]


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


# Request heads (line and headers) larger than this are refused before the app runs. h11,
# not httptools: httptools puts no bound on the size of headers.
MAX_REQUEST_HEAD = 64 * 1024


def _config(app: ASGIApp, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan="on",
        http="h11",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        timeout_keep_alive=30,
        date_header=False,  # the app stamps an exact Date on every response
        **options,
    )


LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SharedModeError(ValueError):
    """The local Hub was asked to serve beyond loopback, which its trust model refuses."""


def check_loopback(host: str, settings: HubSettings) -> None:
    """Refuse a bind beyond loopback: the local Hub trusts one developer on one machine.

    Space apps listen on the host's network (both runtimes), so a private Space's app port
    would be reachable around the Hub's gate by anyone who can reach the host. Until Spaces
    get a network of their own, the Hub and its Spaces are served on loopback only.
    """
    if host not in LOOPBACK or settings.space_host not in LOOPBACK:
        raise SharedModeError(
            f"refusing to serve on {host} (Spaces on {settings.space_host}): the local Hub is "
            "for one developer on loopback; Space apps listen on the host network, where "
            "anyone who can reach it could call a private Space's app around the gate. "
            "Serve on 127.0.0.1 and reach it through an SSH tunnel if you need it elsewhere."
        )


class LocalHub:
    """A local Hub served by uvicorn in a daemon thread, on a free loopback port by default.

    Use it as a context manager::

        with LocalHub(HubSettings(data_dir=tmp, tokens=(spec,))) as hub:
            api = HfApi(endpoint=hub.url, token=spec.token)
    """

    def __init__(self, settings: HubSettings, host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings = settings
        self.host = host
        self._requested_port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = create_app(settings)

    @property
    def port(self) -> int:
        """The port actually listened on (known once started)."""
        if self._socket is None:
            raise RuntimeError("the local Hub is not started")
        return int(self._socket.getsockname()[1])

    @property
    def admin_token(self) -> str:
        """The control plane's bearer token (`/_emulator/*`)."""
        token: str = self.app.state.hub.admin_token
        return token

    @property
    def control(self) -> ControlClient:
        """A client of this server's control plane (stats, faults, Space counters)."""
        return ControlClient(self.url, self.admin_token)

    @property
    def url(self) -> str:
        """The endpoint to give `HfApi(endpoint=...)` or `HF_ENDPOINT`."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> LocalHub:
        """Bind the port, start serving and return once the server answers."""
        check_loopback(self.host, self.settings)
        self._socket = _bind(self.host, self._requested_port)
        config = _config(self.app, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"local-hub-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local Hub did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, wait for in-flight requests, and release the port and the database."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    settings: HubSettings, host: str, port: int, echo: Callable[[str], None] = print
) -> None:
    """Serve in the foreground (the `hub serve` command), printing how to reach the Hub."""
    check_loopback(host, settings)
    if not settings.tokens:
        settings = settings.model_copy(
            update={"tokens": (load_or_create_dev_token(settings.data_dir),)}
        )
    sock = _bind(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    echo(f"Local Hub serving {settings.data_dir} at {url}")
    echo(f"  HF_ENDPOINT={url}")
    app = create_app(settings)
    for spec in settings.tokens:
        # The operator asked for this server's tokens; the dev token is printed once, here only.
        echo(f"  token for {spec.user} ({spec.role.value}): {spec.token}")
    echo(f"  control plane (/_emulator) admin token: {app.state.hub.admin_token}")
    config = _config(app, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])

"""Running an app under uvicorn: in the foreground (`tradegraph serve`) or on a thread.

The server listens on 127.0.0.1 unless told otherwise; a host other machines can reach is
refused unless `allow_remote` says so, because keys travel in clear over plain HTTP (put TLS
in front). The socket is bound before the server starts, so a port in use is one line, and
`--port 0` can pick a free port whose URL is then known. In the foreground, Ctrl-C or SIGTERM
stops the server gracefully (the streams under way get a few seconds) and returns, so the
caller closes the engine and releases the data directory.
"""

from __future__ import annotations

import errno
import gc
import ipaddress
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

import uvicorn
from starlette.types import ASGIApp

from api.server import DEFAULT_HOST
from core.errors import UserError

GRACE_S: Final = 5
"""How long the streams under way may take to finish once the server is told to stop."""
START_TIMEOUT_S: Final = 30.0


def check_host(host: str, *, allow_remote: bool, given_as: str = "--host") -> None:
    """One line refusing a host other machines could reach, unless `allow_remote`; the line
    names the host as it was given (`given_as`: the flag, or the setting)."""
    if allow_remote or is_loopback(host):
        return
    raise UserError(
        f"{given_as} {host} would let other machines reach the API, whose keys travel in clear "
        "over HTTP: keep 127.0.0.1 (put a TLS proxy in front), or add --allow-remote to mean it"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: a free port), or one line saying why not."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a port: give 1 to 65535 (0 picks a free one)")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise UserError(f"cannot open a socket for {host}: {exc.strerror}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"port {port} on {host} is in use (another server?): pass --port"
            ) from None
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL a client uses to reach the server listening on `sock`."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(app: ASGIApp, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        timeout_graceful_shutdown=GRACE_S,
        lifespan="on",
        server_header=False,
    )
    return uvicorn.Server(config)


class _StopSignalError(Exception):
    """SIGTERM, raised again by uvicorn after its graceful shutdown."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _StopSignalError


def serve_forever(app: ASGIApp, sock: socket.socket, *, log_level: str = "info") -> None:
    """Serve `app` on `sock` until Ctrl-C or SIGTERM, then return (after a graceful stop).

    What is alive once the app is built (the modules, the engine, its stores: some 200,000
    objects) lives as long as the server, so it is moved out of the garbage collector's
    reach (`gc.freeze`): a full collection would otherwise walk all of it, a pause of a tenth
    of a second for every request under way."""
    gc.collect()
    gc.freeze()
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _server(app, log_level).run(sockets=[sock])
    except (KeyboardInterrupt, _StopSignalError):
        pass  # uvicorn raises the signal again once it has stopped: stopping is the point
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


@contextmanager
def serving_in_thread(
    app: ASGIApp, host: str = DEFAULT_HOST, port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """Serve `app` on a thread while the block runs; the block gets the base URL. The server
    is stopped (gracefully) when the block ends."""
    sock = bind(host, port)
    server = _server(app, log_level)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the server did not start (its log says why)")
        time.sleep(0.005)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(GRACE_S + 5)
        sock.close()

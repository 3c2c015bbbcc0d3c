"""A fork server for the tests' `tradegraph` processes: a real process per command, without
paying for Python's imports each time (about two seconds of CPU a process, hundreds of times).

One server per test process, started on first use: it imports the CLI and what commands load
(no thread is running then), and forks a child per request. The child gets the requester's
argv, environment, working directory and pipes, resets signal dispositions, and runs
`api.cli.main()` exactly as the console script does; its exit status is sent back. The child
is a process of its own: it can be signalled and killed like one (`ForkedProcess.pid`).

`shim_folder()` gives a folder holding a `tradegraph` executable that forwards its argv,
environment, working directory and standard streams (its stdin too, so a command fed by a
pipe, such as `tradegraph chat`, reads it) to the server, so that commands run by a shell (the
README's) are forked too; it forwards SIGINT and SIGTERM and exits as the child did.

`TESTS_FORK_SERVER=0` turns it off: every command then starts a fresh interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRELOAD = (
    "api.cli", "api.run_command", "api.audit_command", "api.audit_verify", "api.risk_command",
    "api.halts", "api.eval_command",
    "graphs.session", "graphs.assembly", "graphs.agent.start", "memory.session_stores",
    "agents.offline", "core.market.source", "evals.harness",
    # what a run imports lazily (about a second of a run's start): the vector store and its
    # client, the embeddings, the Claude analyst's modules (the reflector's), the ledger
    "chromadb", "chromadb.api.rust", "chromadb.telemetry.product.posthog", "wordllama",
    "memory.embeddings", "agents.claude", "tools.backtest", "core.ledger", "langchain_core",
    "graphs.live_market", "tools.execution.exchange_access",
)  # fmt: skip
PROJECT = ("api.", "evals.", "graphs.", "memory.", "core.", "agents.", "tools.", "risk.")
ENABLED = os.environ.get("TESTS_FORK_SERVER", "1") != "0"

_server: subprocess.Popen[bytes] | None = None
_address: str | None = None
_lock = threading.Lock()


class ForkedProcess:
    """A forked `tradegraph` child, driven like a subprocess.Popen."""

    def __init__(self, connection: socket.socket, pid: int) -> None:
        self._connection = connection
        self.pid = pid
        self.returncode: int | None = None

    def send_signal(self, number: int) -> None:
        if self.poll() is None:  # as Popen: a child that ended is not signalled
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._connection.settimeout(timeout)
            try:
                data = _receive_exactly(self._connection, 4)
            except TimeoutError:
                raise subprocess.TimeoutExpired("tradegraph", timeout or 0) from None
            (status,) = struct.unpack("!i", data)
            self.returncode = status
            self._connection.close()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            self._connection.setblocking(False)
            try:
                data = self._connection.recv(4, socket.MSG_PEEK)
            except BlockingIOError:
                return None
            finally:
                self._connection.setblocking(True)
            if len(data) == 4:
                return self.wait()
        return self.returncode


class PipedProcess(ForkedProcess):
    """A forked child whose output this process reads (Popen with PIPE, text=True)."""

    def __init__(self, child: ForkedProcess, out_read: int, err_read: int) -> None:
        super().__init__(child._connection, child.pid)
        self._chunks: dict[int, list[bytes]] = {out_read: [], err_read: []}
        self._fds = (out_read, err_read)
        self._readers = [
            threading.Thread(target=self._drain, args=(fd,), daemon=True) for fd in self._fds
        ]
        for reader in self._readers:
            reader.start()

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            self._chunks[fd].append(pipe.read())

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        out, err = (b"".join(self._chunks[fd]).decode("utf-8", "replace") for fd in self._fds)
        return out, err


def popen(argv: list[str], *, env: dict[str, str], cwd: str | Path | None) -> PipedProcess:
    """Like subprocess.Popen(tradegraph argv, stdout=PIPE, stderr=PIPE, text=True)."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        child = start(argv, env=env, cwd=cwd, stdout=out_write, stderr=err_write)
    finally:
        os.close(out_write)
        os.close(err_write)
    return PipedProcess(child, out_read, err_read)


def start(
    argv: list[str], *, env: dict[str, str], cwd: str | Path | None, stdout: int, stderr: int
) -> ForkedProcess:
    """Fork a child running `tradegraph argv` with these pipes (file descriptors)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(_ensure_server())
    return _send(connection, argv, env, str(cwd or os.getcwd()), stdout, stderr)


def _send(
    connection: socket.socket, argv: list[str], env: dict[str, str], cwd: str, *fds: int
) -> ForkedProcess:
    request = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()
    socket.send_fds(connection, [struct.pack("!i", len(request)) + request], list(fds))
    (pid,) = struct.unpack("!i", _receive_exactly(connection, 4))
    return ForkedProcess(connection, pid)


def run(
    argv: list[str], *, env: dict[str, str], cwd: str | Path | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Like subprocess.run(capture_output=True, text=True) of `tradegraph argv`."""
    child = popen(argv, env=env, cwd=cwd)
    try:
        out, err = child.communicate(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate(30)
        raise
    return subprocess.CompletedProcess(["tradegraph", *argv], child.wait(), out, err)


SHIM = """#!{python} -S
import sys
sys.path.insert(0, {root!r})
from tests.zygote import shim_main
shim_main({address!r})
"""


def shim_folder(folder: Path) -> Path:
    """`folder` with a `tradegraph` that runs through this process's fork server (put it first
    on a shell's PATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "tradegraph"
    shim.write_text(SHIM.format(python=sys.executable, root=str(ROOT), address=_ensure_server()))
    shim.chmod(0o755)
    return folder


def shim_main(address: str) -> None:
    """The shim: this process's argv, environment, folder and streams, run by a forked child;
    exits with its status (killed by a signal: killed by the same one)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(address)
    child = _send(connection, sys.argv[1:], dict(os.environ), os.getcwd(), 1, 2, 0)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda received, _frame: child.send_signal(received))
    status = child.wait()
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    sys.exit(status)


def _ensure_server() -> str:
    global _server, _address
    with _lock:
        if _server is not None and _server.poll() is None and _address is not None:
            return _address
        folder = Path(os.environ.get("TMPDIR", "/tmp"))
        _address = str(folder / f"tradegraph-zygote-{os.getpid()}.sock")
        Path(_address).unlink(missing_ok=True)
        _server = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote", _address],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
        )
        atexit.register(_stop_server)
        while not Path(_address).exists():
            if _server.poll() is not None:
                raise RuntimeError("the tests' fork server did not start")
            threading.Event().wait(0.02)
        return _address


def _stop_server() -> None:
    if _server is not None and _server.poll() is None:
        _server.terminate()
        _server.wait(10)
    if _address is not None:
        Path(_address).unlink(missing_ok=True)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = connection.recv(size - len(data))
        if not part:
            raise ConnectionError("the fork server closed the connection")
        data += part
    return data


# -- the server ------------------------------------------------------------------------------


def _load_embedder_weights() -> None:
    """The default text embedder, built once here and inherited by every child (reading its
    weights is about half a second of each run's start); none is no loss, the child builds it."""
    from memory.embeddings import text_embedder

    with contextlib.suppress(Exception):
        text_embedder("wordllama")


def serve(address: str) -> None:
    """Import, listen, fork a child per request; no thread ever runs here (a fork copies
    only the thread that forks: a lock another one held would stay locked in the child)."""
    import select

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for name in PRELOAD:
        importlib.import_module(name)
    _load_embedder_weights()
    root.handlers[:], root.level = handlers, level  # wordllama calls basicConfig(INFO) on import
    if threading.active_count() != 1:  # a fork would copy a lock some thread may hold
        raise RuntimeError(f"an import started a thread: {threading.enumerate()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address + ".tmp")
    listener.listen(64)
    os.replace(address + ".tmp", address)
    parent = os.getppid()
    children: dict[int, socket.socket] = {}
    while os.getppid() == parent:
        ready, _, _ = select.select([listener], [], [], 0.02)
        if ready:
            connection, _ = listener.accept()
            pid = _fork_for(connection, listener)
            try:
                connection.sendall(struct.pack("!i", pid))
                children[pid] = connection
            except OSError:
                connection.close()
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            connection = children.pop(pid, None)
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
                connection.close()


def _fork_for(connection: socket.socket, listener: socket.socket) -> int:
    message, fds, _flags, _addr = socket.recv_fds(connection, 1 << 20, 3)
    (size,) = struct.unpack("!i", message[:4])
    body = message[4:]
    while len(body) < size:
        body += connection.recv(size - len(body))
    pid = os.fork()
    if pid == 0:
        listener.close()
        _child(json.loads(body), fds, connection)
    for fd in fds:
        os.close(fd)
    return pid


def _consoles_sized_by_the_environment() -> None:
    """rich reads COLUMNS and LINES when a Console is made, which for the CLI's module consoles
    was at import, in the server: read them again from the requester's environment."""
    from rich.console import Console

    columns, lines = os.environ.get("COLUMNS", ""), os.environ.get("LINES", "")
    for name, module in list(sys.modules.items()):
        console = getattr(module, "console", None) if name.startswith(PROJECT) else None
        if isinstance(console, Console):
            console._width = int(columns) if columns.isdigit() else None
            console._height = int(lines) if lines.isdigit() else None


def _child(request: dict, fds: list[int], connection: socket.socket) -> None:
    code = 1
    try:
        connection.close()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stdin = fds[2] if len(fds) > 2 else os.open(os.devnull, os.O_RDONLY)  # a shim's stdin
        os.dup2(stdin, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in {stdin, *fds}:
            os.close(fd)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        asked = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = asked  # what a fresh interpreter would put first
        importlib.invalidate_caches()
        _consoles_sized_by_the_environment()
        script = Path(sys.executable).parent / "tradegraph"
        sys.argv = [str(script), *request["argv"]]
        main = types.ModuleType("__main__")  # what a spawned child re-imports: the script
        main.__file__ = str(script)
        sys.modules["__main__"] = main
        import time

        import api.cli

        api.cli.PROCESS_START = time.perf_counter()
        try:
            api.cli.main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1])

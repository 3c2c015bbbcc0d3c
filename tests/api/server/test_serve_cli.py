"""`tradegraph serve` as an operator runs it: a real process on a free port of 127.0.0.1,
answering with a key, stopped by Ctrl-C or SIGTERM with the engine closed and the data
directory released; a host other machines could reach refused in one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from graphs.chat.service import ChatEngine
from tests.api.server.server_support import make_keys
from tests.cli import TRADEGRAPH, assert_one_line_error, tradegraph
from tests.graphs.chat.chat_support import chat_settings

SETTINGS = {"TRADEGRAPH_MARKET": "synthetic:7", "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}


def env_for(root: Path) -> dict[str, str]:
    outside = ("ANTHROPIC_", "TRADEGRAPH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    return env | SETTINGS | {"TRADEGRAPH_DATA_DIR": str(root)}


def start_server(
    root: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ("--port", "0")
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`tradegraph serve ARGS` in the background (`env` over the test settings); it, its base
    URL and what it printed."""
    server = subprocess.Popen(
        [str(TRADEGRAPH), "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(root) | (env or {}),
    )
    assert server.stdout is not None
    printed = []
    for line in server.stdout:
        printed.append(line.rstrip("\n"))
        if line.startswith("OpenAPI docs at "):
            url = line.split()[3].removesuffix("/docs")
            _wait_until_it_answers(url)
            return server, url, printed
    server.kill()
    raise AssertionError(f"the server did not start: {printed} {server.communicate()}")


def _wait_until_it_answers(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.02)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_then_stops_cleanly_and_releases_the_data_directory(
    tmp_path: Path, stop: signal.Signals
) -> None:
    token = make_keys(tmp_path)["trader"]
    server, url, printed = start_server(tmp_path)
    try:
        with httpx.stream(
            "POST",
            f"{url}/v1/chat",
            json={"thread": "t1", "text": "/risk"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as response:
            body = response.read().decode()
    finally:
        server.send_signal(stop)
        out, err = server.communicate(timeout=60)

    assert printed[0].startswith(f"serving the chat at {url}/v1/chat · account chat")
    assert response.status_code == 200 and "event: answer" in body
    assert server.returncode == 0, err
    assert out.strip().endswith("stopped: the threads are kept, the data directory released")
    assert "Traceback" not in err and token not in out + err
    with ChatEngine(chat_settings(tmp_path)) as engine:  # the lock was released
        assert engine.view("t1").messages[0].text == "/risk"


def test_serve_without_keys_says_every_request_will_be_refused_and_where_to_sign_in(
    tmp_path: Path,
) -> None:
    server, url, printed = start_server(tmp_path)
    try:
        page = httpx.get(f"{url}/", timeout=30)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)

    assert printed[1].startswith("no API keys yet: every request gets 401 until one is made")
    assert printed[2] == f"dashboard at {url}/ (sign in with an API key)"
    assert page.status_code == 200 and '<form id="login"' in page.text


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com"])
def test_a_host_others_can_reach_is_refused_without_allow_remote(tmp_path: Path, host: str) -> None:
    done = tradegraph("serve", "--host", host, env=env_for(tmp_path))

    assert_one_line_error(done, f"--host {host} would let other machines reach the API")
    assert "--allow-remote" in done.stderr


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        done = tradegraph("serve", "--port", str(port), env=env_for(tmp_path))

    assert_one_line_error(done, f"port {port} on 127.0.0.1 is in use")


def test_a_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    done = tradegraph("serve", "--port", "70000", env=env_for(tmp_path))

    assert_one_line_error(done, "--port 70000 is not a port")

"""`[server]` in tradegraph.toml: where `tradegraph serve` listens, its read and write limits
per key and its CORS origins; the flags override it; a bad value is one line naming the key.
Real `tradegraph serve` processes on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx

from tests.api.server.server_support import make_keys
from tests.api.server.test_serve_cli import env_for, start_server
from tests.cli import assert_one_line_error, tradegraph

OPS = "https://ops.example.com"
OTHER = "https://desk.example.com"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, port: int) -> dict[str, str]:
    path = tmp_path / "tradegraph.toml"
    path.write_text(
        f'[server]\nport = {port}\nwrite_rate = 0.1\nwrite_burst = 1\ncors_origins = ["{OPS}"]\n'
    )
    return {"TRADEGRAPH_CONFIG": str(path)}


def _allowed(url: str, origin: str) -> str | None:
    """The origin a CORS preflight from `origin` is let through for (None: refused)."""
    preflight = httpx.options(
        f"{url}/v1/portfolio",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    return preflight.headers.get("access-control-allow-origin")


def test_serve_listens_limits_and_opens_cors_as_the_server_settings_say(tmp_path: Path) -> None:
    token = make_keys(tmp_path)["trader"]
    port = _free_port()
    server, url, _ = start_server(tmp_path, _config(tmp_path, port), args=())
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            first = client.post("/v1/chat", json={"thread": "t1", "text": "/risk"}, timeout=30)
            second = client.post("/v1/chat", json={"thread": "t1", "text": "/risk"}, timeout=30)
        origins = (_allowed(url, OPS), _allowed(url, OTHER))
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)

    assert url == f"http://127.0.0.1:{port}"
    assert first.status_code == 200, first.text
    assert second.status_code == 429 and second.headers["Retry-After"] == "10"
    assert second.json()["error"]["code"] == "rate_limited"
    assert origins == (OPS, None)


def test_the_flags_override_the_server_settings(tmp_path: Path) -> None:
    port = _free_port()
    args = ("--port", "0", "--cors-origin", OTHER)
    server, url, _ = start_server(tmp_path, _config(tmp_path, port), args=args)
    try:
        origins = (_allowed(url, OPS), _allowed(url, OTHER))
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)

    assert url != f"http://127.0.0.1:{port}"
    assert origins == (None, OTHER)


def test_a_bad_server_setting_is_one_line_naming_the_key(tmp_path: Path) -> None:
    env = env_for(tmp_path) | {"TRADEGRAPH_SERVER__WRITE_BURST": "0"}

    done = tradegraph("serve", env=env)

    assert_one_line_error(done, "invalid setting server.write_burst")


def test_an_origin_with_a_path_or_a_wildcard_is_one_line(tmp_path: Path) -> None:
    path = tradegraph("serve", "--cors-origin", f"{OPS}/app", env=env_for(tmp_path))
    wildcard = tradegraph(
        "serve", env=env_for(tmp_path) | {"TRADEGRAPH_SERVER__CORS_ORIGINS": '["*"]'}
    )

    assert_one_line_error(path, f"--cors-origin '{OPS}/app' is not an origin")
    assert_one_line_error(wildcard, "invalid setting server.cors_origins", "'*' is not an origin")


def test_a_host_from_the_settings_others_can_reach_is_refused_naming_the_setting(
    tmp_path: Path,
) -> None:
    env = env_for(tmp_path) | {"TRADEGRAPH_SERVER__HOST": "0.0.0.0"}

    done = tradegraph("serve", env=env)

    assert_one_line_error(done, "[server] host = 0.0.0.0 would let other machines reach the API")
    assert "--allow-remote" in done.stderr

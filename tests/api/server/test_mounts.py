"""The seam other surfaces are served through: a mounted ASGI app behind the same key auth,
told who calls, its lifespan run inside the server's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.server.app import create_app
from api.server.mounts import MountedApp
from tests.api.server.server_support import error_of, make_keys, served_chat


def probe_app() -> Starlette:
    """An app answering with who called it, as the server told it."""

    async def whoami(request: Request) -> JSONResponse:
        caller = request.state.caller
        return JSONResponse({"name": caller.name, "role": caller.role, "path": request.url.path})

    return Starlette(routes=[Route("/whoami", whoami)])


def test_a_mounted_app_is_told_who_calls(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    mount = MountedApp(path="/probe", app=probe_app(), role="trader")
    with served_chat(tmp_path, mounts=[mount]) as served, served.client(tokens["trader"]) as c:
        response = c.get("/probe/whoami")

    assert response.json() == {"name": "trader", "role": "trader", "path": "/probe/whoami"}


def test_a_mounted_app_is_behind_the_same_keys_and_its_role(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    mount = MountedApp(path="/probe", app=probe_app(), role="trader")
    with (
        served_chat(tmp_path, mounts=[mount]) as served,
        served.client() as anonymous,
        served.client(tokens["viewer"]) as viewer,
        served.client(tokens["admin"]) as admin,
    ):
        nobody = anonymous.get("/probe/whoami")
        too_low = viewer.get("/probe/whoami")
        above = admin.get("/probe/whoami")

    assert error_of(nobody)[:2] == (401, "missing_key")
    assert error_of(too_low) == (
        403,
        "role_too_low",
        "key 'viewer' is a viewer's: /probe needs a trader's key or above",
    )
    assert above.json()["role"] == "admin"


def test_a_mounts_lifespan_runs_inside_the_servers(tmp_path: Path) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        seen.append("started")
        yield
        seen.append("stopped")

    mount = MountedApp(path="/probe", app=probe_app(), role="viewer", lifespan=lifespan)
    with served_chat(tmp_path, mounts=[mount]):
        assert seen == ["started"]

    assert seen == ["started", "stopped"]


@pytest.mark.parametrize("path", ["mcp", "/", "/mcp/", "/v1/extra", "/docs"])
def test_a_mount_path_that_would_shadow_or_is_malformed_is_refused(
    tmp_path: Path, path: str
) -> None:
    mount = MountedApp(path=path, app=probe_app(), role="viewer")

    with pytest.raises(ValueError, match="mount path"):
        create_app(object(), object(), mounts=[mount])  # type: ignore[arg-type]

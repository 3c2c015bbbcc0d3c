"""`tradegraph serve`: the chat over HTTP (FastAPI under uvicorn), on 127.0.0.1 by default.

It opens the chat engine on the data directory (holding its writer lock while it serves, as
`tradegraph chat` does), the key store beside it, and the surfaces mounted beside the chat
routes, then serves until Ctrl-C or SIGTERM; the engine is closed and the data directory
released before it returns. While it serves it watches the agents' pulses, and tells the
`[notify]` channels of one that stalled without a word (`api.server.agent_watch`).
"""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

import typer
from pydantic import ValidationError

from api.chat_cli import AccountOption, ChatMarketOption
from api.options import DataDirOption
from core.errors import UserError
from core.server_settings import ServerSettings

NO_KEYS = (
    "no API keys yet: every request gets 401 until one is made "
    "(`tradegraph keys create --name NAME --role trader`)"
)


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Listen on this address (a loopback one unless --allow-remote) "
            "[default: [server] host, 127.0.0.1]."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Listen on this port (0: a free one) [default: [server] port, 8765]."),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --host other machines can reach (keys travel in clear: use TLS).",
        ),
    ] = False,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            help="An origin whose web pages may call the API, e.g. https://ops.example.com "
            "(repeat for more; instead of [server] cors_origins; none: CORS stays closed).",
        ),
    ] = None,
    account: AccountOption = None,
    market: ChatMarketOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the chat over HTTP: POST /v1/chat streams a turn's events; the dashboard at /;
    OpenAPI at /docs."""
    from api.server.agent_watch import watching_agents
    from api.server.app import create_app
    from api.server.mounts import surface_mounts
    from api.server.rate_limit import KeyBuckets, RateLimit
    from api.server.routers import service_routers
    from api.server.serve import bind, check_host, serve_forever, url_of
    from core.api_keys import open_api_keys
    from core.backends import storage_for
    from core.operator_audit import OperatorAudit
    from core.settings import load_settings
    from graphs.chat.models import configured_model
    from graphs.chat.service import ChatEngine

    settings = load_settings(data_dir=data_dir, market=market)
    server = served_settings(settings.server, host=host, port=port, cors_origins=cors_origin)
    given_as = "--host" if host is not None else "[server] host ="
    check_host(server.host, allow_remote=allow_remote, given_as=given_as)
    sock = bind(server.host, server.port)
    with (
        closing(sock),
        ChatEngine(
            settings, model=configured_model(settings), account=account, market=market
        ) as engine,
        closing(open_api_keys(storage_for(settings, engine.root))) as keys,
        watching_agents(engine.root, settings) as unwatched,
    ):
        writes = KeyBuckets(RateLimit(server.write_rate, server.write_burst))
        app = create_app(
            engine,
            keys,
            mounts=surface_mounts(engine),
            routers=service_routers(
                engine,
                keys,
                rate_limit=RateLimit(server.read_rate, server.read_burst),
                writes=writes,
            ),
            audit=OperatorAudit(engine.root),
            cors_origins=server.cors_origins,
            writes=writes,
        )
        url = url_of(sock)
        desk = engine.desk
        typer.echo(
            f"serving the chat at {url}/v1/chat · account {desk.account_name} · market "
            f"{desk.market_spec} · data {engine.root}"
        )
        if not keys.listed():
            typer.echo(NO_KEYS)
        if unwatched is not None:
            typer.echo(f"agent stalls not notified: {unwatched}")
        typer.echo(f"dashboard at {url}/ (sign in with an API key)")
        typer.echo(f"OpenAPI docs at {url}/docs · Ctrl-C stops")
        serve_forever(app, sock)
    typer.echo("stopped: the threads are kept, the data directory released")


FLAGS = {"host": "--host", "port": "--port", "cors_origins": "--cors-origin"}


def served_settings(
    settings: ServerSettings,
    *,
    host: str | None,
    port: int | None,
    cors_origins: list[str] | None,
) -> ServerSettings:
    """`[server]` with the flags given over it, validated as the settings are: a bad flag is
    one line naming it and its value."""
    given = {"host": host, "port": port, "cors_origins": cors_origins}
    flags = {name: value for name, value in given.items() if value is not None}
    try:
        return ServerSettings.model_validate({**settings.model_dump(), **flags})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0])
        raise UserError(f"{FLAGS[name]} {first['msg'].removeprefix('Value error, ')}") from None

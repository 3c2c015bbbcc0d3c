"""`tradegraph agent start|list|status|stop|logs`: scheduled agents from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.dates import parse_date

agent_app = typer.Typer(
    help="Autonomous agents: wake at every candle close, trade unattended, show their pulse.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="The agent's name.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where traces, ledger and state go [default: ./.tradegraph]."),
]


@agent_app.command("start")
def start(
    name: Annotated[
        str | None, typer.Option(help="The agent's name: restart it by this name.")
    ] = None,
    market: Annotated[
        str | None,
        typer.Option(
            help="exchange:NAME (real time), or a recording or synthetic:SEED played at --speed."
        ),
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="BTC/USDT, or several (BTC/USDT,ETH/USDT): one portfolio.")
    ] = None,
    timeframe: Annotated[str | None, typer.Option(help="Timeframe such as 1m or 1h.")] = None,
    broker: Annotated[
        str, typer.Option(help="paper (the default), sandbox or live (see `tradegraph run`).")
    ] = "paper",
    account: Annotated[
        str | None, typer.Option(help="The account traded [default: agent-NAME on paper].")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            help="Play a recording or the synthetic market this many times faster than real "
            "time (600: a 1h candle every 6 s) [default: 1]."
        ),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="A played recording's first candle (UTC).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Its last candle (UTC).")] = None,
    bars: Annotated[int | None, typer.Option(help="Play at most this many candles.")] = None,
    analyst: Annotated[
        str | None,
        typer.Option(help="anthropic, offline, stress or module:Class (as `tradegraph run`)."),
    ] = None,
    live_confirmed: Annotated[
        bool,
        typer.Option(
            "--i-understand-live-trading",
            help="The second confirmation --broker live needs (with the settings' mode).",
        ),
    ] = False,
    agents: Annotated[
        Path | None,
        typer.Option(
            help="Several agents in this one process: a TOML file of [[agents]] tables with "
            "these options as keys (name, market, symbol, timeframe, speed, ...)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per decision.")] = False,
) -> None:
    """Start an agent in the foreground (systemd, Docker or a terminal keeps it): it decides at
    every candle close until stopped (SIGTERM or Ctrl-C finish the decision in progress)."""
    from api.agent_command import start_agents
    from core.errors import UserError
    from graphs.agent.start import AgentRequest, agents_from_file

    if agents is not None:
        given = [flag for flag, value in (("--name", name), ("--market", market),
                 ("--symbol", symbol), ("--timeframe", timeframe), ("--account", account),
                 ("--speed", speed), ("--from", from_), ("--to", to), ("--bars", bars),
                 ("--analyst", analyst)) if value is not None]  # fmt: skip
        if given:
            raise UserError(f"--agents names each agent's options in its file: drop {given[0]}")
        start_agents(agents_from_file(agents, data_dir), quiet=quiet)
        return
    if name is None:
        raise UserError("name the agent: --name NAME (or start several with --agents FILE.toml)")
    start_agents(
        [
            AgentRequest(
                name=name,
                market=market,
                symbol=symbol,
                timeframe=timeframe,
                broker=broker,
                account=account,
                speed=speed,
                start=parse_date(from_, "--from") if from_ else None,
                end=parse_date(to, "--to", end_of_day=True) if to else None,
                bars=bars,
                analyst=analyst,
                data_dir=data_dir,
                live_confirmed=live_confirmed,
            )
        ],
        quiet=quiet,
    )


@agent_app.command("list")
def list_agents(data_dir: DataDirOption = None) -> None:
    """Every agent of the data directory at a glance: running, stalled, halted, stopped, crashed."""
    from api.agent_command import show_list

    show_list(data_dir)


@agent_app.command("status")
def status(
    name: NameArgument,
    data_dir: DataDirOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="The pulse as JSON.")] = False,
) -> None:
    """One agent: its state, last decision, positions, equity and next wake-up."""
    from api.agent_command import show_status

    show_status(name, data_dir, as_json=json_output)


@agent_app.command("stop")
def stop(
    name: NameArgument,
    data_dir: DataDirOption = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the decision in progress to finish.")
    ] = 120.0,
) -> None:
    """Stop a running agent (SIGTERM): it finishes the decision in progress, then exits."""
    from api.agent_command import stop_agent

    stop_agent(name, data_dir, timeout=timeout)


@agent_app.command("logs")
def logs(
    name: NameArgument,
    data_dir: DataDirOption = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many of the last lines.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
) -> None:
    """The agent's decisions and events, one line each, as it wrote them."""
    from api.agent_command import show_logs

    show_logs(name, data_dir, lines=lines, follow=follow)

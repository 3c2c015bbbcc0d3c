"""The `tradegraph` command. Heavy libraries are imported inside commands so `--help` is instant."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# typer ships its own copy of click; its exceptions are what `app(standalone_mode=False)` raises.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from api.backtest_cli import backtest
from api.chat_cli import ask, chat
from api.mcp_surface.command import register_mcp
from api.options import (
    BarsOption,
    DataDirOption,
    FromOption,
    MarketOption,
    SymbolOption,
    TimeframeOption,
    ToOption,
)
from api.serve_cli import serve
from core.dates import parse_date

if TYPE_CHECKING:
    from api.run_command import RunRequest

PROCESS_START = time.perf_counter()

app = typer.Typer(
    name="tradegraph",
    help=(
        "LLM-assisted trading agent with a deterministic risk validator, "
        "honest replay and an audit trail."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.command()
def run(
    market: MarketOption = None,
    symbol: SymbolOption = None,
    timeframe: TimeframeOption = None,
    bars: BarsOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    analyst: Annotated[
        str | None,
        typer.Option(
            help="anthropic (Claude; the default when ANTHROPIC_API_KEY is set), offline (the "
            "default without a key), stress (tests the limits), or module:Class (your own)."
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the summary as JSON here.")
    ] = None,
    cassette: Annotated[
        Path | None,
        typer.Option(
            help="Anthropic calls: replay this cassette (no key needed), or record it if it "
            "does not exist yet (needs ANTHROPIC_API_KEY)."
        ),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            help="on: recall similar past situations and lessons (the default); off: decide "
            "without memory."
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="Trade this account (created on first use): its ledger, positions, stops "
            "and breaker state carry over from run to run [default: one of the run's own]."
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            help="Carry on a run that was killed or stopped (RUN_ID), from its last sealed "
            "trace, with the options it was started with."
        ),
    ] = None,
    broker: Annotated[
        str,
        typer.Option(
            help="paper (simulated fills, the default), sandbox (the exchange's test network, "
            "with TRADEGRAPH_EXECUTION__API_KEY/API_SECRET) or live (real money: needs "
            'execution.mode = "live" in the settings and --i-understand-live-trading).'
        ),
    ] = "paper",
    live_confirmed: Annotated[
        bool,
        typer.Option(
            "--i-understand-live-trading",
            help="The second confirmation --broker live needs (with the settings' mode).",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run the agent over a market, one decision per candle, and summarize. On an exchange
    market (without --from/--to) it trades in real time, as candles close, until stopped."""
    from dataclasses import replace

    from api.run_command import execute_run

    request = _run_request(
        market, symbol, timeframe, bars, from_, to, analyst, cassette, data_dir, memory
    )
    if resume is not None:
        given = [flag for flag, value in (("--market", market), ("--symbol", symbol),
                 ("--timeframe", timeframe), ("--bars", bars), ("--from", from_), ("--to", to),
                 ("--analyst", analyst), ("--cassette", cassette), ("--memory", memory),
                 ("--account", account)) if value is not None]  # fmt: skip
        if given:
            from core.errors import UserError

            raise UserError(f"--resume carries on with the run's own options: drop {given[0]}")
    request = replace(
        request, account=account, broker=broker, live_confirmed=live_confirmed, realtime=True
    )
    execute_run(
        request, json_path=json_path, quiet=quiet, process_start=PROCESS_START, resume=resume
    )


def _run_request(
    market: str | None,
    symbol: str | None,
    timeframe: str | None,
    bars: int | None,
    from_: str | None,
    to: str | None,
    analyst: str | None,
    cassette: Path | None,
    data_dir: Path | None,
    memory: str | None,
) -> RunRequest:
    """What `run` and `eval` share: the market, its window, the analyst, memory."""
    from api.run_command import RunRequest

    return RunRequest(
        market=market,
        symbol=symbol,
        timeframe=timeframe,
        bars=bars,
        start=parse_date(from_, "--from"),
        end=parse_date(to, "--to", end_of_day=True),
        analyst=analyst,
        cassette=cassette,
        data_dir=data_dir,
        memory=_on_off(memory, "--memory"),
    )


def _on_off(value: str | None, flag: str) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("on", "off"):
        return value.lower() == "on"
    from core.errors import UserError

    raise UserError(f"{flag} {value!r}: use {flag} on or {flag} off")


@app.command("eval")
def evaluate(
    market: MarketOption = None,
    symbol: SymbolOption = None,
    timeframe: TimeframeOption = None,
    bars: BarsOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    analyst: Annotated[
        str | None, typer.Option(help="offline (the default without a key), anthropic or stress.")
    ] = None,
    cassette: Annotated[
        Path | None,
        typer.Option(help="Anthropic calls: replay this cassette, or record it with a key."),
    ] = None,
    memory: Annotated[str | None, typer.Option(help="on (the default) or off.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for report.json, report.html and the traces [default: eval/RUN_ID]."
        ),
    ] = None,
    check_lookahead: Annotated[
        bool,
        typer.Option(
            "--check-lookahead",
            help="Replay again with the future cut off at random points; exit 1 if any "
            "decision changes.",
        ),
    ] = False,
    trades_csv: Annotated[
        Path | None,
        typer.Option(
            "--trades-csv",
            help="Also write the trade list here as CSV (trades.csv beside the report always).",
        ),
    ] = None,
    suite: Annotated[
        Path | None,
        typer.Option(help="A suite TOML file: many markets x configurations, one report."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="With --suite: local processes [default: the suite's, else 2]."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="With --suite: every job on the Ray cluster at HOST:PORT, or local for a "
            "private instance for this run (needs tradegraph[ray]).",
        ),
    ] = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="A B",
            help="Compare two reports of the same candles (report.json or its folder): B "
            "against A, with bootstrap intervals; --out DIR keeps comparison.json and .html.",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Replay a market through the agent and write a report against baselines."""
    from api.eval_command import execute_eval

    if compare is not None:
        from api.compare_command import execute_compare
        from core.errors import UserError

        given = [flag for flag, value in (("--market", market), ("--symbol", symbol),
                 ("--timeframe", timeframe), ("--bars", bars), ("--from", from_), ("--to", to),
                 ("--cassette", cassette), ("--check-lookahead", check_lookahead or None),
                 ("--analyst", analyst), ("--memory", memory), ("--data-dir", data_dir),
                 ("--suite", suite), ("--workers", workers))
                 if value is not None]  # fmt: skip
        if given:
            raise UserError(f"--compare reads two finished reports: drop {given[0]}")
        execute_compare(compare[0], compare[1], out=out)
        return
    if suite is not None:
        from api.suite_command import execute_suite
        from core.errors import UserError

        given = [flag for flag, value in (("--market", market), ("--symbol", symbol),
                 ("--timeframe", timeframe), ("--bars", bars), ("--from", from_), ("--to", to),
                 ("--cassette", cassette), ("--check-lookahead", check_lookahead or None),
                 ("--analyst", analyst), ("--memory", memory), ("--data-dir", data_dir),
                 ("--trades-csv", trades_csv))
                 if value is not None]  # fmt: skip
        if given:
            raise UserError(f"--suite runs the markets its file lists: drop {given[0]}")
        if workers is not None and workers < 1:
            raise UserError("--workers must be at least 1")
        if workers is not None and ray is not None:
            raise UserError(
                "--workers sets local processes and --ray sends the jobs to Ray, whose CPUs "
                "set the parallelism: drop one of them"
            )
        execute_suite(suite, out=out, workers=workers, quiet=quiet, ray=ray)
        return
    if ray is not None:
        from core.errors import UserError

        raise UserError("--ray runs a suite on Ray: add --suite FILE.toml")

    request = _run_request(
        market, symbol, timeframe, bars, from_, to, analyst, cassette, data_dir, memory
    )
    execute_eval(
        request,
        out=out,
        check_lookahead=check_lookahead,
        quiet=quiet,
        process_start=PROCESS_START,
        trades_csv=trades_csv,
    )


@app.command()
def record(
    exchange: Annotated[str, typer.Option(help="A ccxt exchange id such as binance.")],
    symbol: Annotated[
        list[str],
        typer.Option(metavar="SYMBOL", help="Symbol such as BTC/USDT; repeat for several."),
    ],
    timeframe: Annotated[str, typer.Option(help="Timeframe such as 1h.")],
    since: Annotated[str, typer.Option(help="First candle (UTC date or YYYY-MM-DDTHH:MM).")],
    out: Annotated[Path, typer.Option(help="Recording folder (created; resumed if it exists).")],
    until: Annotated[
        str | None, typer.Option(help="Last candle (UTC, inclusive) [default: the newest closed].")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Record an exchange's closed candles into a folder that --market replays."""
    from api.record_command import execute_record

    execute_record(
        exchange=exchange,
        symbols=symbol,
        timeframe=timeframe,
        since=since,
        until=until,
        out=out,
        quiet=quiet,
    )


app.command("backtest")(backtest)
app.command("chat")(chat)
app.command("ask")(ask)
app.command("serve")(serve)
register_mcp(app)


from api.risk_cli import risk_app  # noqa: E402 - beside the other command groups

app.add_typer(risk_app, name="risk")

from api.agent_cli import agent_app  # noqa: E402 - beside the other command groups

app.add_typer(agent_app, name="agent")

from api.portfolio_cli import portfolio_app  # noqa: E402 - beside the other command groups

app.add_typer(portfolio_app, name="portfolio")

from api.keys_command import register as register_keys  # noqa: E402 - beside the other groups

register_keys(app)

from api.notify_command import register as register_notify  # noqa: E402 - beside the others

register_notify(app)

from api.audit_cli import audit_app  # noqa: E402 - beside the other command groups

app.add_typer(audit_app, name="audit")


@app.command()
def config(data_dir: DataDirOption = None) -> None:
    """Print the effective settings (defaults, tradegraph.toml, TRADEGRAPH_* variables, and
    the limits an admin changed over HTTP, DATA_DIR/risk_limits.json)."""
    import json

    from core.database import mask_url
    from core.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    shown_settings = settings.model_dump(mode="json")
    url = settings.database_url
    shown_settings["database_url"] = mask_url(url.get_secret_value()) if url else None
    typer.echo(json.dumps(shown_settings, indent=2))


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and a non-zero exit."""
    from core.errors import UserError
    from core.text import shown

    try:
        code = app(standalone_mode=False)
    except UserError as exc:  # may quote a file or a model: one line, no control characters
        typer.echo(f"error: {shown(str(exc), one_line=True)}", err=True)
        sys.exit(exc.exit_code)
    except NoArgsIsHelpError:
        sys.exit(0)
    except UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    if isinstance(code, int) and code != 0:  # typer returns Ctrl-C as exit code 130
        if code == 130:
            typer.echo("interrupted", err=True)
        sys.exit(code)

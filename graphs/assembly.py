"""Assembling a run from what a driver was asked: settings, analyst, markets, the plan.

Every driver (the CLI's `run` and `eval`, suites on local processes or a cluster, an HTTP
handler) builds its session here (its analyst chosen by `graphs.analyst_choice`), so each
refuses the same mistakes with the same one line before any work starts. Nothing here prints
or parses command lines.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.base import Analyst
from core.errors import UserError
from core.settings import Settings
from graphs.analyst_choice import NO_KEY, api_key, make_analyst, make_reflector

if TYPE_CHECKING:
    from agents.cassettes import Mode
    from core.notifications import Notifier
    from graphs.node import CycleObserver, Progress
    from graphs.session import SessionPlan
    from graphs.summary import RunSummary

MAX_SYMBOLS = 20


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class RunRequest:
    """What a driver was asked for (None: the settings decide)."""

    market: str | None = None
    symbol: str | None = None
    """One symbol, or several separated by commas (a portfolio on one account)."""
    timeframe: str | None = None
    bars: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    analyst: str | None = None
    cassette: Path | None = None
    data_dir: Path | None = None
    memory: bool | None = None
    run_id: str | None = None
    account: str | None = None
    """Trade this account (created on first use); None: an account of the run's own."""
    overrides: tuple[tuple[str, object], ...] = ()
    """Settings sections to override, e.g. (("risk", {"max_position_fraction": 0.3}),)."""
    broker: str = "paper"
    """paper, sandbox or live: see `core.execution_mode`."""
    live_confirmed: bool = False
    """The command carried --i-understand-live-trading."""
    realtime: bool = False
    """This driver may trade an exchange market in real time (`run` may, `eval` replays):
    it does when the market is an exchange and no --from/--to window is asked for."""

    def to_record(self) -> dict[str, Any]:
        """JSON-ready, for the run's record (what `--resume` rebuilds the run from)."""
        raw = asdict(self)
        for key in ("start", "end"):
            raw[key] = raw[key].isoformat() if raw[key] is not None else None
        for key in ("cassette", "data_dir"):
            raw[key] = str(raw[key]) if raw[key] is not None else None
        raw["overrides"] = [list(pair) for pair in self.overrides]
        return raw

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> RunRequest:
        values = dict(raw)
        for key in ("start", "end"):
            values[key] = datetime.fromisoformat(values[key]) if values.get(key) else None
        for key in ("cassette", "data_dir"):
            values[key] = Path(values[key]) if values.get(key) else None
        values["overrides"] = tuple(tuple(pair) for pair in values.get("overrides", ()))
        return cls(**values)


@dataclass(frozen=True)
class PreparedRun:
    settings: Settings
    plan: SessionPlan
    analyst: Analyst
    cassette: Path | None
    mode: Mode | None
    """replay or record, when a cassette is given."""
    resume: bool = False


def with_overrides(settings: Settings, overrides: tuple[tuple[str, object], ...]) -> Settings:
    """Settings with some sections changed; every limit is validated again (one line if not)."""
    if not overrides:
        return settings
    from pydantic import ValidationError

    merged = settings.model_dump()
    for section, value in overrides:
        if section not in merged:
            raise UserError(f"unknown setting {section!r} in the suite: see `tradegraph config`")
        merged[section] = _merged(merged[section], value)
    try:
        return Settings.model_validate({**merged, "anthropic_api_key": settings.anthropic_api_key})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"invalid setting {where} in the suite: {first['msg']}") from None


def _merged(current: object, change: object) -> object:
    """`change` laid over `current`, table by table (a nested value keeps its siblings)."""
    if isinstance(current, dict) and isinstance(change, dict):
        return {**current, **{k: _merged(current.get(k), v) for k, v in change.items()}}
    return change


def parse_symbols(symbol: str | None) -> list[str | None]:
    """`BTC/USDT,ETH/USDT` as a list; None (the market's own symbol) as [None]."""
    if symbol is None:
        return [None]
    symbols = [s.strip() for s in symbol.split(",")]
    if any(not s for s in symbols):
        raise UserError(f"--symbol {symbol!r} has an empty name: separate symbols with commas")
    if len(set(symbols)) != len(symbols):
        raise UserError(f"--symbol {symbol!r} names a symbol twice")
    if len(symbols) > MAX_SYMBOLS:
        raise UserError(f"--symbol names {len(symbols)} symbols: at most {MAX_SYMBOLS}")
    return list(symbols)


def prepare_run(request: RunRequest, *, resume: bool = False) -> PreparedRun:
    """Settings, analyst, markets and plan, with every user mistake refused before any work."""
    from core.datadir import removed_if_left_empty
    from core.settings import load_settings

    settings = load_settings(
        data_dir=request.data_dir, analyst=request.analyst, market=request.market
    )
    with removed_if_left_empty(settings.data_dir):
        return _prepare(request, settings, resume=resume)


def _prepare(request: RunRequest, settings: Settings, *, resume: bool) -> PreparedRun:
    from agents.cassettes import cassette_mode
    from core.accounts import check_account_name
    from core.datadir import prepare_data_dir
    from core.market.source import MarketRequest, open_market
    from graphs.session import SessionPlan

    settings = with_overrides(settings, request.overrides)
    if request.memory is not None:
        settings = settings.model_copy(
            update={"memory": settings.memory.model_copy(update={"enabled": request.memory})}
        )
    account = check_account_name(request.account) if request.account is not None else None
    mode = None
    if request.cassette is not None:
        if settings.analyst != "anthropic":
            raise UserError("--cassette records Anthropic calls: use it with --analyst anthropic")
        mode = cassette_mode(request.cassette, have_key=api_key(settings) is not None)
    if settings.analyst == "anthropic" and mode is None and api_key(settings) is None:
        raise UserError(NO_KEY)
    live = (
        request.realtime
        and settings.market.strip().startswith("exchange:")
        and request.start is None
        and request.end is None
    )
    check_broker(request, settings, live=live)
    root = prepare_data_dir(settings.data_dir)
    from core.backends import storage_for

    storage_for(settings, root).check_ledger()
    replaying = mode == "replay"
    chosen = make_analyst(
        settings.analyst or "offline",
        settings,
        root,
        replaying=replaying,
        timeframe=request.timeframe,
    )
    from core.market.exchange import make_exchange

    def exchange(name: str) -> Any:
        return make_exchange(name, settings.exchange_urls.get(name))

    markets = [
        open_market(
            MarketRequest(
                spec=settings.market,
                symbol=symbol,
                timeframe=request.timeframe,
                bars=request.bars,
                start=request.start,
                end=request.end,
            ),
            exchange_factory=exchange,
        )
        for symbol in parse_symbols(request.symbol)
    ]
    run_id = request.run_id or new_run_id()
    (info, series), *more = markets
    plan = SessionPlan(
        run_id=run_id,
        info=info,
        series=series,
        settings=settings,
        data_dir=root,
        reflector=make_reflector(settings, chosen, root, replaying=replaying),
        more_markets=tuple(more),
        account=account or default_account(request.broker, settings),
        request=replace(request, run_id=run_id).to_record(),
        broker=request.broker,
        live_confirmed=request.live_confirmed,
        live=live,
    )
    return PreparedRun(settings, plan, chosen, request.cassette, mode, resume)


def check_broker(request: RunRequest, settings: Settings, *, live: bool) -> None:
    """The broker asked for is allowed (the mode guard, before any network) and has a market
    it can trade: an exchange broker trades in real time only."""
    from core.execution_mode import allowed_exchange_access

    allowed_exchange_access(
        request.broker, settings.execution, live_confirmed=request.live_confirmed
    )
    if request.broker != "paper" and not live:
        raise UserError(
            f"--broker {request.broker} trades on the exchange as candles close: use --market "
            "exchange:NAME without --from/--to (replays trade on paper)"
        )
    if request.broker != "paper":
        from core.market.live_sources import parse_exchange_names

        watched, trading = parse_exchange_names(settings.market)[0], settings.execution.exchange
        if watched != trading.strip().lower():
            raise UserError(
                f"--broker {request.broker} trades on {trading} (execution.exchange) but the "
                f"market is read from {watched}: set TRADEGRAPH_EXECUTION__EXCHANGE={watched} "
                f"or --market exchange:{trading}"
            )


def default_account(broker: str, settings: Settings) -> str | None:
    """An exchange broker trades the exchange account the keys open, so its runs share one
    tradegraph account (`sandbox:binance`) unless --account names another; paper runs get
    one of their own."""
    return None if broker == "paper" else f"{broker}:{settings.execution.exchange}"


def prepare_resume(run_id: str, data_dir: Path | None) -> PreparedRun:
    """The run `run_id` rebuilt from its record, to carry on where it was killed."""
    from core.backends import storage_for
    from core.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    root = settings.data_dir.expanduser().resolve()
    storage = storage_for(settings, root)
    record = None
    if storage.has_ledger():
        book = storage.accounts()
        try:
            record = book.run(run_id)
        finally:
            book.close()
    if record is None:
        raise UserError(
            f"no run {run_id} in {root}: check the id (`tradegraph risk status --all` lists "
            "accounts) and --data-dir"
        )
    if record.status == "finished":
        raise UserError(f"run {run_id} finished: there is nothing to resume")
    request = RunRequest.from_record(record.request)
    return prepare_run(replace(request, run_id=run_id, data_dir=root), resume=True)


def run_prepared(
    prepared: PreparedRun,
    *,
    on_progress: Progress | None = None,
    on_cycle: CycleObserver | None = None,
    started: float | None = None,
    stop_on_interrupt: bool = False,
    notifier: Notifier | None = None,
) -> RunSummary:
    """Run a prepared session (inside its cassette, if it has one); its summary."""
    from graphs.session import run_session

    with recorded_calls(prepared):
        return run_session(
            prepared.plan,
            prepared.analyst,
            on_progress,
            started=started,
            on_cycle=on_cycle,
            stop_on_interrupt=stop_on_interrupt,
            resume=prepared.resume,
            notifier=notifier,
        )


@contextmanager
def recorded_calls(prepared: PreparedRun) -> Iterator[None]:
    """The run's Anthropic calls recorded to, or replayed from, its cassette."""
    if prepared.cassette is None or prepared.mode is None:
        yield
        return
    from agents.cassettes import llm_cassette

    with llm_cassette(prepared.cassette, prepared.mode):
        yield

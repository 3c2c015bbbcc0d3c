"""Evaluation suites: many markets times configurations, one combined report.

A suite is a TOML file:

    [suite]
    name = "dev recordings at 1h"
    workers = 2                       # local processes (the command line can override)

    [defaults]                        # any `tradegraph eval` option, for every job
    analyst = "offline"
    timeframe = "1h"

    [[markets]]                       # market, and symbol, timeframe, from, to, bars
    market = "../shared/markets/binance-2023"
    symbol = "BTC/USDT"               # or a portfolio: ["BTC/USDT", "ETH/USDT"] (or "A,B")

    [[configs]]                       # optional; without it, one configuration named "default"
    name = "memory-off"
    memory = "off"
    settings = { risk = { max_position_fraction = 0.3 } }   # sections of tradegraph.toml

Relative market paths are read from the suite file's folder. Every market runs with every
configuration; the combined report has a table per market and an aggregate per configuration.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError

JOB_KEYS = frozenset(
    {"market", "symbol", "timeframe", "from", "to", "bars", "analyst", "memory", "name"}
)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
AGGREGATED = ("total_return", "max_drawdown", "sharpe", "trades")


@dataclass(frozen=True)
class SuiteJob:
    label: str
    """`market label / configuration`, also the job's folder name."""
    market_label: str
    config: str
    options: dict[str, Any]
    overrides: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Suite:
    name: str
    workers: int
    jobs: list[SuiteJob] = field(default_factory=list)
    configs: tuple[str, ...] = ()
    """The configurations, in the file's order."""
    control: str | None = None
    """The configuration the others are compared with; None: no comparison."""


def load_suite(path: Path) -> Suite:
    """The suite in `path`, or one clear UserError naming what is wrong with it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"suite file {path} not found: give the path of a .toml suite") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read suite file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"suite file {path} is not valid TOML: {exc}") from None
    meta = _table(raw, "suite", path)
    defaults = _options(_table(raw, "defaults", path), path, "[defaults]")
    markets = raw.get("markets")
    if not isinstance(markets, list) or not markets:
        raise UserError(f"suite file {path} lists no [[markets]]: add at least one")
    configs = raw.get("configs") or [{"name": "default"}]
    if not isinstance(configs, list):
        raise UserError(f"suite file {path}: [[configs]] must be a list of tables")
    workers = meta.get("workers", 2)
    if not isinstance(workers, int) or workers < 1:
        raise UserError(f"suite file {path}: suite.workers must be a whole number of at least 1")
    jobs = []
    seen: set[str] = set()
    for i, market in enumerate(markets, 1):
        options = {**defaults, **_options(market, path, f"market #{i}")}
        if "market" not in options:
            raise UserError(f"suite file {path}: market #{i} has no `market`")
        options["market"] = _resolve(str(options["market"]), path.parent)
        label = market.get("name") or _market_label(options, market)
        market_label = _safe(str(label), path, "market name")
        options.pop("name", None)
        for j, config in enumerate(configs, 1):
            if not isinstance(config, dict):
                raise UserError(f"suite file {path}: config #{j} must be a table")
            name = _safe(str(config.get("name", f"config-{j}")), path, "config name")
            settings = config.get("settings", {})
            if not isinstance(settings, dict) or not all(
                isinstance(v, dict) for v in settings.values()
            ):
                raise UserError(
                    f"suite file {path}: configs.{name}.settings must hold tables such as "
                    "risk = {{ max_position_fraction = 0.3 }}"
                )
            if i == 1:
                _check_overrides(tuple(sorted(settings.items())))
            rest = {k: v for k, v in config.items() if k not in ("name", "settings")}
            label = f"{market_label}/{name}"
            if label in seen:
                raise UserError(f"suite file {path}: {label} appears twice")
            seen.add(label)
            jobs.append(
                SuiteJob(
                    label=label,
                    market_label=market_label,
                    config=name,
                    options={**options, **_options(rest, path, f"config {name!r}")},
                    overrides=tuple(sorted(settings.items())),
                )
            )
    names = tuple(dict.fromkeys(job.config for job in jobs))
    return Suite(
        name=str(meta.get("name", path.stem)),
        workers=workers,
        jobs=jobs,
        configs=names,
        control=_control(meta, names, path),
    )


def _control(meta: dict[str, Any], configs: tuple[str, ...], path: Path) -> str | None:
    """`[suite] compare` (default: on with two configurations or more) and `control` (default:
    the first configuration)."""
    compare = meta.get("compare", len(configs) > 1)
    if not isinstance(compare, bool):
        raise UserError(f"suite file {path}: suite.compare must be true or false")
    control = meta.get("control")
    if control is not None and control not in configs:
        raise UserError(
            f"suite file {path}: suite.control {str(control)!r} names no configuration "
            f"(the suite has {', '.join(configs)})"
        )
    if not compare:
        return None
    if len(configs) < 2:
        raise UserError(
            f"suite file {path}: a comparison needs at least two [[configs]] (the first is "
            f"the control), and this suite has one: add a configuration or drop compare"
        )
    return str(control) if control is not None else configs[0]


def _check_overrides(overrides: tuple[tuple[str, Any], ...]) -> None:
    """A configuration's settings are checked like the file's own before any job starts: one
    that switches a protection off (`jump_sigma = inf`) fails the suite, not each job."""
    from core.settings import load_settings
    from graphs.assembly import with_overrides

    with_overrides(load_settings(), overrides)


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise UserError(f"suite file {path}: [{key}] must be a table")
    return value


def _options(table: dict[str, Any], path: Path, where: str) -> dict[str, Any]:
    unknown = sorted(set(table) - JOB_KEYS)
    if unknown:
        raise UserError(
            f"suite file {path}: {where} has unknown option {unknown[0]!r} "
            f"(use {', '.join(sorted(JOB_KEYS))})"
        )
    options = dict(table)
    for key in ("from", "to"):
        if isinstance(options.get(key), dt.date):  # a TOML date or date-time
            options[key] = options[key].isoformat()[:16]
    if "memory" in options:
        memory = options["memory"]
        if isinstance(memory, bool):
            options["memory"] = "on" if memory else "off"
        elif str(memory).lower() not in ("on", "off"):
            raise UserError(f"suite file {path}: {where} memory must be on or off")
    if "bars" in options and (not isinstance(options["bars"], int) or options["bars"] < 1):
        raise UserError(f"suite file {path}: {where} bars must be a whole number of at least 1")
    symbols = options.get("symbol")
    if isinstance(symbols, list) and symbols and all(isinstance(x, str) for x in symbols):
        options["symbol"] = ",".join(symbols)  # a portfolio on one account
    for key in ("market", "symbol", "timeframe", "from", "to", "analyst"):
        if key in options and not isinstance(options[key], str):
            raise UserError(f"suite file {path}: {where} {key} must be text")
    return options


def _safe(name: str, path: Path, what: str) -> str:
    """A name that is also a folder under --out: letters, digits, dot, dash, underscore."""
    if not SAFE_NAME.match(name) or ".." in name:
        raise UserError(
            f"suite file {path}: {what} {name!r} may hold only letters, digits, '.', '-' and '_'"
        )
    return name


def _resolve(market: str, folder: Path) -> str:
    if market.startswith(("synthetic", "exchange:")):
        return market
    candidate = Path(market).expanduser()
    return str(candidate if candidate.is_absolute() else (folder / candidate).resolve())


def _market_label(options: dict[str, Any], own: dict[str, Any]) -> str:
    """Market, symbol and timeframe, and the window when the market entry sets its own (so
    one market in two windows makes two jobs)."""
    market = str(options["market"])
    name = market if market.startswith(("synthetic", "exchange:")) else Path(market).name
    name = name.removesuffix(".csv.gz")
    window = [options.get(k) for k in ("from", "to", "bars") if k in own]
    parts = [name, options.get("symbol"), options.get("timeframe"), *window]
    label = "-".join(str(p).replace("/", "_") for p in parts if p)
    return re.sub(r"[^A-Za-z0-9._-]", "_", label)


def aggregate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per configuration: the mean of the headline metrics over its markets, and how often it
    beat buy-and-hold."""
    out: dict[str, dict[str, Any]] = {}
    for config in sorted({r["config"] for r in rows}):
        mine = [r for r in rows if r["config"] == config and r.get("report")]
        if not mine:
            continue
        summary: dict[str, Any] = {"markets": len(mine)}
        for key in AGGREGATED:
            # Sharpe is null for a window under 30 days: the mean is over the markets that
            # have one, and null when none has.
            known = [v for r in mine if (v := r["report"]["metrics"][key]) is not None]
            summary[f"mean_{key}"] = sum(known) / len(known) if known else None
        summary["mean_buy_and_hold_return"] = sum(
            r["report"]["baselines"]["buy_and_hold"]["total_return"] for r in mine
        ) / len(mine)
        summary["beat_buy_and_hold"] = sum(
            r["report"]["metrics"]["total_return"]
            > r["report"]["baselines"]["buy_and_hold"]["total_return"]
            for r in mine
        )
        summary["violations"] = sum(r["report"]["risk"]["violations"] for r in mine)
        out[config] = summary
    return out

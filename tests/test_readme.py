"""Every command the README shows in a ```sh block runs here, for real, so no example drifts.

`readme_commands` reads the commands out of README.md as a shell would (lines continued with
`\\` joined, comments dropped). `ROWS` says, for each command, how it is run and what must come
out; a command without a row, or a row whose command left the README, fails
`test_every_readme_command_has_a_row`, so a new example is one new row.

Each command runs through bash in a sandbox: a fresh checkout folder as the working directory
(with the scripted cassettes and dev.py linked in, and `../shared` linked beside it when the
recorded data exists), `.venv/bin` first on PATH so `tradegraph` and `python3` are the
project's, TRADEGRAPH_DATA_DIR at the checkout's `.tradegraph` (the default, made absolute so
dev.py, which changes to the project folder, writes there too), and no ANTHROPIC_* or
TRADEGRAPH_* variables from outside. A row's `run_as` replaces the command only when it cannot
run as written, and `why` says what is run instead.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests import zygote
from tests.agents.scripted_server import scripted_anthropic_server
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import make_keys
from tests.support import stored_traces

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
MARKETS = SHARED / "markets"
CCXT_FIXTURES = SHARED / "fixtures" / "ccxt"
VENV_BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 3600
Q4_2023_HOURS = 92 * 24
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_commands(text: str) -> list[str]:
    """The commands of every ```sh block in `text`, one string each, as bash reads them."""
    commands = []
    for block in SH_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            command = _without_comment(line)
            if command:
                commands.append(command)
    return commands


def _without_comment(line: str) -> str:
    """The line without its `# comment`, blanks outside quotes collapsed to one space."""
    kept: list[str] = []
    quote = None
    after_blank = True
    for char in line:
        if quote is not None:
            kept.append(char)
            quote = None if char == quote else quote
        elif char == "#" and after_blank:
            break
        elif char.isspace():
            if not after_blank:
                kept.append(" ")
            after_blank = True
        else:
            kept.append(char)
            quote = char if char in "\"'" else None
            after_blank = False
    return "".join(kept).strip()


def readme_toml(marker: str) -> str:
    """The README's ```toml block that contains `marker`."""
    [block] = [str(b) for b in TOML_BLOCK.findall(README.read_text()) if marker in b]
    return block


@dataclass
class Sandbox:
    """A checkout folder to run README commands in, and what a row's setup left there."""

    checkout: Path
    env: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)
    requests_before: int = 0

    @property
    def data_dir(self) -> Path:
        return self.checkout / ".tradegraph"

    def sh(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )


def _link_checkout(base: Path) -> Path:
    """base/checkout with what README commands read from the project; base/shared beside it."""
    checkout = base / "checkout"
    (checkout / "tests").mkdir(parents=True, exist_ok=True)
    for name in ("dev.py", "tests/cassettes"):
        if not (checkout / name).exists():
            (checkout / name).symlink_to(ROOT / name)
    if SHARED.is_dir() and not (base / "shared").exists():
        (base / "shared").symlink_to(SHARED)
    return checkout


@functools.cache
def _bin_path() -> str:
    """The virtualenv's scripts, behind a `tradegraph` forked from the tests' fork server (the
    same command line, without two seconds of imports each time) unless it is turned off."""
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    if not zygote.ENABLED:
        return path
    shims = zygote.shim_folder(Path(tempfile.gettempdir()) / f"tradegraph-shim-{os.getpid()}")
    return f"{shims}{os.pathsep}{path}"


def _environment(checkout: Path, extra: Mapping[str, str]) -> dict[str, str]:
    outside = ("ANTHROPIC_", "TRADEGRAPH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env |= {
        "PATH": _bin_path(),
        "TRADEGRAPH_DATA_DIR": str(checkout / ".tradegraph"),
        "COLUMNS": "200",  # rich wraps at 80 columns when stdout is not a terminal
    }
    return env | dict(extra)


# --- what a row checks after its command ----------------------------------------------------


def _json(sandbox: Sandbox, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((sandbox.checkout / name).read_text())
    return loaded


def _quarter_summary(sandbox: Sandbox, out: str) -> None:
    summary = _json(sandbox, "out.json")
    assert summary["bars"] == summary["decisions"] == summary["traces"] == Q4_2023_HOURS
    assert summary["market"]["synthetic"] is False and summary["market"]["symbol"] == "BTC/USDT"
    assert summary["market"]["first"].startswith("2023-10-01")
    assert summary["risk"]["violations"] == 0
    assert summary["orders"] > 0
    # every fill is an approved order's, or the resting stop of a filled entry
    assert 0 < summary["fills"] <= 2 * summary["orders"]


def _traces_written(sandbox: Sandbox, out: str) -> None:
    assert (sandbox.data_dir / "chroma" / "chroma.sqlite3").is_file()


def _run_id(out: str) -> str:
    found = re.search(r"^Run (\S+)", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def _no_recall(sandbox: Sandbox, out: str) -> None:
    traces = stored_traces(sandbox.data_dir, _run_id(out))
    assert len(traces) == 500
    assert all(trace.recalled == () for trace in traces)


def _asked_the_server(sandbox: Sandbox, out: str) -> None:
    assert len(sandbox.seen) > 20
    assert all(request["path"] == "/v1/messages" for request in sandbox.seen)


def _recorded_cassette(sandbox: Sandbox, out: str) -> None:
    tape = (sandbox.checkout / "my-run.yaml").read_text()
    assert tape.count("- request:") == len(sandbox.seen) > 0
    assert "x-api-key" not in tape.lower() and "authorization" not in tape.lower()


def _replayed_without_the_server(sandbox: Sandbox, out: str) -> None:
    assert sandbox.requests_before > 0
    assert len(sandbox.seen) == sandbox.requests_before


def _example_config_loads_and_holds_the_defaults(sandbox: Sandbox, out: str) -> None:
    example = _flat(tomllib.loads(readme_toml("[breakers]")))
    without_file = sandbox.sh("mv tradegraph.toml example.toml && tradegraph config")
    for shown in (out, without_file.stdout):
        effective = _flat(json.loads(shown))
        assert effective["data_dir"] == str(sandbox.data_dir)  # TRADEGRAPH_DATA_DIR wins
        differing = {
            key: (value, effective.get(key))
            for key, value in example.items()
            if key != "data_dir" and effective.get(key) != value
        }
        assert differing == {}


def _flat(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _btc_report(sandbox: Sandbox, out: str) -> None:
    folder = sandbox.checkout / "eval" / "btc-2023-q4"
    report = json.loads((folder / "report.json").read_text())
    assert report["market"]["bars"] == Q4_2023_HOURS and report["risk"]["violations"] == 0
    assert report["market"]["first"].startswith("2023-10-01")
    assert (folder / "report.html").is_file()


def _no_lookahead(sandbox: Sandbox, out: str) -> None:
    assert out.count(": identical") == 3


def _llm_report(sandbox: Sandbox, out: str) -> None:
    [path] = (sandbox.checkout / "eval").glob("*/report.json")
    report = json.loads(path.read_text())
    assert report["llm"]["requests"] > 60 and report["agent"]["model"] == "claude-sonnet-4-6"


def _suite_report(sandbox: Sandbox, out: str) -> None:
    suite = json.loads((sandbox.checkout / "eval" / "suite" / "suite.json").read_text())
    assert suite["jobs"] == len(suite["rows"]) == 4 and suite["partial"] is False
    assert all("error" not in row for row in suite["rows"])


def _comparison_kept(sandbox: Sandbox, out: str) -> None:
    kept = _json(sandbox, "eval/memory-on-vs-off/comparison.json")["comparison"]
    assert [m["metric"] for m in kept["metrics"]] == [
        "total_return", "sharpe", "sortino", "max_drawdown"
    ]  # fmt: skip
    assert all(m["low"] <= m["high"] for m in kept["metrics"])
    assert (sandbox.checkout / "eval/memory-on-vs-off/comparison.html").is_file()


def _chain_still_intact(sandbox: Sandbox, out: str) -> None:
    after = sandbox.sh("tradegraph audit verify")
    assert after.returncode == 0 and "chain intact" in after.stdout, after.stdout + after.stderr


TEXT_BLOCK = re.compile(r"^```text\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _printed_as_the_readme_shows(marker: str) -> Callable[[Sandbox, str], None]:
    """The command printed the README's ```text block that contains `marker`, exactly."""

    def check(sandbox: Sandbox, out: str) -> None:
        [shown] = [b for b in TEXT_BLOCK.findall(README.read_text()) if marker in b]
        assert out == shown

    return check


def _write(name: str, marker: str) -> Callable[[Path], None]:
    """Writes the README's toml block containing `marker` to checkout/name."""

    def prepare(checkout: Path) -> None:
        (checkout / name).write_text(readme_toml(marker))

    return prepare


def _my_analyst(checkout: Path) -> None:
    """The README's own-analyst example: a package in the checkout (on PYTHONPATH)."""
    package = checkout / "mypackage"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "analysts.py").write_text(
        "from agents.base import AnalystResult\n"
        "from core.types import Proposal\n\n\n"
        "class MyAnalyst:\n"
        "    name = 'my-analyst'\n\n"
        "    def propose(self, brief, research=None):\n"
        "        return AnalystResult(proposal=Proposal.hold(brief.symbol, 'my own rule'))\n"
    )


# --- the table: one row per README command --------------------------------------------------


@dataclass(frozen=True)
class Row:
    expect: tuple[str, ...]
    """Fragments the command's output (stdout and stderr) must hold ({run_id}, {root})."""
    run_as: str | None = None
    """The command actually run when the README's cannot run as written ({run_id}, {root})."""
    why: str = ""
    setup: tuple[str, ...] = ()
    """Commands run first in the same sandbox, each to exit 0; a `--json setup.json` there
    gives {run_id}."""
    prepare: Callable[[Path], None] | None = None
    anthropic: bool = False
    """Run setup and command with a local Anthropic-compatible server answering like the
    scripted model at ANTHROPIC_BASE_URL (no real API is reachable here)."""
    env: Mapping[str, str] = field(default_factory=dict)
    code: int = 0
    slow: bool = False
    needs: tuple[Path, ...] = ()
    """Data outside the project it reads; ../shared/markets is detected in the commands."""
    check: Callable[[Sandbox, str], None] | None = None


AUDIT_SETUP = ("tradegraph run --market synthetic:5 --bars 300 --json setup.json --quiet",)
HALT = 'tradegraph risk halt --reason "exchange incident"'
RECORD = (
    "ANTHROPIC_API_KEY=... tradegraph run --analyst anthropic --market synthetic:5 --bars 120 "
    "--cassette my-run.yaml"
)
SCRIPTED_RUN = "--cassette tests/cassettes/anthropic/scripted/run_synthetic5_120.yaml"
BTC_2023 = "../shared/markets/binance-2023/BTC_USDT-1h.csv.gz"
COMPARE_OFF = (
    "tradegraph eval --market synthetic:5 --bars 800 --memory off --out eval/memory-off --quiet"
)
COMPARE_ON = (
    "tradegraph eval --market synthetic:5 --bars 800 --memory on --out eval/memory-on --quiet"
)
CONFIRM = "--i-understand-live-trading"
LIVE_1M = "tradegraph run --market exchange:binance --symbol BTC/USDT --timeframe 1m"
LIVE_FAKE = (
    "python {root}/tests/live_binance.py run --market exchange:binance --symbol BTC/USDT "
    "--timeframe 1s"
)
LIVE_WHY = (
    "no exchange is reachable here: the same command line against a fake Binance on 127.0.0.1 "
    "(ccxt signs, sends and parses for real) with its URL and keys in the settings, on 1s "
    "candles so that it decides every second, stopped with Ctrl-C after three decisions"
)
NO_VIOLATION = "0 (executed orders re-checked independently)"
DEMO_AGENT = (
    "tradegraph agent start --name demo --market synthetic:42 --symbol SYN/USDT --timeframe 1h "
    "--speed 3600"
)
DEMO_AGENT_SHORT = f"{DEMO_AGENT.replace('3600', '36000')} --bars 5 --quiet"
DEMO_WHY = "the synthetic market holds 3,000 candles: the test plays its first 5, ten times faster"
RUNNING_AGENT = "python {root}/tests/agent_running.py demo -- "

MARKET_RECORDING = (
    "tradegraph record --exchange binance --symbol BTC/USDT --timeframe 1h "
    "--since 2023-03-01 --until 2023-03-31 --out markets/binance-2023-03"
)
OFFLINE_RECORDING = MARKET_RECORDING.replace(
    "tradegraph", f"python {ROOT}/tests/offline_binance.py", 1
)
OFFLINE_BINANCE_DATA = (CCXT_FIXTURES / "markets" / "binance.json", MARKETS / "binance-2023")


NOTIFY_TOKEN = "TELEGRAM_BOT_TOKEN=123456:your-token"
NOTIFY_TEST = f"{NOTIFY_TOKEN} tradegraph notify test"

KEY_CREATE = "KEY=$(tradegraph keys create --name alice --role trader)"
CURL_RISK = (
    'curl -N -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" '
    '-d \'{"thread":"t1","text":"/risk"}\' http://127.0.0.1:8765/v1/chat'
)
CURL_AGENT = (
    'curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d '
    '\'{"name":"demo","market":"synthetic:42","symbol":"SYN/USDT","timeframe":"1h",'
    '"speed":36000,"bars":24}\' http://127.0.0.1:8765/v1/agents'
)
CURL_EVAL = (
    'curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d '
    '\'{"days":30,"analyst":"strategy:bollinger"}\' http://127.0.0.1:8765/v1/evals'
)
CURL_EVALS = 'curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8765/v1/evals'
CURL_PORTFOLIO = 'curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8765/v1/portfolio'
SERVING = "python {root}/tests/chat_serving.py"
ADMIN_CREATE = "ADMIN=$(tradegraph keys create --name ops --role admin)"
JSON_ADMIN = '-H "Authorization: Bearer $ADMIN" -H "Content-Type: application/json"'
CURL_HALT = (
    f'curl {JSON_ADMIN} -d \'{{"reason":"exchange outage"}}\' http://127.0.0.1:8765/v1/risk/halt'
)
CURL_RESUME = (
    f'curl {JSON_ADMIN} -d \'{{"reason":"exchange back"}}\' http://127.0.0.1:8765/v1/risk/resume'
)
CURL_LIMITS = (
    f'curl -X PUT {JSON_ADMIN} -d \'{{"risk":{{"max_order_notional":5000}}}}\' '
    "http://127.0.0.1:8765/v1/risk/limits"
)
ADMIN_WHY = "the admin's key is made first, in the same shell"
SERVING_WHY = (
    "the server runs until Ctrl-C: it is started as written on a free port (tests run side by "
    "side), with a trader key in KEY; once it answers"
)


def _literal(command: str) -> str:
    """`command` as one bash word that survives the rows' `format_map`."""
    return shlex.quote(command).replace("{", "{{").replace("}", "}}")


def _token_alone(sandbox: Sandbox, out: str) -> None:
    """The token alone on stdout, to paste into the dashboard's login form."""
    assert re.fullmatch(r"tg_[A-Za-z0-9_-]{20,}\n", out), out


def _backtest_report(sandbox: Sandbox, output: str) -> None:
    page = (sandbox.checkout / "backtest" / "eth-rsi" / "report.html").read_text()
    assert "Tail risk" in page and "plotly" in page
    document = _json(sandbox, "backtest/eth-rsi/report.json")
    assert document["backtest"]["strategy"] == "rsi_divergence"


ROWS: dict[str, Row] = {
    DEMO_AGENT: Row(
        run_as=DEMO_AGENT_SHORT.replace(" --quiet", ""),
        why=DEMO_WHY,
        expect=("agent demo started", "SYN/USDT", "agent demo finished after"),
    ),
    "tradegraph agent list": Row(setup=(DEMO_AGENT_SHORT,), expect=("demo", "finished")),
    "tradegraph agent status demo": Row(
        setup=(DEMO_AGENT_SHORT,), expect=("agent demo: finished", "account agent-demo")
    ),
    "tradegraph agent logs demo -n 20": Row(
        setup=(DEMO_AGENT_SHORT,), expect=("agent demo started", "agent demo finished after")
    ),
    'tradegraph risk halt --account agent-demo --reason "news"': Row(
        setup=(DEMO_AGENT_SHORT,), expect=("HALTED", "agent-demo", "news")
    ),
    'tradegraph risk resume --account agent-demo --reason "news digested"': Row(
        setup=(DEMO_AGENT_SHORT, 'tradegraph risk halt --account agent-demo --reason "news"'),
        expect=("RESUMED account agent-demo: news digested",),
    ),
    "tradegraph agent stop demo": Row(
        run_as=RUNNING_AGENT + "tradegraph agent stop demo",
        why="the agent to stop runs in the background, started as the README starts it",
        expect=("agent demo stopped",),
    ),
    "tradegraph agent start --name demo": Row(
        setup=(DEMO_AGENT_SHORT,), expect=("agent demo restarted", "agent demo finished after")
    ),
    "tradegraph agent start --name crash --market ../shared/markets/binance-2021-05-crash-1m "
    "--symbol BTC/USDT --timeframe 1m --bars 300 --speed 1200": Row(
        expect=("agent crash started", "BTC/USDT", "agent crash finished after"), slow=True
    ),
    "python3 dev.py demo": Row(
        expect=("SYNTHETIC DATA", "3,000 candles", NO_VIOLATION, "hash-chained traces in"),
        check=_traces_written,
    ),
    "python3 dev.py test": Row(
        run_as="python3 dev.py test --collect-only -q tests/test_architecture.py",
        why="the whole suite would run this test again; collecting one file through dev.py "
        "shows that `test` runs pytest in the project's environment",
        expect=("tests collected",),
    ),
    f"tradegraph run --market {BTC_2023} --from 2023-10-01 --json out.json": Row(
        expect=("BTC/USDT 1h", f"{Q4_2023_HOURS:,} candles"), slow=True, check=_quarter_summary
    ),
    "tradegraph run --market ../shared/markets/binance-2020-09_2021-10 --symbol ETH/USDT "
    "--timeframe 4h --from 2021-04-01 --to 2021-06-30": Row(
        expect=("ETH/USDT 4h", "2021-04-01T00:00:00Z → 2021-06-30T20:00:00Z", NO_VIOLATION)
    ),
    "tradegraph run --market synthetic:42 --bars 2000": Row(
        expect=("SYNTHETIC DATA", "2,000 candles", NO_VIOLATION), slow=True
    ),
    "tradegraph run --market exchange:binance --symbol BTC/USDT --timeframe 1h "
    "--from 2023-12-11T04:00 --to 2023-12-31T23:00": Row(
        run_as="python {root}/tests/offline_binance.py run --market exchange:binance "
        "--symbol BTC/USDT --timeframe 1h --from 2023-12-11T04:00 --to 2023-12-31T23:00",
        why="no exchange is reachable here: the same command line, with ccxt's binance "
        "answering from its recorded markets and the recorded 2023 candles",
        needs=(CCXT_FIXTURES / "markets" / "binance.json", MARKETS / "binance-2023"),
        expect=("BTC/USDT 1h from exchange:binance", "500 candles", "2023-12-31T23:00:00Z"),
    ),
    f"{LIVE_1M} --broker paper": Row(
        run_as=f"{LIVE_FAKE} --broker paper",
        why=LIVE_WHY,
        needs=(CCXT_FIXTURES / "markets" / "binance.json",),
        expect=("from exchange:binance", "Decisions", "Traces:"),
    ),
    f"TRADEGRAPH_EXECUTION__API_KEY=... TRADEGRAPH_EXECUTION__API_SECRET=... {LIVE_1M} "
    "--broker sandbox": Row(
        run_as=f"{LIVE_FAKE} --broker sandbox",
        why=LIVE_WHY,
        needs=(CCXT_FIXTURES / "markets" / "binance.json",),
        expect=("sandbox:binance", "Decisions", "Traces:"),
    ),
    "TRADEGRAPH_EXECUTION__MODE=live TRADEGRAPH_EXECUTION__API_KEY=... "
    f"TRADEGRAPH_EXECUTION__API_SECRET=... {LIVE_1M} --broker live {CONFIRM}": Row(
        run_as=f"TRADEGRAPH_EXECUTION__MODE=live {LIVE_FAKE} --broker live "
        "--i-understand-live-trading",
        why=LIVE_WHY,
        needs=(CCXT_FIXTURES / "markets" / "binance.json",),
        expect=("live:binance", "Decisions", "Traces:"),
    ),
    MARKET_RECORDING: Row(
        run_as=OFFLINE_RECORDING,
        why="no exchange is reachable here: the same command line, with ccxt's binance "
        "answering from its recorded markets and the recorded 2023 candles",
        needs=OFFLINE_BINANCE_DATA,
        expect=(
            "BTC/USDT 1h: BTC_USDT-1h.csv.gz 743 candles (743 new",
            "1 gap (1 candle missing",
            "markets/binance-2023-03/manifest.json",
        ),
    ),
    "tradegraph eval --market markets/binance-2023-03 --symbol BTC/USDT --timeframe 1h": Row(
        setup=(f"{OFFLINE_RECORDING} --quiet",),
        needs=OFFLINE_BINANCE_DATA,
        expect=("743 candles", "trace root"),
    ),
    "tradegraph run --analyst anthropic --bars 300": Row(
        anthropic=True,
        env={"ANTHROPIC_API_KEY": "sk-ant-readme-placeholder"},
        expect=("analyst anthropic", "300 candles", "LLM"),
        check=_asked_the_server,
    ),
    RECORD: Row(
        anthropic=True, expect=("analyst anthropic", "120 candles"), check=_recorded_cassette
    ),
    "tradegraph run --analyst anthropic --market synthetic:5 --bars 120 "
    "--cassette my-run.yaml": Row(
        anthropic=True,
        setup=(RECORD,),
        expect=("analyst anthropic", "120 candles", "LLM"),
        check=_replayed_without_the_server,
    ),
    f"tradegraph run --analyst anthropic --market synthetic:5 --bars 120 {SCRIPTED_RUN}": Row(
        expect=("analyst anthropic", "120 candles", "LLM", NO_VIOLATION)
    ),
    "tradegraph run --analyst stress --market ../shared/markets/binance-2021-05-crash-1m "
    "--symbol BTC/USDT --timeframe 1m --from 2021-05-19 --to 2021-05-20": Row(
        expect=("analyst stress", "BTC/USDT 1m", NO_VIOLATION), slow=True
    ),
    HALT: Row(expect=("HALTED every account (global kill switch): exchange incident",)),
    "tradegraph risk status": Row(
        setup=(HALT,), expect=("global kill switch", "HALTED", "exchange incident")
    ),
    'tradegraph risk resume --reason "incident closed"': Row(
        setup=(HALT,), expect=("RESUMED the global kill switch: incident closed",)
    ),
    NOTIFY_TEST: Row(
        prepare=_write("tradegraph.toml", 'kind = "telegram"'),
        run_as=f"{NOTIFY_TOKEN} python {{root}}/tests/telegram_receiving.py tradegraph notify test",
        why="no Telegram is reachable here: the same command against a fake Bot API on "
        "127.0.0.1, whose address the config's channel gets as api_url",
        expect=(
            "sent desk (telegram)",
            "fake Bot API received: {{'chat_id': '123456789', "
            "'text': 'tradegraph test: notifications reach this channel'}}",
        ),
    ),
    "tradegraph config": Row(
        prepare=_write("tradegraph.toml", "[breakers]"),
        expect=('"drawdown_halt": 0.15',),
        check=_example_config_loads_and_holds_the_defaults,
    ),
    "TRADEGRAPH_BREAKERS__DRAWDOWN_HALT=0.2 tradegraph config": Row(
        expect=('"drawdown_halt": 0.2',)
    ),
    "TRADEGRAPH_SERVER__WRITE_BURST=3 tradegraph config": Row(
        prepare=_write("tradegraph.toml", "port = 8800"),
        expect=('"port": 8800', '"write_rate": 1.0', '"write_burst": 3', "https://ops.example.com"),
    ),
    f"tradegraph eval --market {BTC_2023} --from 2023-10-01 --out eval/btc-2023-q4": Row(
        expect=(f"{Q4_2023_HOURS:,} candles", "violations 0", "trace root"),
        slow=True,
        check=_btc_report,
    ),
    "tradegraph eval --market synthetic:5 --bars 500 --check-lookahead": Row(
        expect=("look-ahead check",), check=_no_lookahead
    ),
    f"tradegraph eval --analyst anthropic --market synthetic:5 --bars 120 {SCRIPTED_RUN}": Row(
        expect=("trace root", "report.json"), check=_llm_report
    ),
    "tradegraph eval --suite suite.toml --workers 2 --out eval/suite": Row(
        prepare=_write("suite.toml", "[suite]"),
        needs=(MARKETS,),
        expect=(
            "4 jobs on 2 processes",
            "default: mean return",
            "memory-off: mean return",
            "memory-off against default, pooled over 2 markets:",
            "95% interval",
        ),
        slow=True,
        check=_suite_report,
    ),
    COMPARE_OFF: Row(expect=("Report:",)),
    COMPARE_ON: Row(expect=("Report:",)),
    "tradegraph eval --compare eval/memory-off eval/memory-on --out eval/memory-on-vs-off": Row(
        setup=(COMPARE_OFF, COMPARE_ON),
        expect=(
            "memory-on against memory-off",
            "2,000 stationary-bootstrap resamples",
            "Comparison:",
        ),
        check=_comparison_kept,
    ),
    "tradegraph audit verify": Row(setup=AUDIT_SETUP, expect=("chain intact",)),
    "tradegraph audit verify --run RUN_ID": Row(
        run_as="tradegraph audit verify --run {run_id}",
        why="RUN_ID stands for a run's id: the setup run's",
        setup=AUDIT_SETUP,
        expect=("run {run_id}: 300 traces, chain intact",),
    ),
    "tradegraph audit repair": Row(setup=AUDIT_SETUP, expect=("repaired 0 run(s)",)),
    "tradegraph audit show RUN_ID:1234": Row(
        run_as="tradegraph audit show {run_id}:250",
        why="RUN_ID:1234 stands for a trace id: trace 250 of the setup run (of 300 candles)",
        setup=AUDIT_SETUP,
        expect=("trace {run_id}:00000250", "market     SYN/USDT from synthetic:5", "verdict"),
    ),
    'tradegraph audit search "stop-loss hit after a breakout" --symbol BTC/USDT --action SELL '
    "--from 2023-03-01 --to 2023-06-30": Row(
        setup=(f"tradegraph run --market {BTC_2023} --from 2023-03-01 --to 2023-04-15 --quiet",),
        expect=("BTC/USDT  SELL",),
        slow=True,
    ),
    "tradegraph audit prune --older-than 90d": Row(
        setup=AUDIT_SETUP,
        expect=("pruned 0 traces and 0 agent checkpoints from before",),
        check=_chain_still_intact,
    ),
    "tradegraph run --market ../shared/markets/binance-2020-09_2021-10 "
    "--symbol BTC/USDT,ETH/USDT,SOL/USDT --timeframe 4h --from 2021-01-01 --to 2021-03-31": Row(
        expect=("BTC/USDT,ETH/USDT,SOL/USDT 4h", "Per symbol", "equal weight", NO_VIOLATION)
    ),
    "tradegraph run --market synthetic:42 --bars 500 --account paper-main": Row(
        expect=("account paper-main", "500 candles")
    ),
    "tradegraph run --market synthetic:43 --bars 500 --account paper-main": Row(
        setup=("tradegraph run --market synthetic:42 --bars 500 --account paper-main --quiet",),
        expect=("account paper-main", "500 candles"),
    ),
    "tradegraph run --resume RUN_ID": Row(
        run_as="tradegraph run --resume {run_id}",
        why="RUN_ID stands for a stopped run's id: the setup run, stopped by SIGTERM",
        setup=(
            "tradegraph run --market synthetic:4 --bars 2000 --json setup.json --quiet & "
            "pid=$!; while ! [ -s .tradegraph/ledger.sqlite ]; do sleep 0.2; done; sleep 3; "
            "kill -TERM $pid; wait $pid; test -s setup.json",
        ),
        expect=("resuming paper run {run_id}", "resumed after", "2,000 candles"),
    ),
    "tradegraph run --analyst mypackage.analysts:MyAnalyst --bars 300": Row(
        prepare=_my_analyst,
        env={"PYTHONPATH": "."},
        expect=("analyst my-analyst", "300 candles"),
    ),
    'python3 dev.py test -m "not slow"': Row(
        run_as='python3 dev.py test -m "not slow" --collect-only -q tests/test_architecture.py',
        why="the fast tier is most of the suite, which is already running this test",
        expect=("collected",),
    ),
    "python3 dev.py test -m slow": Row(
        run_as="python3 dev.py test -m slow --collect-only -q tests/test_architecture.py",
        why="the slow tier would run this test again",
        expect=("collected",),
    ),
    "python3 dev.py test tests/risk -n 0": Row(
        run_as="python3 dev.py test tests/risk -n 0 --collect-only -q",
        why="collecting shows the folder is run in one process without running it twice",
        expect=("tests collected",),
    ),
    "tradegraph run --memory off --market synthetic:7 --bars 500": Row(
        expect=("500 candles",), check=_no_recall
    ),
    "tradegraph backtest --list": Row(expect=("rsi_divergence", "fast=20 [2..200]")),
    "tradegraph backtest --strategy rsi_divergence --market ../shared/markets/binance-2023 "
    "--symbol ETH/USDT --timeframe 1h --out backtest/eth-rsi": Row(
        expect=("rsi_divergence · ETH/USDT 1h", "Expected shortfall 99%", "report.html"),
        check=_backtest_report,
    ),
    "tradegraph backtest --strategy bollinger --market synthetic:42 --bars 3000 "
    "--param period=30": Row(expect=("SYNTHETIC DATA", "period=30, nbdev=2.0")),
    "tradegraph backtest --strategy ma_crossover --market ../shared/markets/binance-2023 "
    "--symbol BTC/USDT --timeframe 1h --grid fast=5,10,20,30 --grid slow=50,100,200 "
    "--walk-forward": Row(
        expect=("Walk-forward · ma_crossover · 12 grid points", "the gap (overfitting)")
    ),
    "tradegraph backtest --strategy pairs --market ../shared/markets/binance-2020-09_2021-10 "
    "--symbol ETH/USDT --partner BTC/USDT --timeframe 4h": Row(
        expect=("pairs · ETH/USDT 4h", "buy and hold")
    ),
    "tradegraph run --analyst strategy:macd_signal --market synthetic:42 --bars 1000": Row(
        expect=("analyst strategy:macd_signal", "1,000 candles", NO_VIOLATION)
    ),
    "tradegraph chat": Row(
        run_as="printf '/help\\n/portfolio\\n/trade buy 1 SYN/USDT --stop 75\\na\\n' "
        "| tradegraph chat",
        why="a session typed on stdin: three commands, a trade approved, then Ctrl-D",
        expect=(
            "/backtest STRATEGY SYMBOL TIMEFRAME [--days N]",
            "account chat: cash 10,000.00 USDT",
            "APPROVAL NEEDED",
            "filled buy 1 SYN/USDT at ",
            "left thread ",
        ),
    ),
    'tradegraph ask "/backtest rsi_reversion ETH/USDT 1h --days 90" '
    "--market ../shared/markets/binance-2023": Row(
        expect=("(rsi_reversion is rsi_divergence here)", "buy and hold", "last signal")
    ),
    'tradegraph ask "/risk"': Row(expect=("risk_status", "ACTIVE")),
    'tradegraph ask "/trade buy 1 SYN/USDT --stop 75"': Row(
        expect=("APPROVAL NEEDED", "approve it with `tradegraph chat --thread ")
    ),
    'tradegraph ask "/help" --json': Row(expect=('"kind": "answer"', "/trade buy|sell QTY")),
    'tradegraph ask "/why RUN_ID:250"': Row(
        run_as='tradegraph ask "/why {run_id}:250"',
        why="RUN_ID stands for a run's id: the setup run's (300 candles)",
        setup=AUDIT_SETUP,
        expect=("{run_id}:250 · ", "thesis (as written then): ", "verdict "),
    ),
    "tradegraph ask '/search \"not oversold\"'": Row(
        setup=AUDIT_SETUP, expect=("search_decisions", "{run_id}:")
    ),
    'tradegraph ask "/decide SYN/USDT"': Row(
        expect=("the agent would: ", "a dry cycle: nothing was sent")
    ),
    'tradegraph ask "/agents"': Row(expect=("no agents",)),
    'tradegraph ask "How did Bollinger bands do on SYN/USDT 1h over the last 30 days, against '
    'buy and hold?" --cassette tests/cassettes/anthropic/chat/backtest_question.yaml': Row(
        expect=("→ backtest_strategy", "evidence, not a guarantee"),
        check=_printed_as_the_readme_shows("I'll backtest it."),
    ),
    'tradegraph ask "Buy 1 SYN/USDT with a stop-loss at 75." '
    "--cassette tests/cassettes/anthropic/chat/trade_approved.yaml": Row(
        expect=("→ risk_status", "APPROVAL NEEDED", "approve it with `tradegraph chat --thread ")
    ),
    KEY_CREATE: Row(expect=("key alice (trader) created", "shown this once and not stored")),
    "tradegraph serve": Row(
        run_as=SERVING,
        why=f"{SERVING_WHY}, Ctrl-C stops it",
        expect=(
            "serving the chat at http://127.0.0.1:",
            "dashboard at http://127.0.0.1:",
            "OpenAPI docs at http://127.0.0.1:",
            "stopped: the threads are kept, the data directory released",
        ),
    ),
    CURL_RISK: Row(
        run_as=f"{SERVING} {_literal(CURL_RISK)}",
        why=f"{SERVING_WHY}, curl asks it (its port for 8765), then Ctrl-C stops it",
        expect=(
            "event: tool_call",
            '"tool":"risk_status"',
            "event: answer",
            "account chat: ACTIVE",
            '"POST /v1/chat HTTP/1.1" 200',
        ),
    ),
    CURL_AGENT: Row(
        run_as=f"{SERVING} {_literal(CURL_AGENT)}",
        why=f"{SERVING_WHY}, curl starts the agent (its port for 8765), then Ctrl-C stops it",
        expect=(
            '"name":"demo"',
            '"broker":"paper"',
            '"account":"agent-demo"',
            '"POST /v1/agents HTTP/1.1" 200',
        ),
    ),
    CURL_EVAL: Row(
        run_as=f"{SERVING} {_literal(CURL_EVAL)}",
        why=f"{SERVING_WHY}, curl starts the evaluation (its port for 8765), then Ctrl-C stops it",
        expect=('"state":"running"', '"candles":720', '"POST /v1/evals HTTP/1.1" 202'),
    ),
    CURL_EVALS: Row(
        run_as=f"{SERVING} {_literal(CURL_EVAL + ' > /dev/null && ' + CURL_EVALS)}",
        why=f"{SERVING_WHY}, curl starts an evaluation then lists the jobs, then Ctrl-C stops it",
        expect=('"jobs":[', '"job_id":"eval-', '"candles":720', '"GET /v1/evals HTTP/1.1" 200'),
    ),
    CURL_PORTFOLIO: Row(
        run_as=f"{SERVING} {_literal(CURL_PORTFOLIO)}",
        why=f"{SERVING_WHY}, curl reads the portfolio (its port for 8765), then Ctrl-C stops it",
        expect=('"account":"chat"', '"cash":10000.0', '"GET /v1/portfolio HTTP/1.1" 200'),
    ),
    ADMIN_CREATE: Row(expect=("key ops (admin) created",)),
    "tradegraph keys create --name dana --role admin": Row(
        expect=("key dana (admin) created", "shown this once"), check=_token_alone
    ),
    "tradegraph keys create --name wall --role viewer": Row(
        expect=("key wall (viewer) created", "shown this once"), check=_token_alone
    ),
    CURL_HALT: Row(
        run_as=f"{SERVING} {_literal(f'{ADMIN_CREATE} && {CURL_HALT}')}",
        why=f"{SERVING_WHY}, curl halts over it (its port for 8765; {ADMIN_WHY})",
        expect=(
            '"halted":"every account (global kill switch)"',
            '"problems":[]',
            '"POST /v1/risk/halt HTTP/1.1" 200',
        ),
    ),
    CURL_RESUME: Row(
        run_as=f"{SERVING} {_literal(f'{ADMIN_CREATE} && {CURL_RESUME}')}",
        why=f"{SERVING_WHY}, curl resumes over it (its port for 8765; {ADMIN_WHY})",
        expect=('"resumed":"the global kill switch"', '"POST /v1/risk/resume HTTP/1.1" 200'),
    ),
    CURL_LIMITS: Row(
        run_as=f"{SERVING} {_literal(f'{ADMIN_CREATE} && {CURL_LIMITS}')}",
        why=f"{SERVING_WHY}, curl changes a limit over it (its port for 8765; {ADMIN_WHY})",
        expect=('"max_order_notional":5000.0', '"PUT /v1/risk/limits HTTP/1.1" 200'),
    ),
    "tradegraph keys list": Row(setup=(KEY_CREATE,), expect=("alice", "trader", "active")),
    "tradegraph keys revoke alice": Row(
        setup=(KEY_CREATE,), expect=("key alice (trader) revoked at ",)
    ),
    'claude mcp add tradegraph -- "$PWD/.venv/bin/tradegraph" mcp '
    '--data-dir "$PWD/.tradegraph"': Row(
        run_as="python {root}/tests/mcp_client.py stdio -- "
        'tradegraph mcp --data-dir "$PWD/.tradegraph"',
        why="the claude command is not here: an MCP client on the SDK runs the server this line "
        "configures (the project's tradegraph), lists its tools and calls risk_status",
        expect=("server tradegraph", "backtest_strategy", "propose_trade", '"state": "ACTIVE"'),
    ),
    "claude mcp add --transport http tradegraph http://127.0.0.1:8765/mcp --header "
    '"Authorization: Bearer $KEY"': Row(
        run_as=f"{SERVING} "
        + shlex.quote(
            "python {root}/tests/mcp_client.py http http://127.0.0.1:8765/mcp "
            '--header "Authorization: Bearer $KEY"'
        ),
        why=f"{SERVING_WHY}, an MCP client on the SDK stands in for claude (not here): it "
        "connects to /mcp with the key, lists the tools and calls risk_status",
        expect=(
            "server tradegraph",
            "propose_trade",
            '"state": "ACTIVE"',
            '"POST /mcp HTTP/1.1" 200',
        ),
    ),
    "tradegraph portfolio optimize --market ../shared/markets/binance-2020-09_2021-10 "
    "--symbols BTC/USDT,ETH/USDT,SOL/USDT,BNB/USDT --timeframe 1d --method hrp": Row(
        expect=("hrp", "SOL/USDT", "risk.max_position_fraction")
    ),
}


def _needs(command: str, row: Row) -> tuple[Path, ...]:
    text = " ".join((command, row.run_as or "", *row.setup))
    return row.needs + ((MARKETS,) if "../shared/markets" in text else ())


def _case(command: str, row: Row) -> Any:
    marks = [pytest.mark.slow] if row.slow else []
    needs = _needs(command, row)
    if MARKETS in needs:
        marks.append(pytest.mark.recorded)
    missing = [path for path in needs if not path.exists()]
    if missing:
        marks.append(
            pytest.mark.skip(reason=f"{missing[0]} is absent: this README command reads it")
        )
    slug = re.sub(r"[^A-Za-z0-9.:]+", "-", command.removeprefix("tradegraph ")).strip("-")
    return pytest.param(command, row, id=slug[:70], marks=marks)


_prepared: dict[tuple[Any, ...], Path] = {}


@contextmanager
def _sandbox(base: Path, row: Row, templates: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A checkout with the row's files written and its setup done. A setup without the server
    is done once and copied, so rows that share it do not replay it again."""
    server: AbstractContextManager[tuple[str | None, list[dict[str, Any]]]] = (
        scripted_anthropic_server() if row.anthropic else nullcontext((None, []))
    )
    with server as (url, seen):
        extra = dict(row.env) | ({"ANTHROPIC_BASE_URL": url} if url else {})
        if row.anthropic:
            yield _set_up(base, row, extra, seen)
            return
        key = (row.setup, row.prepare)
        if key not in _prepared:
            template = templates.mktemp("readme-setup")
            _set_up(template, row, extra, seen)
            _prepared[key] = template
        shutil.copytree(_prepared[key] / "checkout", base / "checkout", symlinks=True)
        checkout = _link_checkout(base)
        yield Sandbox(checkout, _environment(checkout, extra), _values(checkout), seen)


def _set_up(base: Path, row: Row, extra: Mapping[str, str], seen: list[Any]) -> Sandbox:
    checkout = _link_checkout(base)
    sandbox = Sandbox(checkout, _environment(checkout, extra), seen=seen)
    if row.prepare is not None:
        row.prepare(checkout)
    for command in row.setup:
        done = sandbox.sh(command)
        assert done.returncode == 0, f"setup {command!r}: {done.stdout}{done.stderr}"
    sandbox.requests_before = len(seen)
    sandbox.values = _values(checkout)
    return sandbox


def _values(checkout: Path) -> dict[str, str]:
    values = {"root": str(ROOT)}
    if (checkout / "setup.json").is_file():
        values["run_id"] = json.loads((checkout / "setup.json").read_text())["run_id"]
    return values


# --- the tests --------------------------------------------------------------------------------


def test_commands_are_read_as_bash_reads_them() -> None:
    text = (
        "```sh\n"
        "# a comment line\n"
        'tradegraph risk halt --reason "a # in quotes"   # trailing comment\n'
        "tradegraph run --market m \\\n"
        "    --bars 5          # after a continuation\n"
        "```\n"
        "```toml\nnot = 'a command'\n```\n"
    )

    assert readme_commands(text) == [
        'tradegraph risk halt --reason "a # in quotes"',
        "tradegraph run --market m --bars 5",
    ]


def test_the_readme_prometheus_scrape_config_reads_the_metrics_with_a_viewers_key(
    tmp_path: Path,
) -> None:
    [block] = [b for b in YAML_BLOCK.findall(README.read_text()) if "scrape_configs" in b]
    (job,) = yaml.safe_load(block)["scrape_configs"]
    viewer = make_keys(tmp_path)["viewer"]
    with served_operator(tmp_path) as served:
        response = httpx.get(
            f"{served.url}{job['metrics_path']}",
            headers={"authorization": f"{job['authorization']['type']} {viewer}"},
        )

    assert job["static_configs"] == [{"targets": ["127.0.0.1:8765"]}]
    assert response.status_code == 200, response.text
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"tradegraph_decisions", "tradegraph_breaker_state"} <= names


def test_every_readme_command_has_a_row() -> None:
    commands = readme_commands(README.read_text())

    assert len(commands) >= 20
    assert [c for c in commands if c not in ROWS] == [], "README commands without a row"
    assert [c for c in ROWS if c not in commands] == [], "rows whose command left the README"
    assert all(bool(row.run_as) == bool(row.why) for row in ROWS.values())


@pytest.mark.parametrize(("command", "row"), [_case(c, r) for c, r in ROWS.items()])
def test_readme_command_runs_as_documented(
    command: str, row: Row, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with _sandbox(tmp_path, row, tmp_path_factory) as sandbox:
        run = (row.run_as or command).format_map(sandbox.values)

        done = sandbox.sh(run)

        out = done.stdout + done.stderr
        assert done.returncode == row.code, f"{run}\n{out}"
        assert "Traceback" not in out
        for fragment in (f.format_map(sandbox.values) for f in row.expect):
            assert fragment in out, f"{fragment!r} missing from the output of {run}:\n{out}"
        if row.check is not None:
            row.check(sandbox, done.stdout)

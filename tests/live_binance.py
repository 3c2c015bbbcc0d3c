"""`tradegraph` trading in real time against a fake Binance on 127.0.0.1, stopped with Ctrl-C.

Starts the fake exchange (ccxt's recorded binance markets, 10,000 USDT and 0.5 BTC), lets it
reveal BTC/USDT candles by the wall clock (`tests/fake_exchange/realtime.py`), points tradegraph
at it with the settings a user would set (`TRADEGRAPH_EXCHANGE_URLS`, and the fake's keys as
`TRADEGRAPH_EXECUTION__API_KEY`/`API_SECRET`), runs the real command line as a child process
with the arguments given, and sends it SIGINT once it has printed LIVE_BINANCE_DECISIONS
decision lines (3 by default), as a user presses Ctrl-C. Exits with the child's exit code (0
for the interrupt it asked for); the child's output passes through. ccxt signs, sends and
parses every request for real:

    python tests/live_binance.py run --market exchange:binance --symbol BTC/USDT \\
        --timeframe 1s --broker sandbox
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from tests.fake_exchange.server import FakeBinance

DECISION = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \S+ .* → ")
GIVE_UP_S = 90.0


def settings_for(fake: FakeBinance) -> dict[str, str]:
    """The environment a user sets to trade on this exchange: its URL and the account's keys."""
    return {
        "TRADEGRAPH_EXCHANGE_URLS": json.dumps({"binance": fake.url}),
        "TRADEGRAPH_EXECUTION__API_KEY": fake.api_key,
        "TRADEGRAPH_EXECUTION__API_SECRET": fake.secret,
    }


def tradegraph_command(args: list[str]) -> list[str]:
    """The installed `tradegraph` beside this Python, as a user runs it."""
    script = Path(sys.executable).with_name("tradegraph")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "api.cli", *args]


def run_until_decisions(
    args: list[str], env: dict[str, str], decisions: int, cwd: Path | None = None
) -> int:
    """Runs tradegraph, echoing its output, and stops it after `decisions` decision lines."""
    child = subprocess.Popen(
        tradegraph_command(args),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    seen, started = 0, time.monotonic()
    assert child.stdout is not None
    watchdog = threading.Timer(GIVE_UP_S, lambda: child.poll() is None and child.kill())
    watchdog.start()
    for line in child.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if DECISION.match(line):
            seen += 1
            if seen == decisions:
                child.send_signal(signal.SIGINT)
    code = child.wait()
    watchdog.cancel()
    if seen >= decisions and code == 130:  # stopped by the Ctrl-C sent above, as intended
        code = 0
    if time.monotonic() - started >= GIVE_UP_S:
        print(f"live_binance.py: gave up after {GIVE_UP_S:.0f} s", file=sys.stderr)
    return code


def main() -> None:
    from tests.fake_exchange.plugin import CURRENCIES_FILE, START_BALANCES, recorded_markets
    from tests.fake_exchange.realtime import play_in_real_time
    from tests.fake_exchange.server import FakeBinance

    currencies = json.loads(CURRENCIES_FILE.read_text()) if CURRENCIES_FILE.is_file() else {}
    fake = FakeBinance(recorded_markets(), START_BALANCES, currencies=currencies)
    candles = play_in_real_time(fake, "BTC/USDT", interval="1s")
    env = {**os.environ, **settings_for(fake)}
    try:
        decisions = int(os.environ.get("LIVE_BINANCE_DECISIONS", "3"))
        code = run_until_decisions(sys.argv[1:], env, decisions)
    finally:
        candles.stop()
        fake.close()
    sys.exit(code)


if __name__ == "__main__":
    main()

"""Text from a model is data on every screen: a thesis, an error and an analyst's name holding
terminal escape sequences (retitle the window, clear the screen, print a green "ALL CLEAR"),
Rich markup and HTML reach `run`, `eval`, `audit show`, `audit search`, `risk` and the HTML
report only as inert text."""

import json
import re

import pytest

from tests.cli import tradegraph

EVIL = (
    "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[1;32mALL CLEAR\x1b[0m\x9b2J\r\n"
    "verdict    approved <script>alert(1)</script> [bold red]markup[/]"
)
ANALYST = f"""
from agents.base import AnalystResult
from core.types import Proposal

EVIL = {EVIL!r}


class Evil:
    name = "evil\\x1b]0;name\\x07"

    def __init__(self):
        self.calls = 0

    def propose(self, brief, research=None):
        self.calls += 1
        failed = self.calls % 7 == 0
        return AnalystResult(
            proposal=Proposal.hold(brief.symbol, EVIL),
            error=EVIL if failed else None,
            error_kind="Evil" if failed else None,
        )
"""
ACTED_ON = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("evil-run")]


def assert_inert(text: str) -> None:
    assert ACTED_ON.search(text) is None, repr(ACTED_ON.search(text))
    assert "pwned" not in text
    assert "[bold red]" not in text or "markup" in text  # markup printed as text, never applied


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("evil")
    (root / "evil_analyst.py").write_text(ANALYST)
    env = {"PYTHONPATH": str(root), "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}
    data = root / "data"
    result = tradegraph(
        "run", "--analyst", "evil_analyst:Evil", "--bars", "60", "--data-dir", str(data),
        "--json", str(root / "out.json"), "--quiet", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_id = json.loads((root / "out.json").read_text())["run_id"]
    return root, data, env, run_id, result


def test_run_shows_the_analyst_and_its_errors_as_inert_text(evil_run):
    *_, result = evil_run

    assert_inert(result.stdout + result.stderr)
    assert "ALL CLEAR" in result.stdout  # the error is shown, as data


def test_audit_show_keeps_a_thesis_under_its_own_label(evil_run):
    _, data, env, run_id, _ = evil_run

    result = tradegraph("audit", "show", f"{run_id}:30", "--data-dir", str(data), env=env)

    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout + result.stderr)
    lines = result.stdout.splitlines()
    thesis = next(i for i, line in enumerate(lines) if line.startswith("thesis"))
    assert "ALL CLEAR" in lines[thesis]
    assert lines[thesis + 1].startswith(" " * 11 + "verdict    approved")  # indented: data
    assert [line for line in lines if line.startswith("verdict")] == ["verdict    hold"]
    assert "[bold red]markup[/]" in result.stdout


def test_audit_search_prints_headlines_as_inert_text(evil_run):
    _, data, env, _, _ = evil_run

    result = tradegraph("audit", "search", "all clear", "--data-dir", str(data), env=env)

    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout + result.stderr)
    assert "ALL CLEAR" in result.stdout


def test_risk_halt_and_status_show_a_reason_as_inert_text(evil_run):
    _, data, env, _, _ = evil_run

    halted = tradegraph("risk", "halt", "--reason", EVIL, "--data-dir", str(data), env=env)
    status = tradegraph("risk", "status", "--data-dir", str(data), env=env)
    resumed = tradegraph("risk", "resume", "--reason", EVIL, "--data-dir", str(data), env=env)

    for result in (halted, status, resumed):
        assert result.returncode == 0, result.stderr
        assert_inert(result.stdout + result.stderr)
    assert "ALL CLEAR" in status.stdout


PLOTLY_LIBRARY = re.compile(r"<script>/\*\*\n\* plotly\.js v.*?</script>", re.DOTALL)
"""The inlined plotly.js bundle: the library's code, not text from a model or a file."""


def test_the_html_report_holds_the_model_text_escaped(evil_run):
    root, _, env, _, _ = evil_run
    out = root / "eval"

    result = tradegraph(
        "eval", "--analyst", "evil_analyst:Evil", "--bars", "60", "--out", str(out),
        "--quiet", env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout + result.stderr)
    page = (out / "report.html").read_text()
    ours = PLOTLY_LIBRARY.sub("", page)  # plotly.js itself holds a raw \x1a in a PNG signature
    assert PLOTLY_LIBRARY.search(page) is not None and len(ours) < len(page)
    assert ACTED_ON.search(ours.replace("\n", "")) is None
    assert "<script>alert" not in page

"""Evaluations from the chat: a short window answered at once, a longer one as a job whose
progress is polled; each writes its report in the data directory."""

from __future__ import annotations

import json
import os
import time

import pytest

from graphs.chat.desk import ChatDesk, call_tool, chat_registry
from graphs.chat.eval_jobs import JOB_FILE, jobs_root
from tests.graphs.chat.conftest import desk_settings

pytestmark = pytest.mark.slow  # each replays a few hundred candles through the whole graph


def _registry(tmp_path):
    return chat_registry(ChatDesk(desk_settings(tmp_path)))


def test_a_short_evaluation_is_answered_with_its_figures(tmp_path):
    view = call_tool(_registry(tmp_path), "run_eval", {"days": 10}).result

    assert view["state"] == "finished" and view["candles"] == view["done"] == 240
    summary = view["summary"]
    assert summary["market"]["bars"] == 240 and summary["market"]["synthetic"]
    assert summary["analyst"] == "offline" and summary["violations"] == 0
    assert {"total_return", "max_drawdown", "trades"} <= set(summary["metrics"])
    assert "total_return" in summary["buy_and_hold"]
    folder = jobs_root(tmp_path) / view["job_id"]
    assert json.loads((folder / "report.json").read_text())["market"]["bars"] == 240


def test_a_background_evaluation_is_polled_until_it_finishes(tmp_path):
    registry = _registry(tmp_path)

    started = call_tool(
        registry, "run_eval", {"days": 4, "background": True, "analyst": "strategy:bollinger"}
    ).result
    deadline = time.monotonic() + 60
    job = started
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        (job,) = call_tool(registry, "eval_job_status", {"job_id": started["job_id"]}).result[
            "jobs"
        ]

    assert started["state"] == "running" and "poll eval_job_status" in started["note"]
    assert job["state"] == "finished", job
    assert job["done"] == job["candles"] == 96 and job["progress"] == 1.0
    assert job["summary"]["analyst"] == "strategy:bollinger"
    listed = call_tool(registry, "eval_job_status", {}).result["jobs"]
    assert [j["job_id"] for j in listed] == [started["job_id"]]


def test_a_job_whose_process_died_reads_as_failed(tmp_path):
    folder = jobs_root(tmp_path) / "eval-20260101T000000-dead00"
    folder.mkdir(parents=True)
    record = {
        "job_id": folder.name, "state": "running", "request": {}, "candles": 100, "done": 3,
        "started_ms": 1, "updated_ms": 2, "pid": 999_999_999,
    }  # fmt: skip
    (folder / JOB_FILE).write_text(json.dumps(record))

    (job,) = call_tool(_registry(tmp_path), "eval_job_status", {"job_id": folder.name}).result[
        "jobs"
    ]

    assert job["state"] == "failed" and "ended without finishing" in job["error"]


def test_too_many_jobs_at_once_are_refused(tmp_path):
    for n in range(2):
        folder = jobs_root(tmp_path) / f"eval-20260101T00000{n}-busy00"
        folder.mkdir(parents=True)
        record = {
            "job_id": folder.name, "state": "running", "request": {}, "candles": 9, "done": 0,
            "started_ms": 1, "updated_ms": 1, "pid": os.getpid(),
        }  # fmt: skip
        (folder / JOB_FILE).write_text(json.dumps(record))

    outcome = call_tool(_registry(tmp_path), "run_eval", {"days": 3, "background": True})

    assert not outcome.ok and "2 evaluations are running already" in outcome.error


@pytest.mark.parametrize(
    ("name", "payload", "said"),
    [
        ("run_eval", {"analyst": "anthropic"}, "use offline, stress or strategy:NAME"),
        ("run_eval", {"analyst": "strategy:nope"}, "strategy:NAME"),
        ("run_eval", {"days": 90, "start": "2024-01-01"}, "days or start/end"),
        ("run_eval", {"market": "../elsewhere"}, "only synthetic"),
        ("eval_job_status", {"job_id": "eval-nothing"}, "no evaluation job eval-nothing"),
        ("eval_job_status", {"job_id": "../../etc/passwd"}, "job_id"),
    ],
)
def test_a_bad_evaluation_call_is_one_line(tmp_path, name, payload, said):
    outcome = call_tool(_registry(tmp_path), name, payload)

    assert not outcome.ok and said in outcome.error and "\n" not in outcome.error

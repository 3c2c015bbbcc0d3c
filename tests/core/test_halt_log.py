"""The halt log: a hash chain of every kill switch change, readable after any crash."""

import json

import pytest

from core.halt_log import GENESIS, HaltLog, HaltLogBrokenError

KEY = "risk/alice/kill_switch"


def engaged(since_ms: int = 1, reason: str = "drawdown") -> dict:
    return {"engaged": True, "reason": reason, "since_ms": since_ms, "by": "manual"}


def released(since_ms: int = 2) -> dict:
    return {"engaged": False, "reason": "reviewed", "since_ms": since_ms, "by": "manual"}


def test_events_chain_and_the_last_one_per_switch_is_the_state(tmp_path):
    log = HaltLog(tmp_path / "halt_log.jsonl")

    first = log.append(KEY, engaged())
    second = log.append(KEY, released())
    log.append("risk/global/kill_switch", engaged(3))
    state = log.read()

    assert first is not None and second is not None
    assert first.prev == GENESIS and second.prev == first.hash
    assert state.events == 3
    assert state.last[KEY].engaged is False
    assert set(state.engaged()) == {"risk/global/kill_switch"}


def test_the_same_record_twice_is_logged_once(tmp_path):
    log = HaltLog(tmp_path / "halt_log.jsonl")

    log.append(KEY, engaged())
    again = log.append(KEY, engaged())

    assert again is None
    assert log.read().events == 1


@pytest.mark.parametrize("edit", ["reason", "engaged", "delete_first", "swap"])
def test_an_edited_removed_or_reordered_line_breaks_the_chain(tmp_path, edit):
    path = tmp_path / "halt_log.jsonl"
    log = HaltLog(path)
    log.append(KEY, engaged())
    log.append(KEY, released())
    log.append(KEY, engaged(3, "again"))
    lines = path.read_text().splitlines()
    if edit in ("reason", "engaged"):
        event = json.loads(lines[2])
        event[edit] = "nothing" if edit == "reason" else False
        lines[2] = json.dumps(event)
    elif edit == "delete_first":
        lines = lines[1:]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(HaltLogBrokenError, match="broken at line"):
        log.read()


def test_a_torn_last_line_is_dropped_by_the_next_append(tmp_path):
    path = tmp_path / "halt_log.jsonl"
    log = HaltLog(path)
    log.append(KEY, engaged())
    with path.open("ab") as handle:  # a crash inside an append: half a line, no newline
        handle.write(b'{"seq":1,"key":"risk/alice/kill')

    before = log.read()
    log.append(KEY, released())
    after = log.read()

    assert before.events == 1
    assert after.events == 2
    assert after.last[KEY].engaged is False


def test_a_halt_is_appended_to_a_broken_log_all_the_same(tmp_path):
    path = tmp_path / "halt_log.jsonl"
    log = HaltLog(path)
    log.append(KEY, released())
    path.write_text(path.read_text().replace("reviewed", "edited"))

    event = log.append(KEY, engaged(5), only_if_changed=False)

    assert event is not None and event.engaged
    with pytest.raises(HaltLogBrokenError):
        log.read()

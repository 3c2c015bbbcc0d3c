"""The run registry and the chained log under it: appends chain, edits break, a torn tail is not."""

import json
import multiprocessing

import pytest

from core.chained_log import GENESIS, ChainedLog, ChainedLogBrokenError
from core.run_registry import REGISTRY_NAME, RunRegistry


def test_a_runs_life_is_recorded_in_order(tmp_path):
    registry = RunRegistry(tmp_path)

    registry.open_run("r1")
    registry.mark("r1", 255, "a" * 64)
    registry.seal("r1", 299, "b" * 64)
    registry.open_run("r2")
    runs = registry.runs()

    assert [m.kind for m in runs["r1"].marks] == ["open", "mark", "seal"]
    assert runs["r1"].sealed is not None and runs["r1"].sealed.seq == 299
    assert runs["r2"].sealed is None and runs["r2"].points == []


def test_a_run_opened_again_after_its_seal_is_no_longer_sealed(tmp_path):
    registry = RunRegistry(tmp_path)
    registry.open_run("r1")
    registry.seal("r1", 9, "b" * 64)

    registry.open_run("r1")  # resumed

    assert registry.runs()["r1"].sealed is None


def test_lines_chain_from_genesis(tmp_path):
    log = ChainedLog(tmp_path / "log.jsonl")

    first = log.append({"x": 1})
    second = log.append({"x": 2})

    assert first["prev"] == GENESIS and second["prev"] == first["hash"]
    assert [e["seq"] for e in log.read()] == [0, 1]


@pytest.mark.parametrize("edit", ["value", "delete_first", "swap", "insert"])
def test_an_edited_removed_reordered_or_inserted_line_breaks_the_chain(tmp_path, edit):
    path = tmp_path / "log.jsonl"
    log = ChainedLog(path)
    for i in range(3):
        log.append({"x": i})
    lines = path.read_text().splitlines(keepends=True)
    if edit == "value":
        lines[1] = lines[1].replace('"x":1', '"x":7')
    elif edit == "delete_first":
        del lines[0]
    elif edit == "swap":
        lines[0], lines[1] = lines[1], lines[0]
    else:
        lines.insert(1, json.dumps(json.loads(lines[0])) + "\n")
    path.write_text("".join(lines))

    with pytest.raises(ChainedLogBrokenError):
        log.read()


def test_a_torn_last_line_is_not_part_of_the_chain_and_the_next_append_drops_it(tmp_path):
    path = tmp_path / "log.jsonl"
    log = ChainedLog(path)
    log.append({"x": 0})
    with path.open("a") as f:
        f.write('{"x":1,"se')  # a crash inside an append, before its newline

    assert len(log.read()) == 1
    log.append({"x": 2})

    assert [e["x"] for e in log.read()] == [0, 2]


def _append_many(path: str, tag: str) -> None:
    log = ChainedLog(path)
    for i in range(50):
        log.append({"tag": tag, "i": i})


def test_two_processes_appending_at_once_keep_one_chain(tmp_path):
    path = str(tmp_path / REGISTRY_NAME)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(path, t)) for t in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    entries = ChainedLog(tmp_path / REGISTRY_NAME).read()

    assert len(entries) == 100

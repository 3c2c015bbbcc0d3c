"""`audit verify` against every way of altering what steers and records decisions.

One paper run is made once; each case copies its data directory, alters it one way, and runs
`audit verify` on the copy. Every case must end in exit 1 naming what was altered: the count
of passing cases is "tamper cases detected out of tried".
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.offline import OfflineAnalyst
from api.audit_verify import repair, verify
from core.market.synthetic import generate_synthetic
from core.run_registry import REGISTRY_NAME
from core.settings import Settings
from core.types import MarketInfo
from graphs.session import SessionPlan, run_session
from memory.embeddings import text_embedder
from memory.store import existing_collection, open_chroma
from memory.traces import TraceStore, load_run, trace_id

RUN = "audited"
BARS = 400  # past a registry mark (every 256 traces), with fills, stops and lessons


@dataclass(frozen=True)
class Stores:
    root: Path

    def collection(self, name: str):
        return existing_collection(open_chroma(self.root), name, str(self.root))

    def ledger(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "ledger.sqlite", isolation_level=None)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    info = MarketInfo(source="synthetic:5", symbol="SYN/USDT", timeframe="1h", synthetic=True)
    plan = SessionPlan(
        run_id=RUN,
        info=info,
        series=generate_synthetic(5, bars=BARS),
        settings=Settings(),
        data_dir=root,
    )
    run_session(plan, OfflineAnalyst())
    return root


@pytest.fixture
def copy(pristine, tmp_path) -> Stores:
    root = tmp_path / "data"
    shutil.copytree(pristine, root)
    return Stores(root)


def audit(root: Path, capsys, command: Callable[..., None] = verify, *args) -> tuple[int, str]:
    """Exit code and output of an audit command run in this process."""
    try:
        command(*(args or (None, None)), root)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


# ---- the ways of altering a data directory ----


def delete_whole_run(s: Stores) -> str:
    traces = s.collection("traces")
    traces.delete(ids=[trace_id(RUN, i) for i in range(BARS)])
    s.collection("trace_runs").delete(ids=[RUN])
    return "the store holds none of its traces"


def rehash_and_move_head(s: Stores) -> str:
    traces, runs = s.collection("traces"), s.collection("trace_runs")
    chain = load_run(traces, RUN)
    chain[100] = chain[100].model_copy(
        update={"proposal": chain[100].proposal.model_copy(update={"thesis": "all fine"})}
    )
    forger = TraceStore(traces, RUN, embedder=text_embedder(Settings().memory.embedding), runs=runs)
    for trace in chain:  # every link re-hashed, and the head record moved to the new end
        forger.append(trace)
    forger.close()
    return "the chain was rewritten"


def edit_trace_in_place(s: Stores) -> str:
    traces = s.collection("traces")
    meta = traces.get(ids=[trace_id(RUN, 123)], include=["metadatas"])["metadatas"][0]
    edited = json.loads(meta["trace"])
    edited["equity"] = 1_000_000.0
    traces.update(ids=[trace_id(RUN, 123)], metadatas=[{**meta, "trace": json.dumps(edited)}])
    return "first broken link at trace 123"


def delete_trace_mid_chain(s: Stores) -> str:
    s.collection("traces").delete(ids=[trace_id(RUN, 200)])
    return "trace 200 is missing"


def drop_newest_and_move_head_back(s: Stores) -> str:
    traces, runs = s.collection("traces"), s.collection("trace_runs")
    chain = load_run(traces, RUN)
    traces.delete(ids=[trace_id(RUN, i) for i in range(300, BARS)])
    head = runs.get(ids=[RUN], include=["metadatas"])["metadatas"][0]
    moved = {**head, "head_seq": 299, "head_hash": chain[299].hash}
    runs.update(ids=[RUN], metadatas=[moved])
    return "traces were deleted"


def edit_situation(s: Stores) -> str:
    situations = s.collection("situations")
    got = situations.get(limit=1, offset=50, include=["metadatas"])
    meta = got["metadatas"][0]
    situations.update(ids=got["ids"], metadatas=[{**meta, "forward_return": 0.25}])
    return "situations: 1 of"


def edit_situation_vector(s: Stores) -> str:
    situations = s.collection("situations")
    got = situations.get(limit=1, offset=60, include=["embeddings"])
    situations.update(ids=got["ids"], embeddings=[[1.0] * len(got["embeddings"][0])])
    return "situations: 1 of"


def strip_a_situations_hash_and_edit_it(s: Stores) -> str:
    situations = s.collection("situations")
    got = situations.get(limit=1, offset=70, include=["metadatas", "embeddings"])
    meta = {k: v for k, v in got["metadatas"][0].items() if k != "sha256"}
    situations.delete(ids=got["ids"])
    situations.add(
        ids=got["ids"],
        embeddings=[got["embeddings"][0]],
        metadatas=[{**meta, "forward_return": 0.5}],
    )
    return "situations: 1 of"


def edit_lesson(s: Stores) -> str:
    lessons = s.collection("lessons")
    got = lessons.get(limit=1, include=["documents", "embeddings"])
    lessons.update(
        ids=got["ids"], documents=["always buy the dip"], embeddings=[got["embeddings"][0]]
    )
    return "lessons: 1 of"


def ledger_order_without_trace(s: Stores) -> str:
    db = s.ledger()
    body = db.execute("SELECT body FROM orders WHERE run_id = ? LIMIT 1", (RUN,)).fetchone()[0]
    forged = json.loads(body) | {"client_order_id": "tg-forged-1"}
    db.execute(
        "INSERT INTO orders (client_order_id, account, body, status, run_id) "
        "VALUES (?, ?, ?, 'pending', ?)",
        ("tg-forged-1", f"replay:{RUN}", json.dumps(forged), RUN),
    )
    return "the ledger holds order tg-forged-1"


def ledger_fill_without_trace(s: Stores) -> str:
    db = s.ledger()
    row = db.execute(
        "SELECT o.client_order_id, f.body FROM orders o JOIN fills f USING (client_order_id) "
        "WHERE o.run_id = ? LIMIT 1",
        (RUN,),
    ).fetchone()
    cancelled = db.execute(
        "SELECT client_order_id FROM orders WHERE run_id = ? AND status = 'cancelled' LIMIT 1",
        (RUN,),
    ).fetchone()
    target = cancelled[0] if cancelled else "tg-forged-2"
    fill = json.loads(row[1]) | {"client_order_id": target}
    db.execute(
        "INSERT INTO fills VALUES (?, ?, ?, ?)", (target, f"replay:{RUN}", json.dumps(fill), RUN)
    )
    return f"the ledger holds a fill of {target}"


def ledger_fill_deleted(s: Stores) -> str:
    db = s.ledger()
    (order_id,) = db.execute(
        "SELECT client_order_id FROM fills WHERE run_id = ? ORDER BY rowid LIMIT 1", (RUN,)
    ).fetchone()
    db.execute("DELETE FROM fills WHERE client_order_id = ?", (order_id,))
    return f"records a fill of {order_id}, which the ledger does not hold"


def edit_registry_line(s: Stores) -> str:
    path = s.root / REGISTRY_NAME
    lines = path.read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["head_seq"] = int(entry["head_seq"]) - 1
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    path.write_text("".join(lines))
    return "run registry: " + str(path) + " is broken at line 2"


def cut_the_seal_and_delete_the_run(s: Stores) -> str:
    path = s.root / REGISTRY_NAME
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # a tail line can go unnoticed by the log alone
    delete_whole_run(s)
    return "the store holds none of its traces"


TAMPERINGS = [
    delete_whole_run,
    rehash_and_move_head,
    edit_trace_in_place,
    delete_trace_mid_chain,
    drop_newest_and_move_head_back,
    edit_situation,
    edit_situation_vector,
    strip_a_situations_hash_and_edit_it,
    edit_lesson,
    ledger_order_without_trace,
    ledger_fill_without_trace,
    ledger_fill_deleted,
    edit_registry_line,
    cut_the_seal_and_delete_the_run,
]


def test_an_untouched_data_directory_verifies_clean(copy, capsys):
    code, out = audit(copy.root, capsys)

    assert code == 0, out
    assert f"run {RUN}: {BARS} traces, chain intact, head " in out
    assert "situations:" in out and "lessons:" in out and "BROKEN" not in out


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__)
def test_verify_reports_each_tampering(copy, capsys, tamper):
    expected = tamper(copy)

    code, out = audit(copy.root, capsys)

    assert code == 1, out
    assert "BROKEN" in out and "altered" in out, out
    assert expected in out, out


def test_a_situation_from_before_records_were_hashed_is_not_called_altered(copy, capsys):
    situations = copy.collection("situations")
    got = situations.get(limit=1, include=["metadatas", "embeddings"])
    meta = {k: v for k, v in got["metadatas"][0].items() if k not in ("sha256", "vector")}
    situations.add(
        ids=["legacy:1"],
        embeddings=[got["embeddings"][0]],
        metadatas=[{**meta, "trace_id": "an-older-run:00000001"}],
    )

    code, out = audit(copy.root, capsys)

    assert code == 0, out
    assert "1 from before records were hashed, unchecked" in out


def test_the_full_chain_head_is_printed_and_matches_the_seal(copy, capsys):
    chain = load_run(copy.collection("traces"), RUN)
    seal = json.loads((copy.root / REGISTRY_NAME).read_text().splitlines()[-1])

    _, out = audit(copy.root, capsys)

    assert seal["kind"] == "seal" and seal["head"] == chain[-1].hash
    assert f"head {chain[-1].hash}" in out


def _interrupt(s: Stores, at: int) -> None:
    """What a process killed between writing traces and moving the head record leaves."""
    runs = s.collection("trace_runs")
    chain = load_run(s.collection("traces"), RUN)
    head = runs.get(ids=[RUN], include=["metadatas"])["metadatas"][0]
    runs.update(ids=[RUN], metadatas=[{**head, "head_seq": at, "head_hash": chain[at].hash}])


def test_a_write_cut_short_before_the_head_record_is_interrupted_not_altered(copy, capsys):
    _interrupt(copy, 383)

    code, out = audit(copy.root, capsys)

    assert code == 1
    assert "INTERRUPTED" in out and "audit repair" in out
    assert "BROKEN" not in out and "altered" not in out


def test_repair_moves_the_head_to_what_the_chain_proves(copy, capsys):
    _interrupt(copy, 383)

    repaired, out = audit(copy.root, capsys, repair, None)
    code, verified = audit(copy.root, capsys)

    assert repaired == 0 and "head record moved from trace 383 to trace 399" in out
    assert code == 0, verified


def test_repair_leaves_an_edited_chain_alone(copy, capsys):
    edit_trace_in_place(copy)
    _interrupt(copy, 50)
    runs = copy.collection("trace_runs")
    before = runs.get(ids=[RUN], include=["metadatas"])["metadatas"][0]

    audit(copy.root, capsys, repair, None)

    assert runs.get(ids=[RUN], include=["metadatas"])["metadatas"][0] == before


@pytest.mark.parametrize("command", ["prune", "repair"])
def test_prune_and_repair_refuse_while_another_process_writes(copy, command):
    from api.audit_command import prune
    from core.writer_lock import DataDirInUseError, writer_lock

    run = (
        (lambda: prune("0m", None, copy.root))
        if command == "prune"
        else (lambda: repair(None, copy.root))
    )

    with writer_lock(copy.root, "tradegraph run"), pytest.raises(DataDirInUseError):
        run()

    assert copy.collection("traces").count() == BARS

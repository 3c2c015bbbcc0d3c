"""`tradegraph audit` as an auditor runs it: real processes against a real run's store."""

import json

import pytest

from memory.store import existing_collection, open_chroma
from memory.traces import trace_id
from tests.cli import assert_one_line_error, tradegraph

# The tests that read the one audited run share a worker, so the run is made once.
AUDITED_RUN = pytest.mark.xdist_group("audited-run")


@pytest.fixture(scope="module")
def audited_run(tmp_path_factory):
    """One short paper run on the synthetic market; its data directory and run id."""
    data = tmp_path_factory.mktemp("audited")
    result = tradegraph(
        "run", "--market", "synthetic:5", "--bars", "1200", "--data-dir", str(data),
        "--json", str(data / "out.json"), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return data, json.loads((data / "out.json").read_text())["run_id"]


@pytest.mark.slow
@AUDITED_RUN
def test_verify_passes_on_an_untouched_run(audited_run):
    data, run_id = audited_run

    result = tradegraph("audit", "verify", "--data-dir", str(data))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"run {run_id}: 1,200 traces, chain intact" in result.stdout


@pytest.mark.slow
@AUDITED_RUN
def test_show_prints_one_trace_readably(audited_run):
    data, run_id = audited_run

    result = tradegraph("audit", "show", f"{run_id}:250", "--data-dir", str(data))

    assert result.returncode == 0, result.stderr
    for label in ("market", "analyst", "proposal", "thesis", "verdict", "hash", "prev"):
        assert f"\n{label}" in "\n" + result.stdout
    assert f"trace {trace_id(run_id, 250)}" in result.stdout


@pytest.mark.slow
@AUDITED_RUN
def test_search_combines_meaning_with_filters(audited_run):
    data, run_id = audited_run

    result = tradegraph(
        "audit", "search", "exit because the trend broke", "--action", "SELL",
        "--symbol", "SYN/USDT", "--from", "2024-01-01", "--to", "2024-03-01",
        "--limit", "3", "--data-dir", str(data),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    hits = [line for line in result.stdout.splitlines() if line.startswith(run_id)]
    assert 1 <= len(hits) <= 3
    assert all(" SELL " in line for line in hits)
    assert "trend broke" in result.stdout


@pytest.mark.slow
@AUDITED_RUN
def test_search_with_filters_nothing_matches_says_so(audited_run):
    data, _ = audited_run

    result = tradegraph(
        "audit", "search", "anything", "--symbol", "NOPE/USDT", "--data-dir", str(data)
    )

    assert result.returncode == 0 and "no trace matches" in result.stdout


@pytest.mark.slow
@AUDITED_RUN
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("show", "not-a-trace-id"), "is not a trace id"),
        (("show", "no-such-run:3"), "no trace no-such-run:3"),
        (("search", "x", "--action", "SHORT"), "choose BUY, SELL or HOLD"),
        (("search", "  "), "search text is empty"),
        (("prune", "--older-than", "soon"), "use a duration such as 90d"),
        (("verify", "--run", "no-such-run"), "no run 'no-such-run'"),
    ],
)
def test_audit_mistakes_get_one_line(audited_run, args, fragment):
    data, _ = audited_run

    result = tradegraph("audit", *args, "--data-dir", str(data))

    assert_one_line_error(result, fragment)


def test_auditing_a_folder_without_a_store_says_so(tmp_path):
    result = tradegraph("audit", "verify", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "no trace store in", "run `tradegraph run` first")


@pytest.mark.slow
def test_editing_any_stored_trace_makes_verify_fail_naming_it(tmp_path):
    data = tmp_path / "tampered"
    run = tradegraph(
        "run", "--market", "synthetic:2", "--bars", "300", "--data-dir", str(data),
        "--json", str(tmp_path / "out.json"), "--quiet",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    run_id = json.loads((tmp_path / "out.json").read_text())["run_id"]
    traces = existing_collection(open_chroma(data), "traces", str(data))
    tid = trace_id(run_id, 123)
    meta = traces.get(ids=[tid], include=["metadatas"])["metadatas"][0]
    edited = json.loads(meta["trace"])
    edited["proposal"]["thesis"] = "nothing to see here"
    traces.update(ids=[tid], metadatas=[{**meta, "trace": json.dumps(edited)}])

    result = tradegraph("audit", "verify", "--data-dir", str(data))

    assert result.returncode == 1
    assert f"run {run_id}: first broken link at trace 123" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_prune_keeps_the_chain_verifiable(tmp_path):
    data = tmp_path / "pruned"
    run = tradegraph(
        "run", "--market", "synthetic:2", "--bars", "200", "--data-dir", str(data), "-q"
    )
    assert run.returncode == 0, run.stderr

    pruned = tradegraph("audit", "prune", "--older-than", "0m", "--data-dir", str(data))
    verified = tradegraph("audit", "verify", "--data-dir", str(data))

    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 200 traces" in pruned.stdout
    assert verified.returncode == 0, verified.stdout
    assert "traces up to 199 pruned (anchored)" in verified.stdout


@pytest.mark.slow
@AUDITED_RUN
def test_verify_against_the_head_from_the_run_summary(audited_run):
    data, run_id = audited_run
    head = json.loads((data / "out.json").read_text())["trace_store"]["chain_head"]

    good = tradegraph("audit", "verify", "--run", run_id, "--head", head, "--data-dir", str(data))
    bad = tradegraph(
        "audit", "verify", "--run", run_id, "--head", "0" * 64, "--data-dir", str(data)
    )  # fmt: skip

    assert good.returncode == 0, good.stdout
    assert bad.returncode == 1 and "chain was rewritten" in bad.stdout


@pytest.mark.slow
@AUDITED_RUN
def test_head_needs_a_run_and_a_hash(audited_run):
    data, _ = audited_run

    result = tradegraph("audit", "verify", "--head", "abc", "--data-dir", str(data))

    assert_one_line_error(result, "--head takes the 64-hex chain head")

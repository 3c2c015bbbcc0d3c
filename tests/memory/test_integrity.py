"""What verify concludes from a chain and the records beside it, including while runs write."""

from core.run_registry import ChainMark, RegisteredRun
from memory.audit import ChainReport
from memory.integrity import Evidence, judge

H = {i: f"{i:064x}" for i in range(10)}


def chain(end: int = 9, **fields) -> ChainReport:
    hashes = {i: H[i] for i in range(end + 1)}
    return ChainReport("r1", end + 1, H[end], end_seq=end, hashes=hashes, **fields)


def registered(*marks: tuple[str, int]) -> RegisteredRun:
    run = RegisteredRun("r1", opened=True)
    for kind, seq in marks:
        run.marks.append(ChainMark(kind, seq, H.get(seq, "")))  # type: ignore[arg-type]
    return run


def evidence(before=None, after=None, **fields) -> Evidence:
    base = {
        "before": before,
        "after": after if after is not None else before,
        "registry": True,
        "strict_registry": True,
        "cycles_ran": 10,
        "running": False,
        "spooled": False,
        "ledger": None,
    }
    return Evidence(**{**base, **fields})


SEALED = registered(("open", -1), ("mark", 4), ("seal", 9))


def test_a_sealed_run_whose_chain_reaches_its_seal_is_ok():
    verdict = judge(chain(), evidence(SEALED, ledger=(set(), set())))

    assert verdict.status == "ok" and H[9] in verdict.message


def test_a_chain_written_past_its_head_record_by_a_live_run_reads_as_running():
    report = chain(interrupted_at=4, reason="past the head record")

    verdict = judge(report, evidence(registered(("open", -1)), running=True))

    assert verdict.status == "running"


def test_the_same_chain_left_by_a_killed_run_is_interrupted_not_broken():
    report = chain(interrupted_at=4, reason="past the head record")

    verdict = judge(report, evidence(registered(("open", -1))))

    assert verdict.status == "interrupted" and "audit repair" in verdict.message


def test_a_run_resumed_while_verify_read_the_store_is_not_past_its_seal():
    """The registry read before the store says sealed at 5; the resumed run registered itself
    and wrote on to 9 before the store was read; the registry read after shows it."""
    before = registered(("open", -1), ("seal", 5))
    after = registered(("open", -1), ("seal", 5), ("open", -1))

    verdict = judge(chain(), evidence(before, after))

    assert verdict.status == "ok"


def test_a_chain_past_its_seal_with_no_process_registered_since_is_broken():
    sealed_early = registered(("open", -1), ("seal", 5))

    verdict = judge(chain(), evidence(sealed_early))

    assert verdict.status == "broken" and "past trace 5" in verdict.message


def test_a_sealed_tail_waiting_in_the_spool_is_incomplete_not_broken():
    report = chain(end=6)

    verdict = judge(report, evidence(SEALED, spooled=True))

    assert verdict.status == "incomplete" and "spool" in verdict.message


def test_a_sealed_tail_gone_without_a_spool_is_broken():
    verdict = judge(chain(end=6), evidence(SEALED))

    assert verdict.status == "broken" and "traces were deleted" in verdict.message


def test_a_killed_run_that_wrote_no_trace_yet_is_incomplete():
    nothing = ChainReport("r1", 0, "0" * 64, 0, "the store holds no such run")

    verdict = judge(nothing, evidence(registered(("open", -1)), cycles_ran=3))

    assert verdict.status == "incomplete"


def test_a_run_whose_ledger_leads_its_traces_is_not_compared_until_it_ends():
    unsealed = registered(("open", -1), ("mark", 4))

    verdict = judge(chain(), evidence(unsealed, ledger=({"tg-not-traced-yet"}, set())))

    assert verdict.status == "ok"


def test_a_stop_placed_for_an_entry_of_an_earlier_run_on_the_account_is_explained():
    """An agent restarted after a kill places the stop of an entry its killed run made."""
    stop = ({"tg-entry-of-run-before-sl"}, {"tg-entry-of-run-before-sl"})
    elsewhere = frozenset({"tg-entry-of-run-before"})

    explained = judge(chain(), evidence(SEALED, ledger=stop, account_orders=elsewhere))
    unexplained = judge(chain(), evidence(SEALED, ledger=stop))

    assert explained.status == "ok"
    assert unexplained.status == "broken" and "tg-entry-of-run-before-sl" in unexplained.message


def test_a_run_in_the_store_the_registry_does_not_know_is_broken():
    verdict = judge(chain(), evidence(None, after=None))

    assert verdict.status == "broken" and "registry does not know" in verdict.message

"""Lesson memory: what a lesson keeps across runs, so a later run can weigh it."""

import json

import pytest

from memory.embeddings import HashingEmbedder
from memory.lessons import Lesson, LessonMemory, load_lessons
from memory.store import open_chroma, vector_collection


@pytest.fixture
def lessons(tmp_path):
    return vector_collection(open_chroma(tmp_path), "lessons", embedding="hashing-256")


def _lesson(**changes) -> Lesson:
    values = dict(
        id="lesson:1",
        written_at=5,
        symbol="BTC/USDT",
        text="entries like this did not pay their costs",
        author="summary",
        pnl_fraction=-0.02,
        situation_vector=[0.1, 0.9],
        persona="aggressive",
        pnl_atr=-2.5,
    )
    values.update(changes)
    return Lesson(**values)


def test_a_persisted_lesson_keeps_the_persona_that_opened_the_trade_and_its_result(lessons):
    memory = LessonMemory(lessons, HashingEmbedder())
    memory.add(_lesson())
    memory.flush()

    (loaded,) = load_lessons(lessons)
    later = LessonMemory(lessons, HashingEmbedder(), prior=[loaded])
    later.advance(5)
    (recalled,) = later.recall([0.1, 0.9], k=3)

    assert (loaded.persona, loaded.pnl_atr) == ("aggressive", -2.5)
    assert (recalled.persona, recalled.pnl_atr, recalled.pnl_fraction) == (
        "aggressive",
        -2.5,
        -0.02,
    )


def test_a_lesson_stored_without_a_persona_is_recalled_as_nobodys(lessons):
    """A store written before lessons named their persona: its lessons stay for Claude's brief
    and count for no offline persona."""
    lessons.upsert(
        ids=["lesson:old"],
        embeddings=HashingEmbedder().embed(["an older lesson"]),
        documents=["an older lesson"],
        metadatas=[
            {
                "written_at": 5,
                "symbol": "BTC/USDT",
                "author": "summary",
                "pnl_fraction": 0.01,
                "situation_vector": json.dumps([0.1, 0.9]),
            }
        ],
    )

    (loaded,) = load_lessons(lessons)

    assert (loaded.persona, loaded.pnl_atr) == ("", 0.0)

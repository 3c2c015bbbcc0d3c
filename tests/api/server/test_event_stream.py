"""The server-sent event stream on its own: frames in order, a keep-alive while nothing comes,
and an end after the last event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from api.server.chat_routes import KEEPALIVE, event_stream, sse_frame
from graphs.chat.contract import ChatEvent


def collect(events: Iterator[ChatEvent], keepalive_s: float) -> list[bytes]:
    async def read() -> list[bytes]:
        return [frame async for frame in event_stream("t1", events, keepalive_s=keepalive_s)]

    return asyncio.run(read())


def test_each_event_is_one_frame_in_order_and_the_stream_ends_after_the_last() -> None:
    events = [
        ChatEvent(kind="token", thread="t1", text="Hi\nthere"),
        ChatEvent(kind="answer", thread="t1", text="Hi\nthere"),
    ]

    frames = collect(iter(events), keepalive_s=5.0)

    assert frames == [sse_frame(event) for event in events]
    assert (
        frames[0] == b'event: token\ndata: {"kind":"token","thread":"t1","text":"Hi\\nthere"}\n\n'
    )


def test_a_keep_alive_comment_is_sent_while_no_event_comes() -> None:
    def slow() -> Iterator[ChatEvent]:
        time.sleep(0.3)
        yield ChatEvent(kind="answer", thread="t1", text="late")

    frames = collect(slow(), keepalive_s=0.05)

    assert frames[0] == KEEPALIVE and set(frames[:-1]) == {KEEPALIVE}
    assert frames[-1].startswith(b"event: answer\n")


def test_a_failing_event_source_ends_with_one_error_event() -> None:
    def broken() -> Iterator[ChatEvent]:
        yield ChatEvent(kind="token", thread="t1", text="a")
        raise OSError("disk gone")

    frames = collect(broken(), keepalive_s=5.0)

    assert frames[-1].startswith(b"event: error\n")
    assert b"the stream failed (OSError): ask again" in frames[-1]

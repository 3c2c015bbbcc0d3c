"""Text from a model or a file is data: `shown` leaves nothing a terminal would act on."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import shown

FAKE_ALL_CLEAR = "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[1;32mALL CLEAR\x1b[0m"
ACTED_ON = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_a_fake_all_clear_loses_its_title_screen_clear_and_colours():
    assert shown(FAKE_ALL_CLEAR) == "ALL CLEAR"


def test_string_controls_are_removed_with_their_payload():
    sixel = "a\x1bPq#0;2;0;0;0#0~~\x1b\\b"
    hyperlink = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"

    assert shown(sixel) == "ab"
    assert shown(hyperlink) == "click"


def test_eight_bit_controls_and_bidirectional_overrides_are_dropped():
    assert shown("x\x9b2Jy\x9d0;t\x9cz") == "xyz"
    assert shown("abc\u202edef\u2066") == "abcdef"


def test_newlines_and_tabs_stay_for_layout_or_become_spaces_on_one_line():
    text = "first\r\nsecond\tthird\x0bfourth"

    assert shown(text) == "first\nsecond\tthirdfourth"
    assert shown(text, one_line=True) == "first second thirdfourth"


def test_ordinary_text_and_markup_like_brackets_pass_unchanged():
    text = "RSI 72 [bold]stretched[/] → trim 25%, ünïcode ✓"

    assert shown(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_nothing_a_terminal_acts_on_survives(text):
    kept = shown(text)
    line = shown(text, one_line=True)

    assert ACTED_ON.search(kept) is None
    assert ACTED_ON.search(line) is None and "\n" not in line and "\t" not in line
    assert "\x1b" not in kept

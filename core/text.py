"""Text from a model or a file, made safe to show: it is data on every screen.

A thesis, a lesson, a refusal reason or a cell of a file can hold terminal escape sequences
that retitle the window, clear the screen or repaint lines, so that a person reads a fake
"ALL CLEAR" as the system's own output. Everything such text passes through before it reaches
a terminal, an HTML report or a log goes through `shown`: escape sequences (CSI, OSC, DCS and
the other string controls, two-byte escapes) are removed whole, and every other C0 or C1
control character, DEL and the bidirectional overrides that reorder what is seen are dropped.
Newlines and tabs are kept where the layout needs them, or turned into spaces for one line.
"""

from __future__ import annotations

import re
from typing import Final

_ESCAPES: Final = re.compile(
    r"""
    (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?         # CSI: colours, cursor, clear
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])                  # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?                     # ... up to BEL or ST
    | \x1b[\x20-\x2f]*[\x30-\x7e]?                              # two-byte and nF escapes
    """,
    re.VERBOSE,
)
_CONTROLS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS: Final = re.compile("[\t\n\u2028\u2029\x85]+")


def shown(text: str, *, one_line: bool = False) -> str:
    """`text` without escape sequences and control characters; with `one_line`, its tabs and
    line breaks become single spaces (for a table cell, a log line, an error line)."""
    if one_line:
        text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", _ESCAPES.sub("", text))

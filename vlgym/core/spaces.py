"""The observation and action spaces every vlgym environment shares."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

# Every character of the Basic Multilingual Plane except the surrogates and the C0/C1 control block
# (tab and newline stay): wide enough for page text, card suits and model output.
_CONTROL = {chr(c) for c in range(0x20) if chr(c) not in "\t\n"} | {chr(c) for c in range(0x7F, 0xA0)}
UNICODE_CHARSET = frozenset(
    chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and chr(c) not in _CONTROL
)

#: Longest observation text (characters); long enough for a full web page.
MAX_TEXT_LENGTH = 100_000
#: Longest action text; model answers beyond this are rejected by the parser, not truncated silently.
MAX_ACTION_LENGTH = 100_000


def text_space(max_length: int = MAX_TEXT_LENGTH, min_length: int = 0) -> spaces.Text:
    """A `Text` space over :data:`UNICODE_CHARSET`."""
    return spaces.Text(max_length=max_length, min_length=min_length, charset=UNICODE_CHARSET)


def observation_space(height: int, width: int) -> spaces.Dict:
    """``Dict(image=Box(uint8, (H, W, 3)), text=Text)``, the observation of every vlgym env."""
    return spaces.Dict(
        {
            "image": spaces.Box(low=0, high=255, shape=(height, width, 3), dtype=np.uint8),
            "text": text_space(),
        }
    )


def action_space() -> spaces.Text:
    """The action of every vlgym env: free text, resolved by :mod:`vlgym.core.parsing`."""
    return text_space(MAX_ACTION_LENGTH, min_length=0)

"""The observation and action spaces every vlgym environment shares.

Text lives in :class:`UnicodeText`, a gymnasium ``Text`` space that accepts any printable Unicode (page text,
card suits, model output) without enumerating a character set, and that travels through
``AsyncVectorEnv``'s shared memory as UTF-32 (gymnasium's own ``Text`` shared memory is read only once, so
its strings never update, and it decodes character by character).
"""

from __future__ import annotations

import multiprocessing as mp
import re
import string
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import shared_memory

#: Longest observation text (characters); long enough for a full web page.
MAX_TEXT_LENGTH = 100_000
#: Longest action text; model answers beyond this are rejected by the parser, not truncated silently.
MAX_ACTION_LENGTH = 100_000

# Control characters other than tab/newline/carriage return, and lone surrogates, are not text.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What ``sample()`` draws from: enough variety to exercise parsers, including JSON punctuation and unicode.
_SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " \n" + "éü♠♥♦♣→中"


class UnicodeText(spaces.Text):
    """A ``Text`` space whose members are any ``str`` of printable Unicode within the length bounds."""

    def __init__(self, max_length: int, *, min_length: int = 0, seed: Any = None):
        super().__init__(max_length=max_length, min_length=min_length, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return (isinstance(x, str) and self.min_length <= len(x) <= self.max_length
                and _NOT_TEXT.search(x) is None)

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, UnicodeText) and self.min_length == other.min_length
                and self.max_length == other.max_length)

    __hash__ = None


class SharedTexts(Sequence):
    """The texts of ``n`` sub-envs in shared memory, decoded on access; a deep copy is a tuple of str."""

    def __init__(self, buffer: np.ndarray):
        self._buffer = buffer  # int32 (n, 1 + max_length): length, then UTF-32 code points

    def __len__(self) -> int:
        return len(self._buffer)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        row = self._buffer[index]
        return row[1 : 1 + int(row[0])].astype("<u4").tobytes().decode("utf-32-le")

    def __deepcopy__(self, memo) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: Any) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@shared_memory.create_shared_memory.register(UnicodeText)
def _create(space: UnicodeText, n: int = 1, ctx: ModuleType = mp):
    return ctx.Array(np.dtype(np.int32).char, n * (space.max_length + 1))


@shared_memory.read_from_shared_memory.register(UnicodeText)
def _read(space: UnicodeText, memory, n: int = 1) -> SharedTexts:
    return SharedTexts(np.frombuffer(memory.get_obj(), dtype=np.int32).reshape(n, space.max_length + 1))


@shared_memory.write_to_shared_memory.register(UnicodeText)
def _write(space: UnicodeText, index: int, value: str, memory) -> None:
    codes = np.frombuffer(value[: space.max_length].encode("utf-32-le"), dtype="<u4").astype(np.int32)
    row = np.frombuffer(memory.get_obj(), dtype=np.int32)[index * (space.max_length + 1) :][: space.max_length + 1]
    row[0] = len(codes)
    row[1 : 1 + len(codes)] = codes


def printable(text: str) -> str:
    """``text`` with every character that is not text (control characters other than tab, newline and
    carriage return; lone surrogates) replaced by U+FFFD; e.g. model output before it enters a page.

    >>> printable("red shirt \\ud83d\\x00") == "red shirt \\ufffd\\ufffd"
    True
    """
    return _NOT_TEXT.sub("\ufffd", text)


def text_space(max_length: int = MAX_TEXT_LENGTH, min_length: int = 0) -> UnicodeText:
    """A text space accepting any printable Unicode up to ``max_length`` characters."""
    return UnicodeText(max_length, min_length=min_length)


def observation_space(height: int, width: int) -> spaces.Dict:
    """``Dict(image=Box(uint8, (H, W, 3)), text=UnicodeText)``, the observation of every vlgym env."""
    return spaces.Dict(
        {
            "image": spaces.Box(low=0, high=255, shape=(height, width, 3), dtype=np.uint8),
            "text": text_space(),
        }
    )


def action_space() -> UnicodeText:
    """The action of every vlgym env: free text, resolved by :mod:`vlgym.core.parsing`."""
    return text_space(MAX_ACTION_LENGTH)

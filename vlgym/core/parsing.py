"""Resolve model output to one canonical action, safely.

The parser accepts what language models actually write:

* the canonical action itself, in any case and with any spacing (``"Move  Forward"``);
* a JSON object with an ``"action"`` field, also inside ```` ```json ```` fences, with prose around it,
  single quotes, trailing commas, or a ``"thoughts"`` value full of braces and quotes;
* where an env numbers its actions in prompts (``action_index=True``), the index of an available action
  (``"2"`` or ``{"action": 2}`` means ``available_actions[2]``); canonical names always win over indices.

Nothing is ever evaluated: JSON goes through :func:`json.loads` and the ``json_repair`` library, both of
which only build data. Every call returns a :class:`ParseResult` with a reason, whatever the input.

Matching modes (``action_matching``), each a superset of the previous one:

``"exact"``
    the candidate, normalised (case, whitespace, surrounding quotes and trailing period), equals an
    available action.
``"contains"``
    otherwise exactly one available action occurs in the candidate as a whole phrase (where one match is
    part of a longer one, the longer wins: ``"10"`` over ``"1"``).
``"fuzzy"``
    otherwise the best fuzzy match (rapidfuzz ``WRatio``) scores at least ``fuzzy_cutoff`` and clearly
    beats the runner-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import json_repair
from rapidfuzz import fuzz, process

from vlgym.core.spaces import MAX_ACTION_LENGTH

MatchingMode = Literal["exact", "contains", "fuzzy"]
MATCHING_MODES: tuple[str, ...] = ("exact", "contains", "fuzzy")

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_ACTION_FIELD = re.compile(r"""(?<!\w)["']?action["']?\s*[:=]\s*(?:"([^"\n]*)"|'([^'\n]*)'|([^,}\n]+))""", re.I)
_INDEX = re.compile(r"^[\[(]?\s*(\d{1,6})\s*[\])]?\.?$")
_SPACES = re.compile(r"\s+")
_STRIP = " \t\n\r\"'`.;:"
# json_repair is pure Python and slow on pathological input (deep nesting): give it bounded work only.
_REPAIR_MAX_CHARS = 20_000
_REPAIR_MAX_BRACKETS = 200


@dataclass(frozen=True)
class ParseResult:
    """Outcome of one parse: the canonical action (or None) and why."""

    action: str | None
    reason: str
    source: str = "none"
    """Where the candidate came from: ``"text"``, ``"json"``, ``"field"``, or ``"none"``."""

    @property
    def valid(self) -> bool:
        return self.action is not None


def normalize(text: str) -> str:
    """Lower-case, collapse whitespace, drop surrounding quotes/backticks and a trailing period."""
    return _SPACES.sub(" ", text).strip(_STRIP).lower()


@dataclass(frozen=True)
class JsonLayout:
    """Where the JSON-ish parts of a text are, as ``[start, end)`` character spans.

    ``objects``: top-level ``{...}`` spans in order (an object left open at the end, as in a truncated answer,
    runs to the end of the text); ``strings``: the quoted strings inside them, with whether each was closed.
    Braces inside quoted strings do not count, and escapes are honoured. The one scanner behind the action
    parser and RL4VLM's thought/action split (``vlgym_agents.algos.rl4vlm``).

    >>> layout = scan_json('I think {"thoughts": "a {brace}", "action": "+"} done')
    >>> layout.objects, [(s, e) for s, e, _ in layout.strings][:2]
    ([(8, 48)], [(9, 19), (21, 32)])
    """

    objects: list[tuple[int, int]]
    strings: list[tuple[int, int, bool]]


def scan_json(text: str) -> JsonLayout:
    """The :class:`JsonLayout` of ``text``, in one pass."""
    objects, strings = [], []
    depth, start, quote, string_start, escaped = 0, 0, "", 0, False
    for i, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
                strings.append((string_start, i + 1, True))
        elif char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif depth and char == "}":
            depth -= 1
            if depth == 0:
                objects.append((start, i + 1))
        elif depth and char in "\"'":
            quote, string_start = char, i
    if quote:
        strings.append((string_start, len(text), False))
    if depth:
        objects.append((start, len(text)))
    return JsonLayout(objects, strings)


def _object_spans(text: str) -> list[str]:
    """Top-level ``{...}`` spans in order of appearance (see :class:`JsonLayout`)."""
    return [text[start:end] for start, end in scan_json(text).objects]


def _load(span: str) -> Any:
    """Data from one JSON-ish span (strict JSON, then json_repair), or None."""
    try:
        return json.loads(span)
    except (ValueError, RecursionError):
        pass
    if len(span) > _REPAIR_MAX_CHARS or span.count("{") + span.count("[") > _REPAIR_MAX_BRACKETS:
        return None
    try:
        return json_repair.loads(span)
    except Exception:  # json_repair is lenient by design; any failure just means "no object here"
        return None


def _action_field(obj: Any, depth: int = 0) -> str | None:
    """The ``action`` value of a dict (keys case-insensitive), searching nested dicts and lists."""
    if depth > 8:
        return None
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(key, str) and key.strip().lower() == "action":
                if isinstance(value, bool) or value is None:
                    return None
                if isinstance(value, str | int | float):
                    return str(value)
        children = list(obj.values())
    elif isinstance(obj, list):
        children = obj
    else:
        return None
    for child in reversed(children):
        found = _action_field(child, depth + 1)
        if found is not None:
            return found
    return None


def extract_candidate(text: str) -> tuple[str, str]:
    """The action text inside a model answer, and where it was found."""
    if "{" in text:
        for span in reversed(_object_spans(text)):  # the last answer wins (models often echo the format first)
            value = _action_field(_load(span))
            if value is not None:
                return value, "json"
    fields = list(_ACTION_FIELD.finditer(text))
    if fields:  # the last "action": ... wins, like the last JSON object
        return next(g for g in fields[-1].groups() if g is not None), "field"
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1), "text"
    return text, "text"


def _contains(candidate: str, normalized_actions: dict[str, str]) -> list[str]:
    """Available actions that occur in ``candidate`` as whole phrases, minus those inside a longer hit."""
    hits = []
    for key, action in normalized_actions.items():
        if not key:
            continue
        pattern = r"(?<!\w)" + re.escape(key) + r"(?!\w)" if key[0].isalnum() else re.escape(key)
        spans = [m.span() for m in re.finditer(pattern, candidate)]
        if spans:
            hits.append((action, key, spans))
    kept = []
    for action, key, spans in hits:
        inside_longer = all(
            any(o_start <= s and e <= o_end and len(o_key) > len(key) for _, o_key, o_spans in hits
                for o_start, o_end in o_spans)
            for s, e in spans
        )
        if not inside_longer:
            kept.append(action)
    return kept


def resolve(
    candidate: str,
    actions: Sequence[str],
    *,
    matching: MatchingMode = "exact",
    action_index: bool = False,
    fuzzy_cutoff: float = 85.0,
) -> tuple[str | None, str]:
    """Map a candidate string to one of ``actions``; returns (action or None, reason)."""
    if matching not in MATCHING_MODES:
        raise ValueError(f"action_matching must be one of {MATCHING_MODES}, got {matching!r}")
    norm = normalize(candidate)
    if not norm:
        return None, "empty action"
    by_norm: dict[str, str] = {}
    for action in actions:
        by_norm.setdefault(normalize(action), action)
    if norm in by_norm:
        return by_norm[norm], "exact match"
    if action_index:
        index = _INDEX.match(norm)
        if index:
            i = int(index.group(1))
            if i < len(actions):
                return actions[i], f"index {i}"
            return None, f"index {i} out of range (0-{len(actions) - 1})"
    if matching == "exact":
        return None, f"{_preview(candidate)} is not an available action"
    hits = _contains(norm, by_norm)
    if len(hits) == 1:
        return hits[0], "contained match"
    if len(hits) > 1:
        return None, f"ambiguous: {_preview(candidate)} names several actions ({', '.join(hits[:5])})"
    if matching == "fuzzy" and by_norm:
        best = process.extract(norm, list(by_norm), scorer=fuzz.WRatio, limit=2)
        if best and best[0][1] >= fuzzy_cutoff:
            if len(best) > 1 and best[1][1] >= best[0][1] - 2.0:
                return None, f"ambiguous fuzzy match for {_preview(candidate)}"
            return by_norm[best[0][0]], f"fuzzy match ({best[0][1]:.0f})"
    return None, f"{_preview(candidate)} is not an available action"


def _preview(text: str, limit: int = 60) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_action(
    text: Any,
    actions: Sequence[str],
    *,
    matching: MatchingMode = "exact",
    action_index: bool = False,
    fuzzy_cutoff: float = 85.0,
    max_length: int = MAX_ACTION_LENGTH,
    free_action: Callable[[str], str | None] | None = None,
) -> ParseResult:
    """Resolve a model answer (any object) to one of ``actions``. Never raises on bad input.

    ``free_action`` maps the normalised action text of the answer to an action that ``actions`` cannot list
    (e.g. a search with any query), or None; that action then counts as available for this answer.

    >>> parse_action('{"thoughts": "closer", "action": "+"}', ["-", "+"]).action
    '+'
    >>> parse_action("1", ["-", "+"], action_index=True)
    ParseResult(action='+', reason='index 1', source='text')
    >>> parse_action("fly", ["-", "+"]).valid
    False
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    elif isinstance(text, int | float) and not isinstance(text, bool):
        try:
            text = str(text)
        except ValueError:  # ints beyond Python's digit limit for str()
            return ParseResult(None, "number too large to be an action")
    if not isinstance(text, str):
        return ParseResult(None, f"action must be a string, got {type(text).__name__}")
    if text in actions:  # fast path: the canonical action itself
        return ParseResult(text, "exact match", "text")
    if len(text) > max_length:
        return ParseResult(None, f"action text too long ({len(text)} > {max_length} characters)")
    candidate, source = extract_candidate(text)
    free = free_action(normalize(candidate)) if free_action is not None else None
    if free is not None and free not in actions:
        actions = [*actions, free]
    action, reason = resolve(
        candidate, actions, matching=matching, action_index=action_index, fuzzy_cutoff=fuzzy_cutoff
    )
    return ParseResult(action, reason, source)

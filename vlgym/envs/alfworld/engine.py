"""ALFWorld's text engine as ``AlfredTWEnv`` runs it, made faster by caching without changing a word.

The engine is TextWorld's ``PddlEnv`` (Fast Downward underneath) wrapped in ALFWorld's ``AlfredDemangler`` and
``AlfredInfos``, the stack ``AlfredTWEnv.init_env`` builds. Played as is, nearly all of its time goes into work
that gives the same result every time:

* every step renders every admissible command through the grammar (a TatSu parse of the template and of each
  condition, plus deep copies of the context), though a command's text depends only on the grounded operator
  and facts that never change: :class:`CommandCache` keeps command texts by template and argument names;
* loading parses the whole grammar, identical for every game but for the goal sentence: it is parsed once, and
  each game adds its goal rule (:func:`_game_logic`);
* ``load`` and ``reset`` each run Fast Downward's pure-Python translator twice on the same problem, once for
  play and once, optimised, for a replanning that only ALFWorld's planner expert asks for: translations are
  memoised by their input text, and the optimised one waits until a plan is asked for (:meth:`Engine.plan`);
* text generation re-parses the same rule strings and conditions with TatSu on every step: parses are memoised
  by their text (parsed symbols are copied out, as textworld mutates them).

The last three replace four module attributes of textworld 1.7.0 (pinned in constraints.txt), and only while
this module's engine runs (:func:`caching`; a raw textworld stack loading games in another thread at the same
moment would get them too, including the deferred replanning translation, so do not mix the two across
threads); ``tests/envs/alfworld/test_engine.py`` checks that commands, feedback, ``won`` and plans stay
identical to the raw stack.

All of this is process-wide state (TatSu parsers inside textworld, Fast Downward's translator rewriting
``sys.argv`` and ``sys.stdout``, the swapped attributes, the caches), so engines in different threads take turns:
every engine call holds one process-wide lock (:func:`caching`). Two ALFWorld sessions of a server, or envs in
a user's thread pool, therefore play exactly as they would one after the other.

Long runs also need memory to stay flat: textworld interns every ``Signature`` and ``Proposition`` it creates in
one process-wide dict (``mementos``) that nothing ever empties, and each new game adds its own (about 0.6 MB per
game: +0.6 GB over 1,000 episodes). :func:`bound_interned` empties it before a game loads once it holds more
than :data:`INTERNED_LIMIT` objects; they compare and hash by value, so no result changes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, ClassVar

import fast_downward
import mementos.core
import textworld
from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
from textworld.envs import PddlEnv
from textworld.envs.pddl import logic as pddl_logic
from textworld.envs.pddl import textgen
from textworld.logic import Rule


class _LRU:
    """A small least-recently-used memo of ``function`` by its (hashable) arguments."""

    def __init__(self, function: Callable, size: int):
        self.function, self.size, self.entries = function, size, OrderedDict()

    def __call__(self, *args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        if key in self.entries:
            self.entries.move_to_end(key)
            return self.entries[key]
        value = self.function(*args, **kwargs)
        self.entries[key] = value
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return value


def _pddl2sas(*args, **kwargs):
    argv = list(sys.argv)  # Fast Downward's translator overwrites sys.argv for its option parser
    try:
        return fast_downward.pddl2sas(*args, **kwargs)
    finally:
        sys.argv[:] = argv


# Translations of the last dozen problems (plain, and optimised for replanning when a plan was asked for).
_translate = _LRU(_pddl2sas, size=24)


def _translate_for_state(domain: str, problem: str, verbose: bool = False, optimize: bool = False):
    """What ``PddlState`` gets from Fast Downward: the plain translation, cached. The optimised one only feeds
    ``load_sas_replan``, which merely stores the text for a later ``replan``: it is deferred to
    :meth:`Engine.plan`, which stores the real one first (``replan`` is never called otherwise)."""
    if optimize:
        return None, ""
    return _translate(domain, problem, verbose=verbose)


_cached_fast_downward = SimpleNamespace(**{**vars(fast_downward), "pddl2sas": _translate_for_state})
_parse_logic = _LRU(pddl_logic.GameLogic, size=8)
_GOAL_PLACEHOLDER = "UNKNOWN GOAL"


def _game_logic(domain: str, grammar: str) -> pddl_logic.GameLogic:
    """The parsed grammar of a game. ALFWorld's games differ from ``alfred.twl2`` only by the goal sentence that
    replaces its placeholder: the package's grammar is parsed once, and each game gets a copy whose ``task`` rule
    for its sentence (parsed alone, by textworld) comes first, as the grammar uses a symbol's first rule."""
    from vlgym.envs.alfworld.catalog import grammar_text

    base = grammar_text()
    cut = base.index(_GOAL_PLACEHOLDER)
    head, tail = base[:cut], base[cut + len(_GOAL_PLACEHOLDER):]
    if not (grammar.startswith(head) and grammar.endswith(tail)) or len(grammar) < len(head) + len(tail):
        return _parse_logic(domain=domain, grammar=grammar)
    goal = grammar[len(head):len(grammar) - len(tail)]
    try:  # the sentence sits inside a JSON string of the grammar file
        task = json.loads(f'"Your task is to: {goal}."')
    except json.JSONDecodeError:
        return _parse_logic(domain=domain, grammar=grammar)
    shared = _parse_logic(domain=domain, grammar=base)
    logic = copy.copy(shared)
    logic.grammar = textgen.ContextSensitiveGrammar()
    logic.grammar.update(textgen.ContextSensitiveGrammar.parse(json.dumps({"task": [{"rhs": task}]})))
    logic.grammar.update(shared.grammar)
    return logic


@lru_cache(maxsize=4096)
def _parse_symbols(text: str, rule_name: str) -> Any:
    return _ORIGINAL_PARSE(text, rule_name=rule_name)


def _parse_and_convert(text: str, rule_name: str | None = None, trace: bool = False) -> Any:
    if trace or rule_name is None:
        return _ORIGINAL_PARSE(text, rule_name=rule_name, trace=trace)
    return copy.deepcopy(_parse_symbols(text, rule_name))  # derivation assigns contexts to the symbols


class _MemoRule(Rule):
    @classmethod
    @lru_cache(maxsize=4096)
    def parse_conjunctive_query(cls, expression: str) -> Rule:
        return Rule.parse_conjunctive_query(expression)


_ORIGINAL_PARSE = textgen._parse_and_convert
_SWAPS = ((pddl_logic, "GameLogic", _game_logic), (pddl_logic, "fast_downward", _cached_fast_downward),
          (textgen, "_parse_and_convert", _parse_and_convert), (textgen, "Rule", _MemoRule))


#: One engine call at a time per process: textworld's and Fast Downward's state is process-wide (reentrant, so
#: that a nested call, none today, could never deadlock).
_TURN = threading.RLock()


@contextlib.contextmanager
def caching() -> Iterator[None]:
    """Take this thread's turn at the engine and let textworld use the memoised parser, grammar and translator
    while the block runs."""
    with _TURN:
        saved = [(module, name, getattr(module, name)) for module, name, _ in _SWAPS]
        for module, name, value in _SWAPS:
            setattr(module, name, value)
        try:
            yield
        finally:
            for module, name, value in saved:
                setattr(module, name, value)


#: Interned textworld objects kept across games (a few games' worth: 300-700 per game).
INTERNED_LIMIT = 10_000


def bound_interned() -> None:
    """Empty textworld's process-wide interning of logic objects when it holds more than INTERNED_LIMIT."""
    interned = mementos.core._memento_cache
    if len(interned) > INTERNED_LIMIT:
        interned.clear()


class CommandCache:
    """A game's grammar, with the text of each command template remembered by the names it is filled with.

    A command's text depends only on its template and the names of its arguments: the one condition in a
    command template (``go to`` names the receptacle at the destination) holds by the operator's own
    precondition. Texts are therefore shared by all games (process-wide, bounded).
    """

    texts: ClassVar[OrderedDict] = OrderedDict()
    size = 200_000

    def __init__(self, grammar, templates: set[str]):
        self.grammar, self.templates = grammar, templates

    def derive(self, start: str, context: dict) -> str:
        if start not in self.templates:  # feedback and intro depend on the state: always derived
            return self.grammar.derive(start, context)
        key = (start, tuple(sorted((name, info.name) for name, info in context["variables"].items())))
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = self.grammar.derive(start, context)
            if len(self.texts) > self.size:
                self.texts.popitem(last=False)
        return text


def raw_engine() -> textworld.core.Environment:
    """ALFWorld's own stack for one game, as ``AlfredTWEnv.init_env`` builds it (no domain randomisation)."""
    infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
    return AlfredInfos(AlfredDemangler(PddlEnv(infos), shuffle=False))


class Engine:
    """One ALFWorld game at a time: load a ``game.tw-pddl`` dict, reset, step admissible commands."""

    def __init__(self):
        self._env = raw_engine()
        self._pddl: PddlEnv = self._env.unwrapped
        self.state = None

    def load(self, game: dict) -> None:
        """Load a game: the parsed JSON of a ``game.tw-pddl`` file."""
        with caching():
            bound_interned()
            self._env.load(game)
        logic = copy.copy(self._pddl._logic)
        logic.grammar = CommandCache(logic.grammar, {a.template for a in logic.actions.values()})
        self._pddl._logic = logic
        self.state = None

    def reset(self) -> str:
        with caching():
            self.state = self._env.reset()
        return self.state.feedback

    def step(self, command: str) -> str:
        with caching():
            self.state, _, _ = self._env.step(command)
        return self.state.feedback

    @property
    def admissible_commands(self) -> list[str]:
        return self.state["admissible_commands"]

    @property
    def won(self) -> bool:
        return bool(self.state["won"])

    @property
    def names(self) -> dict[str, str]:
        """Display name ("apple 1") of every engine id."""
        return {key: info.name.strip() for key, info in self._pddl._entity_infos.items()}

    def facts(self) -> dict[str, set[tuple[str, ...]]]:
        """The current facts by predicate (lower-case, as Fast Downward names them): argument-name tuples."""
        by_name: dict[str, set[tuple[str, ...]]] = {}
        for signature, props in self._pddl._pddl_state._facts.items():
            by_name[signature.name.lower()] = {tuple(v.name for v in p.arguments) for p in props}
        return by_name

    def plan(self) -> list[str]:
        """Fast Downward's optimal plan from the current state, as commands (ALFWorld's planner expert)."""
        state = self._pddl._pddl_state
        with caching():
            _, sas = _translate(state._logic.domain, state.pddl_problem, verbose=False, optimize=True)
            self._pddl.downward_lib.load_sas_replan(sas.encode("utf-8"))
            return state.replan(self._pddl._entity_infos)

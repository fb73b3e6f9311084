"""Episode manifests: the fixed, versioned list of episodes an evaluation runs, per split.

A manifest is a small JSON file (JSON rather than YAML: the standard library reads it, so ``pip install vlgym``
needs nothing more, and one canonical serialisation gives every manifest a stable SHA-256 that results cite)::

    {
      "format": "vlgym-manifest/1",
      "env_id": "vlgym/GymCards-NumberLine-v0",
      "env_kwargs": {},
      "description": "...",
      "splits": {"eval": [{"seed": 1000000}, {"seed": 1000001}, ...], "val": [...]}
    }

Each entry is one episode: ``reset(seed=entry["seed"], options=entry.get("options"))``. ``seed`` (an int >= 0)
is required; ``options`` (an object) carries what an env reads from ``reset(options=...)``, such as a task id.
Reading is strict: an unknown key, a wrong format version, a malformed entry, a repeated key, or an episode
listed twice (within a split or across splits, so train and eval never share one) is a
:class:`ManifestError` that names the place.

The shipped manifests (``vlgym/manifests/<id without "vlgym/">.json``, see :func:`default_manifest`) hold
episodes from seed 1,000,000 on, far from the seeds a trainer uses by default (0, 1, 2, ...).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

FORMAT = "vlgym-manifest/1"
#: First seed of :func:`make_manifest` by default (and of the shipped manifests): trainers count from 0.
HELD_OUT_FIRST_SEED = 1_000_000
#: Split sizes of the shipped manifests: ``eval`` for reported numbers, ``val`` for checks during training.
DEFAULT_SPLITS: dict[str, int] = {"eval": 500, "val": 100}

_TOP_KEYS = {"format", "env_id", "env_kwargs", "description", "splits"}
_REQUIRED_TOP_KEYS = ("format", "env_id", "splits")
_ENTRY_KEYS = {"seed", "options"}
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAX_SEED = 2**63 - 1


class ManifestError(ValueError):
    """A manifest that does not follow the format; the message says where."""


@dataclass(frozen=True)
class Episode:
    """One episode: ``reset(seed=seed, options=options)``."""

    seed: int
    options: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed} if self.options is None else {"seed": self.seed, "options": self.options}

    def key(self) -> str:
        """Canonical text of the entry; two entries are the same episode when their keys are equal."""
        return json.dumps(self.to_dict(), sort_keys=True)


@dataclass(frozen=True)
class Manifest:
    env_id: str
    splits: dict[str, tuple[Episode, ...]]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        _check(self.to_dict(), "manifest")  # the same rules whether it was read or built in code

    def split(self, name: str) -> tuple[Episode, ...]:
        if name not in self.splits:
            raise ManifestError(f"manifest for {self.env_id} has no split {name!r}; splits: {', '.join(self.splits)}")
        return self.splits[name]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": FORMAT, "env_id": self.env_id, "env_kwargs": self.env_kwargs}
        if self.description:
            data["description"] = self.description
        data["splits"] = {name: [e.to_dict() for e in episodes] for name, episodes in self.splits.items()}
        return data

    def to_json(self) -> str:
        """The canonical text: one entry per line, so diffs of a manifest stay readable."""
        head = {k: v for k, v in self.to_dict().items() if k != "splits"}
        lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}," for k, v in head.items()]
        lines.append('  "splits": {')
        for i, (name, episodes) in enumerate(self.splits.items()):
            entries = ",\n".join(f"      {e.key()}" for e in episodes)
            lines.append(f"    {json.dumps(name)}: [\n{entries}\n    ]" + ("," if i < len(self.splits) - 1 else ""))
        lines += ["  }", "}", ""]
        return "\n".join(lines)

    @property
    def sha256(self) -> str:
        """Hash of the canonical text: results cite it, so a changed manifest cannot pass for the old one."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Any, source: str = "manifest") -> Manifest:
        _check(data, source)
        splits = {name: tuple(Episode(e["seed"], e.get("options")) for e in entries)
                  for name, entries in data["splits"].items()}
        return cls(data["env_id"], splits, dict(data.get("env_kwargs", {})), data.get("description", ""))


def _fail(source: str, message: str):
    raise ManifestError(f"{source}: {message}")


def _check(data: Any, source: str) -> None:
    """Every rule of the format, with the first violation as a :class:`ManifestError`."""
    if not isinstance(data, Mapping):
        _fail(source, f"a manifest is a JSON object, got {type(data).__name__}")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        _fail(source, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    missing = [k for k in _REQUIRED_TOP_KEYS if k not in data]
    if missing:
        _fail(source, f"missing key(s) {missing}")
    if data["format"] != FORMAT:
        _fail(source, f"unsupported format {data['format']!r}; this vlgym reads {FORMAT!r}")
    if not isinstance(data["env_id"], str) or not data["env_id"]:
        _fail(source, "env_id must be a non-empty string")
    if not isinstance(data.get("env_kwargs", {}), Mapping):
        _fail(source, "env_kwargs must be an object")
    if not isinstance(data.get("description", ""), str):
        _fail(source, "description must be a string")
    splits = data["splits"]
    if not isinstance(splits, Mapping) or not splits:
        _fail(source, "splits must be a non-empty object of split name -> list of episodes")
    seen: dict[str, str] = {}
    for name, entries in splits.items():
        if not isinstance(name, str) or not _SPLIT_NAME.match(name):
            _fail(source, f"bad split name {name!r} (letters, digits, '_', '.', '-')")
        if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
            _fail(source, f"split {name!r} must be a non-empty list of episodes")
        for i, entry in enumerate(entries):
            where = f"splits.{name}[{i}]"
            key = Episode(*_entry(entry, source, where)).key()
            if key in seen:
                _fail(source, f"{where} repeats the episode {key} of {seen[key]}")
            seen[key] = where


def _entry(entry: Any, source: str, where: str) -> tuple[int, dict | None]:
    if not isinstance(entry, Mapping):
        _fail(source, f"{where}: an episode is an object like {{\"seed\": 1000000}}, got {entry!r}")
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        _fail(source, f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_ENTRY_KEYS)}")
    seed = entry.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        _fail(source, f"{where}: seed must be an integer in [0, 2**63 - 1], got {seed!r}")
    options = entry.get("options")
    if "options" in entry and not isinstance(options, Mapping):
        _fail(source, f"{where}: options must be an object, got {options!r}")
    return seed, (dict(options) if options is not None else None)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:  # json.loads would silently keep the last one, e.g. of two "eval" splits
        raise ManifestError(f"repeated key(s) {repeated}")
    return dict(pairs)


def _reject_constant(name: str):
    raise ManifestError(f"{name} is not valid in a manifest")


def loads_manifest(text: str, source: str = "manifest") -> Manifest:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except ManifestError as error:
        raise ManifestError(f"{source}: {error}") from None
    except json.JSONDecodeError as error:
        raise ManifestError(f"{source}: not valid JSON ({error})") from None
    return Manifest.from_dict(data, source)


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    return loads_manifest(path.read_text(encoding="utf-8"), str(path))


def save_manifest(manifest: Manifest, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest.to_json(), encoding="utf-8")


def make_manifest(env_id: str, splits: Mapping[str, int] | None = None, *, first_seed: int = HELD_OUT_FIRST_SEED,
                  env_kwargs: Mapping[str, Any] | None = None, description: str = "") -> Manifest:
    """Consecutive seeds per split, split after split from ``first_seed`` (so splits never overlap).

    ``make_manifest(id)`` gives the shipped manifests' episodes: ``eval`` = seeds 1,000,000-1,000,499,
    ``val`` = 1,000,500-1,000,599. The same arguments always give the same manifest.
    """
    splits = dict(DEFAULT_SPLITS if splits is None else splits)
    bad = {name: n for name, n in splits.items() if isinstance(n, bool) or not isinstance(n, int) or n < 1}
    if bad:
        raise ManifestError(f"split sizes must be positive integers, got {bad}")
    episodes, seed = {}, first_seed
    for name, count in splits.items():
        episodes[name] = tuple(Episode(s) for s in range(seed, seed + count))
        seed += count
    return Manifest(env_id, episodes, dict(env_kwargs or {}), description)


def default_manifest_path(env_id: str):
    """Where the shipped manifest of ``env_id`` lives (a package resource; it may not exist)."""
    return resources.files("vlgym") / "manifests" / f"{env_id.removeprefix('vlgym/')}.json"


def default_manifest(env_id: str) -> Manifest:
    """The manifest shipped with vlgym for ``env_id``."""
    path = default_manifest_path(env_id)
    if not path.is_file():
        raise ManifestError(f"vlgym ships no manifest for {env_id}; write one with `vlgym manifest {env_id} "
                            "--output FILE` (or vlgym.manifest.make_manifest) and pass --manifest FILE")
    manifest = loads_manifest(path.read_text(encoding="utf-8"), f"vlgym/manifests/{path.name}")
    if manifest.env_id != env_id:
        raise ManifestError(f"{path.name} is for {manifest.env_id}, not {env_id}")
    return manifest

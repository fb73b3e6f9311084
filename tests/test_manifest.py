import json
from pathlib import Path

import pytest
import tomllib

import vlgym
from vlgym.manifest import (
    FORMAT,
    Episode,
    Manifest,
    ManifestError,
    default_manifest,
    load_manifest,
    loads_manifest,
    make_manifest,
    save_manifest,
)

ROOT = Path(__file__).resolve().parents[1]
CARDS = list(vlgym.list_envs("cards"))


def text(splits, **top) -> str:
    return json.dumps({"format": FORMAT, "env_id": "vlgym/GymCards-NumberLine-v0", "splits": splits, **top})


def test_make_manifest_is_deterministic_with_disjoint_held_out_splits(tmp_path):
    made = make_manifest("vlgym/GymCards-NumberLine-v0", {"train": 3, "eval": 2}, first_seed=10)
    assert [e.seed for e in made.split("train")] == [10, 11, 12]
    assert [e.seed for e in made.split("eval")] == [13, 14]
    default = make_manifest("vlgym/GymCards-NumberLine-v0")
    assert default.split("eval")[0].seed == 1_000_000 and len(default.split("eval")) == 500
    assert default.split("val")[0].seed == 1_000_500 and len(default.split("val")) == 100
    assert make_manifest("vlgym/GymCards-NumberLine-v0").to_json() == default.to_json()
    save_manifest(default, tmp_path / "m.json")
    again = load_manifest(tmp_path / "m.json")
    assert again == default and again.sha256 == default.sha256
    with pytest.raises(ManifestError, match="no split 'test'; splits: eval, val"):
        default.split("test")


@pytest.mark.parametrize("env_id", CARDS)
def test_shipped_manifests_are_what_make_manifest_writes(env_id):
    shipped = default_manifest(env_id)
    assert shipped.env_id == env_id
    assert shipped.to_json() == make_manifest(env_id).to_json()
    assert min(e.seed for entries in shipped.splits.values() for e in entries) >= 1_000_000


def test_shipped_manifests_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "manifests/*.json" in config["vlgym"]
    assert sorted(p.stem for p in (ROOT / "vlgym" / "manifests").glob("*.json")) == sorted(
        e.removeprefix("vlgym/") for e in CARDS)


def test_no_shipped_manifest_is_a_clear_error():
    with pytest.raises(ManifestError, match=r"ships no manifest for vlgym/MiniWorld-OneRoom-v0.*vlgym manifest"):
        default_manifest("vlgym/MiniWorld-OneRoom-v0")


def test_entries_with_options_are_distinct_episodes_when_their_options_differ():
    manifest = loads_manifest(text({"eval": [{"seed": 1, "options": {"task": "a"}},
                                             {"seed": 1, "options": {"task": "b"}}, {"seed": 1}]}))
    assert manifest.split("eval") == (Episode(1, {"task": "a"}), Episode(1, {"task": "b"}), Episode(1))
    assert loads_manifest(manifest.to_json()) == manifest


@pytest.mark.parametrize(("content", "message"), [
    (text({"eval": [{"seed": 1}, {"seed": 2}, {"seed": 1}]}), r"splits.eval\[2\] repeats .* of splits.eval\[0\]"),
    (text({"train": [{"seed": 5}], "eval": [{"seed": 5}]}), r"splits.eval\[0\] repeats .* of splits.train\[0\]"),
    (text({"eval": [{"seed": 1, "options": {"a": 1, "b": 2}}, {"seed": 1, "options": {"b": 2, "a": 1}}]}),
     "repeats"),
    ('{"format": "vlgym-manifest/1", "env_id": "x", "splits": {"eval": [{"seed": 1}], "eval": [{"seed": 2}]}}',
     r"repeated key\(s\) \['eval'\]"),
    (text({"eval": [{"seed": 1}]}).replace(FORMAT, "vlgym-manifest/2"), "unsupported format 'vlgym-manifest/2'"),
    (text({"eval": [{"seed": 1}]}, seeds=[1]), r"unknown key\(s\) \['seeds'\]"),
    (json.dumps({"format": FORMAT, "splits": {"eval": [{"seed": 1}]}}), r"missing key\(s\) \['env_id'\]"),
    (text({"eval": [{"seed": 1, "task": 3}]}), r"splits.eval\[0\]: unknown key\(s\) \['task'\]"),
    (text({"eval": [{"seed": "1"}]}), "seed must be an integer"),
    (text({"eval": [{"seed": -1}]}), "seed must be an integer"),
    (text({"eval": [{"seed": 1.0}]}), "seed must be an integer"),
    (text({"eval": [{"seed": True}]}), "seed must be an integer"),
    (text({"eval": [{"options": {}}]}), "seed must be an integer"),
    (text({"eval": [{"seed": 2**64}]}), "seed must be an integer"),
    (text({"eval": [7]}), r"splits.eval\[0\]: an episode is an object"),
    (text({"eval": [{"seed": 1, "options": [1]}]}), "options must be an object"),
    (text({"eval": []}), "split 'eval' must be a non-empty list"),
    (text({"eval": {"seed": 1}}), "split 'eval' must be a non-empty list"),
    (text({}), "splits must be a non-empty object"),
    (text({"bad name": [{"seed": 1}]}), "bad split name"),
    (text({"eval": [{"seed": 1}]}, env_kwargs=[]), "env_kwargs must be an object"),
    ('{"format": "vlgym-manifest/1", "env_id": "x", "splits": {"eval": [{"seed": NaN}]}}', "NaN is not valid"),
    ('{"format": "vlgym-manifest/1",', "not valid JSON"),
    ("[]", "a manifest is a JSON object"),
])
def test_malformed_manifests_are_rejected_with_the_place(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ManifestError, match=message) as error:
        load_manifest(path)
    assert str(error.value).startswith(str(path))


def test_manifests_built_in_code_follow_the_same_rules():
    with pytest.raises(ManifestError, match="repeats"):
        Manifest("vlgym/GymCards-NumberLine-v0", {"eval": (Episode(3), Episode(3))})
    with pytest.raises(ManifestError, match="split sizes must be positive integers"):
        make_manifest("vlgym/GymCards-NumberLine-v0", {"eval": 0})

import json

from PIL import Image
from typer.testing import CliRunner

from vlgym.cli import app

runner = CliRunner()


def test_list_shows_every_id():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for name in ("NumberLine", "EZPoints", "Points24", "Blackjack"):
        assert f"GymCards-{name}-v0" in result.output


def test_eval_writes_results_and_contact_sheet(tmp_path):
    out, sheet = tmp_path / "results.json", tmp_path / "sheet.png"
    ids = ["--env", "vlgym/GymCards-NumberLine-v0", "--env", "vlgym/GymCards-Blackjack-v0"]
    result = runner.invoke(app, ["eval", *ids, "--agent", "expert", "--episodes", "20", "--output", str(out),
                                 "--contact-sheet", str(sheet)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [(d["env_id"], d["agent"]) for d in data] == [("vlgym/GymCards-NumberLine-v0", "expert"),
                                                         ("vlgym/GymCards-Blackjack-v0", "expert")]
    assert data[0]["success_rate"] == 1.0 and len(data[0]["per_episode"]) == 20
    assert Image.open(sheet).size[0] == 2 * 256


def test_eval_rejects_unknown_ids():
    result = runner.invoke(app, ["eval", "--env", "vlgym/Nope-v0", "--episodes", "1"])
    assert result.exit_code != 0


def test_bench_reports_positive_rates(tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "--env", "vlgym/GymCards-EZPoints-v0", "--seconds", "0.3",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(out.read_text())
    assert row["steps"] > 0 and row["steps_per_s"] > 0 and row["reset_ms"] > 0
    assert row["image_shape"] == [300, 300, 3]


def test_doctor_reports_cards_ok_and_writes_a_frame(tmp_path):
    result = runner.invoke(app, ["doctor", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "gym-cards" in result.output
    assert Image.open(tmp_path / "gym-cards.png").size == (300, 300)


def test_play_a_whole_episode_from_stdin(tmp_path):
    frame = tmp_path / "frame.png"
    # NumberLine seed 0: the expert's hints tell the way; play them by answering "hint" then the move.
    import gymnasium as gym

    import vlgym  # noqa: F401

    env = gym.make("vlgym/GymCards-NumberLine-v0")
    _, _info = env.reset(seed=0)
    moves = []
    done = False
    while not done:
        move = env.unwrapped.expert_action()
        moves.append(move)
        *_, terminated, truncated, _ = env.step(move)
        done = terminated or truncated
    typed = "hint\nnot a move\n" + "".join(f'{{"action": "{m}"}}\n' for m in moves)
    result = runner.invoke(app, ["play", "vlgym/GymCards-NumberLine-v0", "--seed", "0", "--frame", str(frame)],
                           input=typed)
    assert result.exit_code == 0, result.output
    assert "Expert suggests" in result.output
    assert "invalid" in result.output
    assert "success True" in result.output
    assert Image.open(frame).size == (300, 300)


def test_eval_skips_an_env_without_an_expert_and_goes_on(tmp_path):
    out = tmp_path / "results.json"
    result = runner.invoke(app, ["eval", "-e", "vlgym/MiniWorld-RoomObjects-v0", "-e", "vlgym/GymCards-NumberLine-v0",
                                 "--agent", "expert", "--episodes", "2", "-k", "image_size=[60,80]",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "RoomObjects has no goal" in result.output
    assert [d["env_id"] for d in json.loads(out.read_text())] == ["vlgym/GymCards-NumberLine-v0"]

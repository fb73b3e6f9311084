"""Hand-worked episodes of the four Gym-Cards games (rules and rewards of RL4VLM's gym_cards)."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

from vlgym.envs.cards.deck import SUITS, Card

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"
EZPOINTS = "vlgym/GymCards-EZPoints-v0"
POINTS24 = "vlgym/GymCards-Points24-v0"
BLACKJACK = "vlgym/GymCards-Blackjack-v0"


def toks(formula: str) -> list[str]:
    return formula.split()


def play(env, actions):
    """Step through ``actions``; returns the list of (reward, terminated, truncated, info)."""
    out = []
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        out.append((reward, terminated, truncated, info))
    return out


# ------------------------------------------------------------------------------------------ NumberLine
def numberline(make_env, target, current, **kwargs):
    env = make_env(NUMBERLINE, **kwargs)
    env.reset(seed=0)
    env.unwrapped.target, env.unwrapped.current = target, current
    return env


def test_numberline_closer_gives_zero_then_arrival_gives_one(make_env):
    env = numberline(make_env, target=3, current=1)
    (r1, t1, tr1, i1), (r2, t2, tr2, i2) = play(env, ["+", "+"])
    assert (r1, t1, tr1) == (0.0, False, False)
    assert i1["current"] == 2 and i1["success"] is False and i1["score"] == 0.0
    assert (r2, t2, tr2) == (1.0, True, False)
    assert i2["current"] == 3 and i2["success"] is True and i2["score"] == 1.0


def test_numberline_moving_away_gives_minus_one(make_env):
    env = numberline(make_env, target=3, current=2)
    reward, terminated, truncated, info = play(env, ["-"])[0]
    assert (reward, terminated, truncated) == (-1.0, False, False)
    assert info["current"] == 1
    # ... and coming back (closer, not there yet) gives 0.
    assert play(env, ["+"])[0][0] == 0.0


def test_numberline_downward_moves(make_env):
    env = numberline(make_env, target=0, current=2)
    steps = play(env, ["-", "-"])
    assert [s[0] for s in steps] == [0.0, 1.0]
    assert steps[-1][1] is True


@pytest.mark.parametrize(("target", "current", "action"), [(2, 5, "+"), (3, 0, "-")])
def test_numberline_bump_at_the_end_of_the_line(make_env, target, current, action):
    env = numberline(make_env, target=target, current=current)
    reward, terminated, truncated, info = play(env, [action])[0]
    assert (reward, terminated, truncated) == (-1.0, False, False)
    assert info["current"] == current  # the number stays on the line


def test_numberline_truncates_after_twice_max_position_steps(make_env):
    env = numberline(make_env, target=2, current=5)  # "+" bumps against 5 every time
    steps = play(env, ["+"] * 10)
    assert [s[0] for s in steps] == [-1.0] * 10
    assert [s[2] for s in steps] == [False] * 9 + [True]
    assert not any(s[1] for s in steps)
    assert steps[-1][3]["success"] is False


def test_numberline_invalid_steps_count_toward_truncation(make_env):
    env = numberline(make_env, target=2, current=4)
    steps = play(env, ["jump"] * 9)
    assert all(s[3]["action_valid"] is False and not s[2] for s in steps)
    # Two steps away from the target with one step left: the 10th step truncates.
    reward, terminated, truncated, _ = play(env, ["-"])[0]
    assert (reward, terminated, truncated) == (0.0, False, True)


def test_numberline_arrival_on_the_last_step_is_a_termination(make_env):
    env = numberline(make_env, target=2, current=3)
    play(env, ["jump"] * 9)
    reward, terminated, truncated, info = play(env, ["-"])[0]
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["success"] is True


def test_numberline_max_position_argument(make_env):
    env = numberline(make_env, target=0, current=3, max_position=3)
    steps = play(env, ["+"] * 6)  # bump at 3 each time; limit 2 * 3
    assert "0 to 3" in steps[0][3]["instruction"]
    assert [s[2] for s in steps] == [False] * 5 + [True]
    with pytest.raises(ValueError):
        gym.make(NUMBERLINE, max_position=0)


def test_numberline_start_differs_from_target_over_many_seeds():
    env = gym.make(NUMBERLINE)
    targets, starts = Counter(), Counter()
    for seed in range(500):
        _, info = env.reset(seed=seed)
        assert info["target"] != info["current"]
        assert 0 <= info["target"] <= 5 and 0 <= info["current"] <= 5
        assert info["success"] is False
        targets[info["target"]] += 1
        starts[info["current"]] += 1
    assert set(targets) == set(starts) == set(range(6))
    env.close()


def test_numberline_state_in_text(make_env):
    env = numberline(make_env, target=4, current=1, state_in_text=True)
    obs, *_ = env.step("+")
    assert obs["text"] == "Target: 4. Current: 2."
    env2 = numberline(make_env, target=4, current=1)
    obs, *_ = env2.step("+")
    assert obs["text"] == ""


# ------------------------------------------------------------------------------------ EZPoints/Points24
def points(make_env, env_id, ranks, **kwargs):
    """A points game reset with a seed, then given the cards ``ranks`` (face cards count 10)."""
    env = make_env(env_id, **kwargs)
    env.reset(seed=0)
    game = env.unwrapped
    game.cards = tuple(Card(rank, SUITS[i % 4]) for i, rank in enumerate(ranks))
    faces_are_10 = kwargs.get("treat_face_cards_as_10", True)
    game.numbers = [min(rank, 10) if faces_are_10 else rank for rank in ranks]
    game.formula, game.used = [], []
    return env


def test_ezpoints_win(make_env):
    env = points(make_env, EZPOINTS, [6, 2])
    steps = play(env, ["6", "*", "2", "="])
    assert [s[0] for s in steps] == [0.0, 0.0, 0.0, 10.0]
    assert [s[1] for s in steps] == [False, False, False, True]
    info = steps[-1][3]
    assert info["success"] is True and info["score"] == 1.0
    assert info["formula"] == ["6", "*", "2"]
    for _, _, _, earlier in steps[:-1]:
        assert earlier["success"] is False and earlier["score"] == 0.0


def test_ezpoints_win_with_face_card_counted_as_ten(make_env):
    env = points(make_env, EZPOINTS, [12, 2])  # queen and two
    obs, *_ = env.step("10")
    assert obs["text"] == "Formula: 10"
    steps = play(env, ["+", "2", "="])
    assert steps[-1][0] == 10.0 and steps[-1][3]["success"] is True


def test_ezpoints_same_number_twice(make_env):
    env = points(make_env, EZPOINTS, [6, 6])
    steps = play(env, ["6", "+", "6", "="])
    assert [s[0] for s in steps] == [0.0, 0.0, 0.0, 10.0]


def test_ezpoints_wrong_result(make_env):
    env = points(make_env, EZPOINTS, [6, 2])
    steps = play(env, ["6", "+", "2", "="])  # 8
    reward, terminated, truncated, info = steps[-1]
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert info["success"] is False and info["score"] == 0.0
    assert info["available_actions"] == []


def test_ezpoints_unused_card(make_env):
    env = points(make_env, EZPOINTS, [6, 6])
    reward, terminated, _, info = play(env, ["6", "="])[-1]
    assert (reward, terminated) == (-1.0, True)
    assert info["success"] is False


@pytest.mark.parametrize("tokens", [["6", "*", "="], ["="], ["*", "6", "2", "="], ["+", "6", "*", "2", "="]])
def test_ezpoints_malformed_formula(make_env, tokens):
    env = points(make_env, EZPOINTS, [6, 2])
    steps = play(env, tokens)
    assert [s[0] for s in steps[:-1]] == [0.0] * (len(tokens) - 1)
    reward, terminated, _, info = steps[-1]
    assert (reward, terminated) == (-1.0, True)
    assert info["success"] is False


def test_ezpoints_digits_are_not_concatenated(make_env):
    env = points(make_env, EZPOINTS, [2, 10])
    steps = play(env, ["2", "10", "="])  # "2","10" is not 210 (nor 12): not a formula
    assert [s[0] for s in steps[:2]] == [0.0, 0.0]
    reward, terminated, _, info = steps[-1]
    assert (reward, terminated) == (-1.0, True)
    assert info["success"] is False


def test_ezpoints_illegal_card_appends_a_blank_and_play_goes_on(make_env):
    env = points(make_env, EZPOINTS, [6, 2])
    env.step("6")
    obs, reward, terminated, truncated, info = env.step("7")  # no 7 among the cards
    assert (reward, terminated, truncated) == (-1.0, False, False)
    assert info["action_valid"] is True
    assert info["formula"] == ["6", " "]
    assert obs["text"] == "Formula: 6"  # the blank is not shown
    # A second 6 is illegal too: one 6 only.
    obs, reward, terminated, _, info = env.step("6")
    assert (reward, terminated) == (-1.0, False)
    assert info["formula"] == ["6", " ", " "]
    # The blanks do not break the formula: 6 * 2 still wins (formula is 5 tokens with the blanks).
    steps = play(env, ["*", "2", "="])
    assert [s[0] for s in steps] == [0.0, 0.0, 10.0]
    assert steps[-1][3]["success"] is True


def test_ezpoints_formula_too_long(make_env):
    env = points(make_env, EZPOINTS, [6, 2])
    steps = play(env, ["+"] * 6)
    assert [s[0] for s in steps] == [0.0] * 6
    assert not any(s[1] or s[2] for s in steps)
    assert len(steps[-1][3]["formula"]) == 6
    # The formula is already longer than 5 tokens when the 7th action comes.
    reward, terminated, truncated, info = play(env, ["="])[0]
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert info["success"] is False


def test_ezpoints_blanks_count_toward_the_length_limit(make_env):
    env = points(make_env, EZPOINTS, [6, 2])
    steps = play(env, ["6", "7", "7", "7", "*", "2"])  # 6 tokens, three of them blanks
    assert [s[0] for s in steps] == [0.0, -1.0, -1.0, -1.0, 0.0, 0.0]
    reward, terminated, _, info = play(env, ["="])[0]
    assert (reward, terminated) == (-1.0, True)
    assert info["success"] is False


def test_ezpoints_action_set(make_env):
    env = make_env(EZPOINTS)
    _, info = env.reset(seed=3)
    assert info["available_actions"] == [*(str(n) for n in range(1, 11)), "+", "*", "="]


def test_ezpoints_deals_over_many_seeds():
    env = gym.make(EZPOINTS)
    ordered, suits0, suits1 = Counter(), set(), set()
    faces = [0, 0]
    products = 0
    for seed in range(500):
        _, info = env.reset(seed=seed)
        game = env.unwrapped
        a, b = game.numbers
        assert game.numbers == [min(c.rank, 10) for c in game.cards]
        assert info["numbers"] == [a, b]
        assert a + b == 12 or a * b == 12
        products += a * b == 12
        ordered[(a, b)] += 1
        suits0.add(game.cards[0].suit)
        suits1.add(game.cards[1].suit)
        for position, card in enumerate(game.cards):
            faces[position] += card.rank > 10
        assert not (game.cards[0].rank > 10 and game.cards[1].rank > 10)
    env.close()
    # Every pair that makes 12 from two cards of value <= 10, in both orders.
    pairs = {(2, 10), (3, 9), (4, 8), (5, 7), (6, 6), (2, 6), (3, 4)}
    assert set(ordered) == pairs | {(b, a) for a, b in pairs}
    assert suits0 == suits1 == set(SUITS)
    # First card rank uniform on 2..K; a divisor of 12 (2, 3, 4, 6: 4 of 12 ranks) pairs by product
    # half the time: P(product pair) = 1/6, ~83 of 500 (sd ~8).
    assert 50 <= products <= 120
    # {2, 10}: first card value 10 (4 of 12 ranks) or a 2 paired by sum (1/24): 9/24, ~188 (sd ~11).
    assert 145 <= ordered[(2, 10)] + ordered[(10, 2)] <= 230
    # A face card is the first-drawn card with p = 3/12, shown first or second with p = 1/2: ~62 each.
    assert 35 <= faces[0] <= 95 and 35 <= faces[1] <= 95


def test_points24_exact_arithmetic_win(make_env):
    env = points(make_env, POINTS24, [8, 3, 8, 3])
    tokens = toks("8 / ( 3 - 8 / 3 )")
    steps = play(env, [*tokens, "="])
    assert [s[0] for s in steps] == [0.0] * len(tokens) + [10.0]
    assert steps[-1][1] is True
    assert steps[-1][3]["success"] is True and steps[-1][3]["score"] == 1.0


def test_points24_brackets_and_precedence(make_env):
    env = points(make_env, POINTS24, [1, 2, 3, 4])
    steps = play(env, [*toks("( 1 + 2 + 3 ) * 4"), "="])
    assert steps[-1][0] == 10.0
    env = points(make_env, POINTS24, [1, 2, 3, 4])
    steps = play(env, [*toks("1 + 2 + 3 * 4"), "="])  # 15
    assert steps[-1][:2] == (-1.0, True)


def test_points24_face_cards(make_env):
    env = points(make_env, POINTS24, [13, 12, 2, 2])  # K Q 2 2: 10 + 10 + 2 + 2
    steps = play(env, [*toks("10 + 10 + 2 + 2"), "="])
    assert steps[-1][0] == 10.0


def test_points24_right_value_but_unused_cards(make_env):
    env = points(make_env, POINTS24, [8, 3, 8, 3])
    reward, terminated, _, info = play(env, ["8", "*", "3", "="])[-1]  # 24, two cards unused
    assert (reward, terminated) == (-1.0, True)
    assert info["success"] is False


def test_points24_division_by_zero_is_a_loss_not_a_crash(make_env):
    env = points(make_env, POINTS24, [1, 1, 2, 3])
    steps = play(env, [*toks("3 / ( 1 - 1 ) * 2"), "="])
    assert [s[0] for s in steps[:-1]] == [0.0] * (len(steps) - 1)
    reward, terminated, _, info = steps[-1]
    assert (reward, terminated) == (-1.0, True)
    assert info["success"] is False


def test_points24_illegal_card(make_env):
    env = points(make_env, POINTS24, [8, 3, 8, 3])
    reward, terminated, _, info = play(env, ["5"])[0]
    assert (reward, terminated) == (-1.0, False)
    assert info["formula"] == [" "]
    play(env, ["8", "8"])
    reward, terminated, _, info = play(env, ["8"])[0]  # a third 8
    assert (reward, terminated) == (-1.0, False)


def test_points24_formula_limit_is_20_tokens(make_env):
    env = points(make_env, POINTS24, [8, 3, 8, 3])
    steps = play(env, ["("] * 21)
    assert [s[0] for s in steps] == [0.0] * 21
    assert not any(s[1] or s[2] for s in steps)
    reward, terminated, truncated, _ = play(env, [")"])[0]
    assert (reward, terminated, truncated) == (-1.0, True, False)


def test_points24_action_sets(make_env):
    env = make_env(POINTS24)
    _, info = env.reset(seed=0)
    assert info["available_actions"] == [*(str(n) for n in range(1, 11)), "+", "-", "*", "/", "(", ")", "="]
    env13 = make_env(POINTS24, treat_face_cards_as_10=False)
    _, info = env13.reset(seed=0)
    assert len(info["available_actions"]) == 20
    assert info["available_actions"][:13] == [str(n) for n in range(1, 14)]


def test_points24_face_cards_keep_their_rank_when_asked(make_env):
    env = points(make_env, POINTS24, [13, 11, 1, 1], treat_face_cards_as_10=False)
    steps = play(env, [*toks("13 + 11 * 1 * 1"), "="])  # 24 with K = 13 and J = 11
    assert steps[-1][0] == 10.0
    # Dealt hands also use the ranks.
    env2 = make_env(POINTS24, treat_face_cards_as_10=False)
    seen_face = False
    for seed in range(40):
        env2.reset(seed=seed)
        game = env2.unwrapped
        assert game.numbers == [c.rank for c in game.cards]
        seen_face |= any(c.rank > 10 for c in game.cards)
    assert seen_face


def test_points24_deals_use_every_rank():
    env = gym.make(POINTS24)
    ranks = Counter()
    for seed in range(200):
        env.reset(seed=seed)
        game = env.unwrapped
        assert len(game.cards) == 4
        assert game.numbers == [min(c.rank, 10) for c in game.cards]
        ranks.update(c.rank for c in game.cards)
    env.close()
    assert set(ranks) == set(range(1, 14))


# ------------------------------------------------------------------------------------------ Blackjack
def hand_total(ranks) -> int:
    """Best blackjack total, worked independently of the package."""
    total = sum(min(r, 10) for r in ranks)
    return total + 10 if 1 in ranks and total + 10 <= 21 else total


def blackjack(make_env, player, dealer, seed=0, **kwargs):
    env = make_env(BLACKJACK, **kwargs)
    env.reset(seed=seed)
    env.unwrapped.player = [Card(r, "S") for r in player]
    env.unwrapped.dealer = [Card(r, "H") for r in dealer]
    return env


def test_blackjack_hit_to_bust(make_env):
    env = blackjack(make_env, player=[13, 9, 2], dealer=[10, 7])  # hard 21: any card busts
    reward, terminated, truncated, info = play(env, ["hit"])[0]
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert len(env.unwrapped.player) == 4
    assert info["player_total"] > 21
    assert info["success"] is False and info["score"] == 0.0


def test_blackjack_hit_without_bust_goes_on(make_env):
    env = blackjack(make_env, player=[2, 3], dealer=[10, 7])  # 5: no card can bust it
    reward, terminated, truncated, info = play(env, ["hit"])[0]
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["player_total"] == hand_total([c.rank for c in env.unwrapped.player])
    assert info["score"] == 0.0 and info["success"] is False


@pytest.mark.parametrize(
    ("player", "dealer", "reward", "score"),
    [
        ([10, 9], [10, 7], 1.0, 1.0),  # 19 vs 17
        ([10, 6], [10, 8], -1.0, 0.0),  # 16 vs 18
        ([10, 8], [9, 9], 0.0, 0.5),  # 18 vs 18
        ([1, 9], [10, 10], 0.0, 0.5),  # soft 20 vs 20
        ([1, 1, 9], [10, 10], 1.0, 1.0),  # soft 21 (A A 9) vs 20
        ([10, 7], [1, 6], 0.0, 0.5),  # dealer stands on soft 17
        ([10, 8], [1, 6], 1.0, 1.0),
        ([10, 6], [1, 6], -1.0, 0.0),
    ],
)
def test_blackjack_stand_with_fixed_hands(make_env, player, dealer, reward, score):
    env = blackjack(make_env, player=player, dealer=dealer)
    r, terminated, truncated, info = play(env, ["stand"])[0]
    assert (r, terminated, truncated) == (reward, True, False)
    assert len(env.unwrapped.dealer) == len(dealer)  # the dealer already had 17 or more
    assert info["score"] == score
    assert info["success"] is (reward > 0)
    assert info["available_actions"] == []


@pytest.mark.parametrize("seed", range(12))
def test_blackjack_dealer_draws_to_17(make_env, seed):
    env = blackjack(make_env, player=[10, 10], dealer=[2, 3], seed=seed)
    reward, terminated, _, _ = play(env, ["stand"])[0]
    assert terminated
    ranks = [c.rank for c in env.unwrapped.dealer]
    assert ranks[:2] == [2, 3]
    assert len(ranks) >= 4  # 5 plus one card is at most 16
    assert hand_total(ranks) >= 17
    assert hand_total(ranks[:-1]) < 17  # drew no card after reaching 17
    dealer = hand_total(ranks)
    expected = 1.0 if dealer > 21 or dealer < 20 else (0.0 if dealer == 20 else -1.0)
    assert reward == expected


def test_blackjack_natural_pays_1_5_when_asked(make_env):
    env = blackjack(make_env, player=[1, 13], dealer=[10, 7], natural=True)
    reward, _, _, info = play(env, ["stand"])[0]
    assert reward == 1.5
    assert info["score"] == 1.0 and info["success"] is True
    env = blackjack(make_env, player=[1, 13], dealer=[10, 7])
    assert play(env, ["stand"])[0][0] == 1.0
    # Three-card 21 is not a natural.
    env = blackjack(make_env, player=[1, 5, 5], dealer=[10, 7], natural=True)
    assert play(env, ["stand"])[0][0] == 1.0


def test_blackjack_natural_does_not_win_against_21(make_env):
    env = blackjack(make_env, player=[1, 13], dealer=[10, 5, 6], natural=True)
    assert play(env, ["stand"])[0][0] == 0.0
    # With sab=True (Sutton & Barto) a natural wins outright unless the dealer has one too.
    env = blackjack(make_env, player=[1, 13], dealer=[10, 5, 6], sab=True)
    assert play(env, ["stand"])[0][0] == 1.0
    env = blackjack(make_env, player=[1, 13], dealer=[1, 10], sab=True)
    assert play(env, ["stand"])[0][0] == 0.0


@pytest.mark.parametrize(
    ("player", "up", "action"),
    [
        ([10, 6], 10, "hit"),  # hard 16 vs 10
        ([10, 2], 4, "stand"),  # hard 12 vs 4
        ([10, 2], 2, "hit"),  # hard 12 vs 2
        ([1, 7], 9, "hit"),  # soft 18 vs 9
        ([1, 7], 8, "stand"),  # soft 18 vs 8
        ([1, 6], 7, "hit"),  # soft 17
        ([1, 8], 10, "stand"),  # soft 19
        ([5, 6], 6, "hit"),  # 11
        ([5, 6], 1, "hit"),
        ([10, 3], 6, "stand"),  # hard 13 vs 6
        ([10, 7], 1, "stand"),  # hard 17 vs ace
    ],
)
def test_blackjack_basic_strategy(make_env, player, up, action):
    env = blackjack(make_env, player=player, dealer=[up, 5])
    assert env.unwrapped.expert_action() == action


def test_blackjack_hole_card_is_hidden_until_the_end(make_env):
    low = blackjack(make_env, player=[10, 6], dealer=[10, 7])
    high = blackjack(make_env, player=[10, 6], dealer=[10, 9])
    obs_low, *_ = low.step("nonsense")
    obs_high, *_ = high.step("nonsense")
    assert np.array_equal(obs_low["image"], obs_high["image"])
    obs_low, r_low, *_ = low.step("stand")
    obs_high, r_high, *_ = high.step("stand")
    assert r_low == r_high == -1.0
    assert not np.array_equal(obs_low["image"], obs_high["image"])  # revealed at the end


def test_blackjack_state_in_text(make_env):
    env = blackjack(make_env, player=[1, 13], dealer=[12, 5], state_in_text=True)
    obs, *_ = env.step("nonsense")
    assert "queen" in obs["text"] and "ace" in obs["text"] and "king" in obs["text"]
    assert "5" not in obs["text"]  # the hole card stays hidden

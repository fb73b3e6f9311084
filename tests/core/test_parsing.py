"""vlgym.core.parsing: model output -> one canonical action, safely."""

from __future__ import annotations

import pytest

from vlgym.core.parsing import ParseResult, parse_action, resolve
from vlgym.core.spaces import MAX_ACTION_LENGTH

BLACKJACK = ["stand", "hit"]
NUMBERLINE = ["-", "+"]
EZPOINTS = [*(str(n) for n in range(1, 11)), "+", "*", "="]
MOVES = ["move forward", "turn left", "turn right"]


def check(result: ParseResult, expected: str | None) -> None:
    assert isinstance(result, ParseResult)
    assert result.action == expected
    assert result.valid is (expected is not None)
    assert isinstance(result.reason, str) and result.reason.strip()


# ------------------------------------------------------------------------------------------ plain text
@pytest.mark.parametrize("action", BLACKJACK)
def test_exact_canonical_strings(action):
    check(parse_action(action, BLACKJACK), action)


@pytest.mark.parametrize("action", EZPOINTS)
def test_every_ezpoints_token_resolves_to_itself(action):
    check(parse_action(action, EZPOINTS), action)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HIT", "hit"),
        ("  Stand  ", "stand"),
        ("hit\n", "hit"),
        ("\tStand.", "stand"),
        ('"hit"', "hit"),
        ("'stand'", "stand"),
        ("`hit`", "hit"),
    ],
)
def test_case_whitespace_quotes_and_period_are_tolerated(text, expected):
    check(parse_action(text, BLACKJACK), expected)


def test_inner_whitespace_is_collapsed():
    check(parse_action("Move   Forward", MOVES), "move forward")
    check(parse_action("turn\n\tLEFT", MOVES), "turn left")


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "h i t", "hitt", "stan", "hit stand", "2"])
def test_text_that_is_no_action_is_invalid_in_exact_mode(text):
    check(parse_action(text, BLACKJACK), None)


def test_prose_is_not_accepted_in_exact_mode():
    check(parse_action("I choose to hit", BLACKJACK), None)


# ------------------------------------------------------------------------------------------------ JSON
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"thoughts": "I have 19.", "action": "stand"}', "stand"),
        ('{"action": "HIT"}', "hit"),
        ('```json\n{"thoughts": "x", "action": "hit"}\n```', "hit"),
        ('```\n{"thoughts": "x", "action": "stand"}\n```', "stand"),
        ('Sure! Here is my answer:\n{"thoughts": "12 vs 10", "action": "hit"}\nGood luck.', "hit"),
        ("Answer: ```json\n{\"thoughts\": \"t\", \"action\": \"stand\"}\n``` (final)", "stand"),
        ("{'thoughts': 'single quotes', 'action': 'hit'}", "hit"),
        ('{"thoughts": "trailing comma", "action": "stand",}', "stand"),
        ('{"thoughts": "a {weird} } thing { with \\"quotes\\"", "action": "stand"}', "stand"),
        # A "thoughts" value that itself mentions another action field must not win.
        ('{"thoughts": "maybe {\\"action\\": \\"hit\\"}? no", "action": "stand"}', "stand"),
        ('{"Thoughts": "x", "Action": "hit"}', "hit"),
        ('{\n  "thoughts": "multi\\nline",\n  "action": "hit"\n}', "hit"),
    ],
)
def test_json_object_with_action_field(text, expected):
    check(parse_action(text, BLACKJACK), expected)


def test_json_fenced_with_prose_and_trailing_comma_for_symbol_actions():
    text = ('Answer:\n```json\n{\n  "thoughts": "Current is 2 {<target>}; I should \'add\' one",\n'
            '  "action": "+",\n}\n```\nDone.')
    check(parse_action(text, NUMBERLINE), "+")


def test_several_json_objects_resolve_the_same_fenced_or_not():
    # Models often echo the answer format before answering. The parser's own rule (extract_candidate):
    # "the last "action": ... wins, like the last JSON object" -- with or without code fences.
    unfenced = '{"thoughts": "...", "action": "stand"}\nMy answer:\n{"thoughts": "x", "action": "hit"}'
    fenced = ('Format:\n```json\n{"thoughts": "...", "action": "stand"}\n```\n'
              'My answer:\n```json\n{"thoughts": "x", "action": "hit"}\n```')
    check(parse_action(unfenced, BLACKJACK), "hit")
    check(parse_action(fenced, BLACKJACK), "hit")


@pytest.mark.parametrize(("value", "expected"), [(10, "10"), (2, "2"), (1, "1")])
def test_json_integer_action_values(value, expected):
    check(parse_action(f'{{"thoughts": "t", "action": {value}}}', EZPOINTS), expected)


@pytest.mark.parametrize(
    "text",
    [
        '{"thoughts": "x", "action": "fold"}',
        '{"thoughts": "x", "action": null}',
        '{"thoughts": "x", "action": true}',
        '{"thoughts": "x", "action": ["hit"]}',
        '{"thoughts": "x"}',
        '{"action": ""}',
        "{}",
        "{",
        "}",
        "```json\n```",
    ],
)
def test_json_without_a_usable_action_is_invalid(text):
    check(parse_action(text, BLACKJACK), None)


# ----------------------------------------------------------------------------------------- index form
def test_index_form_selects_the_numbered_action():
    actions = ["north", "south", "east"]
    check(parse_action("2", actions, action_index=True), "east")
    check(parse_action("0", actions, action_index=True), "north")
    check(parse_action('{"thoughts": "t", "action": "1"}', actions, action_index=True), "south")
    check(parse_action('{"thoughts": "t", "action": 1}', actions, action_index=True), "south")


def test_index_form_is_off_by_default():
    check(parse_action("2", ["north", "south", "east"]), None)


@pytest.mark.parametrize("text", ["3", "99", "999999", "99999999999999999999"])
def test_index_out_of_range_is_invalid(text):
    check(parse_action(text, ["north", "south", "east"], action_index=True), None)


def test_out_of_range_reason_mentions_the_index():
    action, reason = resolve("3", ["north", "south", "east"], action_index=True)
    assert action is None
    assert "3" in reason


def test_canonical_names_win_over_indices():
    actions = ["b", "0", "a"]
    # "0" is both the name of actions[1] and the index of actions[0]: the name wins.
    check(parse_action("0", actions, action_index=True), "0")
    # "1" names nothing, so it is an index.
    check(parse_action("1", actions, action_index=True), "0")
    check(parse_action("2", actions, action_index=True), "a")


# ------------------------------------------------------------------------------------ matching modes
def test_contains_mode_finds_an_action_in_prose():
    check(parse_action("I choose to hit.", BLACKJACK, matching="contains"), "hit")
    check(parse_action("I think I should stand now", BLACKJACK, matching="contains"), "stand")


def test_contains_mode_prefers_the_longer_match():
    check(parse_action("I pick 10", EZPOINTS, matching="contains"), "10")
    check(parse_action("i will go north", ["go", "go north"], matching="contains"), "go north")


def test_contains_mode_ambiguity_is_invalid():
    check(parse_action("+ or -", NUMBERLINE, matching="contains"), None)
    check(parse_action("hit or stand?", BLACKJACK, matching="contains"), None)
    # "go" also occurs on its own, outside "go north".
    check(parse_action("go north, then go", ["go", "go north"], matching="contains"), None)
    _, reason = resolve("hit or stand", BLACKJACK, matching="contains")
    assert "ambiguous" in reason


def test_contains_mode_needs_whole_words():
    check(parse_action("hitting", BLACKJACK, matching="contains"), None)
    check(parse_action("outstanding", BLACKJACK, matching="contains"), None)


def test_fuzzy_mode_resolves_typos():
    check(parse_action("move froward", MOVES, matching="fuzzy"), "move forward")
    check(parse_action("tunr left", MOVES, matching="fuzzy"), "turn left")


def test_fuzzy_mode_rejects_far_text_and_typos_are_exact_mode_failures():
    check(parse_action("banana pancake", MOVES, matching="fuzzy"), None)
    check(parse_action("xyz", BLACKJACK, matching="fuzzy"), None)
    check(parse_action("move froward", MOVES, matching="exact"), None)
    check(parse_action("move froward", MOVES, matching="contains"), None)


def test_fuzzy_mode_ambiguity_is_invalid():
    check(parse_action("go to fridge", ["go to fridge 1", "go to fridge 2"], matching="fuzzy"), None)


def test_unknown_matching_mode_raises():
    with pytest.raises(ValueError):
        resolve("hit", BLACKJACK, matching="regex")


# ------------------------------------------------------------------------------------- hostile input
@pytest.mark.parametrize("value", [None, {"action": "hit"}, ["hit"], ("hit",), object(), True, False, 3.5])
def test_non_string_inputs_are_invalid_not_exceptions(value):
    check(parse_action(value, BLACKJACK), None)


def test_undecodable_bytes_are_invalid_not_exceptions():
    check(parse_action(b"\xff\xfe\x00\x81", BLACKJACK), None)


def test_huge_integer_input_is_invalid_not_an_exception():
    # Python refuses str() of ints over 4300 digits (ValueError); the parser promises never to raise.
    check(parse_action(10**5000, EZPOINTS), None)


def test_over_long_text_is_invalid_with_a_reason():
    result = parse_action("hit" + " " * MAX_ACTION_LENGTH, BLACKJACK)
    check(result, None)
    assert "long" in result.reason
    assert MAX_ACTION_LENGTH == 100_000
    check(parse_action("x" * 1_000_000, BLACKJACK), None)


def test_text_at_the_length_limit_is_still_parsed():
    check(parse_action("hit" + " " * (MAX_ACTION_LENGTH - 3), BLACKJACK), "hit")


@pytest.mark.parametrize(
    "text",
    [
        "{" * 3000,
        "[" * 3000,
        "{" * 150 + "}" * 150,
        '{"a":' * 199 + "1" + "}" * 199,
        "```" * 5000,
        "\x00\x01\x1b[31m\x7f",
        "\ud800\udfff",
        '{"action": "\ud800"}',
        '{"action": ' + "9" * 5000 + "}",
        '{"action": 1e999}',
        '{"action": NaN}',
    ],
)
def test_pathological_text_is_invalid_not_an_exception(text):
    check(parse_action(text, BLACKJACK), None)


def test_nothing_is_evaluated(tmp_path):
    target = tmp_path / "pwned_vlgym"
    command = f"__import__('os').system('touch {target}')"
    payloads = [
        command,
        f'{{"action": {command}}}',
        f"{{'thoughts': 'x', 'action': {command}}}",
        f'```json\n{{"action": {command}}}\n```',
        f'{{"action": "hit", "thoughts": {command}}}',
        f"action: {command}",
        f"eval(\"{command}\")",
    ]
    for matching in ("exact", "contains", "fuzzy"):
        for text in payloads:
            result = parse_action(text, BLACKJACK, matching=matching)
            assert isinstance(result.reason, str) and result.reason
            assert not target.exists(), f"{text!r} was evaluated"
    # The plain command text names no action.
    assert parse_action(command, BLACKJACK).action is None


def test_source_says_where_the_candidate_came_from():
    assert parse_action("hit", BLACKJACK).source == "text"
    assert parse_action('{"action": "hit"}', BLACKJACK).source == "json"
    assert parse_action(None, BLACKJACK).source == "none"

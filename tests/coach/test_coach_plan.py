"""The prescription: --plan and --stop-on text, plan files, and the dict the log's metadata keeps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bandlog.coach import Plan, StopRule, parse_plan, parse_stop_on, plan_from_toml
from bandlog.coach.plan import CONTROL_KINDS, LEGS
from bandlog.core.errors import ConfigError


def test_the_short_form_takes_the_defaults() -> None:
    plan = parse_plan("3x8@4")
    assert plan == Plan(sets=3, reps=8, ecc_s=4.0, rest_s=120.0, legs=None)
    assert plan.total_sets == 3 and plan.leg(2) is None


def test_rest_and_alternating_legs() -> None:
    plan = parse_plan("3x8@4 r90 LR", stop_on="2 fast")
    assert (plan.rest_s, plan.legs, plan.total_sets) == (90.0, "both-alternating", 6)
    assert [plan.leg(n) for n in range(1, 7)] == ["left", "right"] * 3
    assert plan.stop_on == (StopRule("fast", 2),)
    assert plan.describe().startswith("3x8@4 r90 LR: 3 sets of 8 reps per leg, legs alternating set by set (6 sets)")


def test_blocked_legs_and_units_written_out() -> None:
    plan = parse_plan("2x5@3.5s r60s llrr")
    assert plan.ecc_s == 3.5 and plan.rest_s == 60.0
    assert [plan.leg(n) for n in range(1, 5)] == ["left", "left", "right", "right"]
    assert parse_plan("4x6@5 R").leg(3) == "right"


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "expected SETSxREPS@ECCENTRIC_S"),
        ("3x8", "expected SETSxREPS@ECCENTRIC_S"),
        ("8@4", "expected SETSxREPS@ECCENTRIC_S"),
        ("3x8@4 r90 r60", "could not read 'r60'"),
        ("3x8@4 LR L", "could not read 'L'"),
        ("3x8@4 90", "could not read '90'"),
        ("0x8@4", "sets must be within 1-20"),
        ("3x8@45", "ecc_s must be within 0.5-30"),
        ("3x8@4 r4000", "rest_s must be within 0-1800"),
    ],
)
def test_bad_plans_say_what_is_expected(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"e\.g\.") as caught:
        parse_plan(text)
    assert words in str(caught.value)


def test_stop_rules() -> None:
    assert parse_stop_on("") == ()
    assert parse_stop_on("2 fast, drop") == (StopRule("fast", 2), StopRule("drop", 1))
    assert parse_stop_on(" 3 UNDER ") == (StopRule("under", 3),)
    for bad in ("2 slow", "0 fast", "fast, 2 fast", "two fast"):
        with pytest.raises(ConfigError, match=r"e\.g\."):
            parse_stop_on(bad)


def test_plan_file() -> None:
    plan = plan_from_toml('name = "rehab week 3"\nsets = 3\nreps = 8\necc_s = 4.5\nrest_s = 90\nlegs = "LR"\nstop_on = "2 fast"\n')
    assert plan == Plan(3, 8, 4.5, 90.0, "both-alternating", (StopRule("fast", 2),), "rehab week 3")
    assert plan.describe().startswith("rehab week 3: 3x8@4.5 r90 LR")
    assert plan_from_toml('sets = 2\nreps = 5\necc_s = 3\nlegs = "right"\nstop_on = ["drop", "2 under"]').stop_on == (
        StopRule("drop"), StopRule("under", 2),
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("sets = 3\nreps = 8\n", "lacks ecc_s"),
        ("sets = 3\nreps = 8\necc_s = 4\nrest = 90\n", "unknown plan key(s) rest"),
        ('sets = "3"\nreps = 8\necc_s = 4\n', "sets must be a whole number"),
        ('sets = 3\nreps = 8\necc_s = "4 s"\n', "ecc_s must be a number of seconds"),
        ('sets = 3\nreps = 8\necc_s = 4\nlegs = "both"\n', "legs must be one of"),
        ("sets = 3\nreps = 8\necc_s = 4\nsets = 2\n", "not valid TOML"),
    ],
)
def test_bad_plan_files_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_from_toml(text)
    assert words in str(caught.value)


seconds = st.one_of(st.integers(1, 30).map(float), st.floats(0.5, 30.0, allow_nan=False).map(lambda x: round(x, 3)))
plans = st.builds(
    Plan,
    sets=st.integers(1, 20),
    reps=st.integers(1, 50),
    ecc_s=seconds,
    rest_s=st.one_of(st.integers(0, 1800).map(float), st.floats(0.0, 1800.0, allow_nan=False)),
    legs=st.one_of(st.none(), st.sampled_from(LEGS)),
    stop_on=st.lists(st.sampled_from(list(CONTROL_KINDS)), unique=True, max_size=3).flatmap(
        lambda kinds: st.tuples(*(st.builds(StopRule, st.just(k), st.integers(1, 5)) for k in kinds))
    ),
)


@given(plans)
def test_the_text_a_plan_describes_parses_back_to_it(plan: Plan) -> None:
    stop_text = ", ".join(rule.text() for rule in plan.stop_on)
    assert parse_plan(plan.text(), stop_text) == plan
    head, words = plan.describe().split(": ", 1)
    assert parse_plan(head, stop_text) == plan and words
    assert Plan.from_dict(plan.to_dict()) == plan

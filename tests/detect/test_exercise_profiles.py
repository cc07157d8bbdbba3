"""Exercise profiles (bandlog.detect.exercises): keys, the `knee` alias, the header -> profile choice
and its fallback, and the CLI's choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from bandlog import cli
from bandlog.core.errors import ConfigError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import StreamInfo
from bandlog.detect.analysis import Analyzer
from bandlog.detect.exercises import CHOICES, DEFAULT_KEY, PROFILES, exercise_profile, profile_for_header
from bandlog.detect.params import DetectorParams
from bandlog.io.csv_log import CsvLogSink


def test_knee_is_an_alias_of_the_reverse_curl_and_unknown_keys_are_refused() -> None:
    assert exercise_profile("knee") is exercise_profile("reverse-curl") is PROFILES[DEFAULT_KEY]
    assert exercise_profile("knee").params() == DetectorParams()  # the curl's gates are the defaults
    assert set(CHOICES) == {"reverse-curl", "runners-stretch", "standing-l", "other", "knee"}
    with pytest.raises(ConfigError, match="exercise must be one of"):
        exercise_profile("squat")


def test_each_profile_says_what_it_is() -> None:
    runners, standing = PROFILES["runners-stretch"], PROFILES["standing-l"]
    assert runners.rest_end == "flexed" and not runners.loading_first
    assert standing.rest_end == "extended" and standing.loading_first
    assert runners.pose == standing.pose == "planted" and PROFILES[DEFAULT_KEY].pose == "seated"
    assert "shank" in standing.angle_meaning and "knee" in PROFILES[DEFAULT_KEY].angle_meaning
    # the shank turns by part of the knee angle: the planted gates are smaller than the curl's
    assert standing.params().min_rom_deg < DetectorParams().min_rom_deg


@pytest.mark.parametrize("header", ["standing-l", 'standing "L"', '  STANDING "l" '])
def test_a_header_naming_a_profile_picks_it_without_a_note(header: str) -> None:
    assert profile_for_header(header) == (PROFILES["standing-l"], None)


@pytest.mark.parametrize("header", ["reverse hamstring curl", "knee", "Reverse-Curl"])
def test_the_reverse_curl_by_name_key_or_alias(header: str) -> None:
    assert profile_for_header(header) == (PROFILES[DEFAULT_KEY], None)


@pytest.mark.parametrize("header", ["nordic curl", "", None])
def test_an_unknown_exercise_falls_back_to_the_reverse_curl_and_says_so(header: str | None) -> None:
    profile, note = profile_for_header(header)
    assert profile is PROFILES[DEFAULT_KEY]
    assert note is not None and "reverse hamstring curl" in note and "--exercise" in note
    if header:
        assert header in note


def test_the_analyzer_takes_its_profile_from_the_header_unless_one_is_given() -> None:
    header = RecordingMeta(exercise="active runner's stretch")
    chosen = Analyzer()
    chosen.on_meta(header)
    assert chosen.exercise == "runners-stretch" and chosen.params == PROFILES["runners-stretch"].params()
    given = Analyzer(exercise="knee")
    given.on_meta(header)
    assert given.exercise == DEFAULT_KEY and given.params == DetectorParams()
    unknown = Analyzer()
    unknown.on_meta(RecordingMeta(exercise="nordic curl"))
    assert unknown.exercise == DEFAULT_KEY and "nordic curl" in unknown.summary().notes


def _standing_log(path: Path, exercise_name: str) -> Path:
    from bandlog.sim import random_spec, simulate_session

    session = simulate_session(random_spec(4, exercise="standing-l", n_sets=1, reps_per_set=6))
    block = session.record(rate_hz=100.0, channels="imu")
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(leg="left", target_ecc_s=3.0, exercise=exercise_name,
                                stream=StreamInfo(profile="sim", model="simulated", sample_rate_hz=100.0, channels=("gyro_x_dps",))))
    sink.on_samples(block)
    sink.close()
    return path


def test_analyze_reads_the_profile_from_the_log_header(tmp_path: Path) -> None:
    """A standing "L" log is analysed as one; the same samples under a foreign exercise name fall back
    to the reverse curl's gates (which miss the shank's small turns) and the notes say so."""
    from bandlog.app.api import analyze

    named = analyze(_standing_log(tmp_path / "l.csv", 'standing "L"'))
    assert len(named.reps) == 6 and "not a known profile" not in named.summary["notes"]
    foreign = analyze(_standing_log(tmp_path / "f.csv", "single-leg thing"))
    assert "'single-leg thing', not a known profile: analysed as the reverse hamstring curl" in foreign.summary["notes"]
    assert len(foreign.reps) != 6
    assert len(analyze(tmp_path / "f.csv", exercise="standing-l").reps) == 6  # --exercise wins over the header


def test_the_cli_takes_profile_keys_and_the_alias() -> None:
    parser = cli.build_parser(verbs=("analyze", "record"))
    for key in CHOICES:
        assert parser.parse_args(["analyze", "x.csv", "--exercise", key]).exercise == key
    assert parser.parse_args(["analyze", "x.csv"]).exercise is None  # the header decides
    with pytest.raises(SystemExit):
        parser.parse_args(["analyze", "x.csv", "--exercise", "squat"])
    recorded = parser.parse_args(["record", "--device", "x", "--exercise", "runners-stretch"])
    from bandlog.cli.commands._recording_args import meta_from_args

    assert meta_from_args(recorded).exercise == "active runner's stretch"  # the header stores the name
    assert meta_from_args(parser.parse_args(["record", "--device", "x"])).exercise == "reverse hamstring curl"


def test_a_new_profile_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding an exercise touches PROFILES only: the header choice and the analyzer find it."""
    from dataclasses import replace

    import bandlog.detect.exercises as exercises

    lunge = replace(PROFILES["standing-l"], key="lunge", name="split lunge")
    monkeypatch.setitem(exercises.PROFILES, "lunge", lunge)
    assert profile_for_header("Split Lunge") == (lunge, None)
    analyzer = Analyzer(exercise="lunge")
    assert analyzer.profile is lunge and analyzer.params == PROFILES["standing-l"].params()


@pytest.mark.parametrize(("exercise", "noted"), [("standing-l", True), ("runners-stretch", True), ("reverse-curl", False)])
def test_a_planted_sets_notes_say_how_sure_its_eccentric_times_are(exercise: str, noted: bool) -> None:
    """The planted shin sees part of the knee's turn and sways with the body, so its rep ends are dated
    up to ~0.25 s off (bench P95) against ~0.15 s in the reverse curl: the set says so, not only the bench."""
    from bandlog.detect.exercises import PLANTED_TIMING
    from bandlog.sim import random_spec, simulate_session

    spec = random_spec(3, n_sets=1, reps_per_set=3) if exercise == "reverse-curl" else random_spec(3, exercise=exercise)
    analyzer = Analyzer(target_ecc_s=spec.target_ecc_s, exercise=exercise, kinematics=False)
    analyzer.feed(simulate_session(spec).record(rate_hz=100.0, channels="imu"))
    analyzer.finish()
    assert analyzer.reps
    assert (PLANTED_TIMING in analyzer.summary().notes) == noted

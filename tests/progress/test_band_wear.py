"""Band wear (bandlog.progress.band_wear), the move-up rule (band_move_up) and the geometry a person gives (band_geometry)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.progress.band_advice import band_drifts, torque_notes
from bandlog.progress.band_curve import fit_band_curve
from bandlog.progress.band_geometry import (
    NO_ANCHOR,
    NO_SHANK,
    anchor_extra,
    load_shank_cm,
    parse_anchor_cm,
    resolve_geometry,
    save_shank_cm,
)
from bandlog.progress.band_move_up import move_up, next_band, parse_band
from bandlog.progress.band_wear import MIN_SESSIONS, band_drift

DAYS = [float(7 * w + d) for w in range(4) for d in (0, 2, 4)]


def _curve(gain: float, shift_deg: float = 0.0):
    angle = np.concatenate([np.linspace(10, 100, 300), np.linspace(100, 10, 300)] * 2)
    rate = np.gradient(angle) * 100
    force = gain * 3.0 * np.clip(angle + shift_deg, 1, None) ** 0.55
    return fit_band_curve(angle, rate, force).extension


def _history(loss: float, scatter: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [_curve((1 - loss * day / 28) * math.exp(rng.normal(0, scatter))) for day in DAYS]


def test_a_band_losing_15_percent_is_flagged_with_its_figures() -> None:
    drift = band_drift("green x2", DAYS, _history(0.15, 0.03))
    assert drift.flagged and drift.drift == pytest.approx(-0.14, abs=0.04)
    sentence = drift.sentence()
    # compared where the band is well stretched: the top of the range (force >= half its largest)
    assert sentence.startswith("green x2: force at 29 to 98 deg down 1") and "over 4 weeks (12 sessions; beyond the " in sentence
    assert "session-to-session scatter explains): band wearing, or the anchor moved" in sentence


@pytest.mark.parametrize("seed", range(5))
def test_a_stable_band_with_re_setup_scatter_is_not_flagged(seed: int) -> None:
    drift = band_drift("red", DAYS, _history(0.0, 0.05, seed))
    assert not drift.flagged, drift.sentence()
    assert "within the" in drift.sentence()


def test_a_drift_inside_a_large_scatter_is_not_flagged_but_one_outside_it_is() -> None:
    """The threshold is the person's own scatter: the same 10 % drift is noise for one, wear for another."""
    assert not band_drift("b", DAYS, _history(0.10, 0.09, seed=3)).flagged
    assert band_drift("b", DAYS, _history(0.10, 0.01, seed=3)).flagged


def test_fewer_sessions_need_a_wider_margin() -> None:
    from bandlog.progress.band_wear import drift_margin

    assert drift_margin(12) == pytest.approx(2.0) and drift_margin(6) == pytest.approx(2.0 * 2.776 / 2.228)
    assert drift_margin(40) < drift_margin(12) < drift_margin(5)


def test_too_few_sessions_or_curves_say_so() -> None:
    curves = [*_history(0.3, 0.0)[: MIN_SESSIONS - 1], None, None]
    drift = band_drift("blue", DAYS[: MIN_SESSIONS + 1], curves)
    assert not drift.flagged and math.isnan(drift.drift)
    assert drift.sentence() == f"blue: band curve in {MIN_SESSIONS - 1} sessions; 2 without a usable curve, {MIN_SESSIONS} needed to judge wear"


def test_band_drifts_group_index_records_by_band_label() -> None:
    curves = _history(0.15, 0.02)
    records = [{"date": f"2026-11-{1 + int(d):02d}", "band": "green x2", "exercise": "x", "band_curve": None}
               for d in DAYS]
    for record, curve in zip(records, curves, strict=True):
        record["band_curve"] = json.dumps({"flexion": None, "extension": curve.__dict__ | {"coef": list(curve.coef)},
                                           "still": 0, "fast": 0, "unknown": 0})
    records.append({"date": "2026-11-02", "band": "red", "exercise": "x", "band_curve": float("nan")})  # pandas' missing
    (drift,) = band_drifts(records)
    assert drift.label == "green x2" and drift.flagged and drift.sessions == len(DAYS)


# -- move up --------------------------------------------------------------------------------------

def _session(band: str = "green x2", ecc: float = 4.2, rom: float = 100.0, leg: str = "left") -> dict[str, object]:
    return {"leg": leg, "band": band, "target_ecc_s": 4.0, "mean_ecc_duration_s": ecc, "rom_deg": rom}


def test_three_sessions_at_target_and_full_range_suggest_the_next_colour() -> None:
    history = [_session("red", 3.0)] * 4 + [_session()] * 3
    (verdict,) = move_up(history)
    assert verdict.suggest == "blue x2" and verdict.leg == "left"
    assert verdict.sentence.endswith("in the last 3 sessions: try blue x2") and "usual 100 deg" in verdict.sentence


@pytest.mark.parametrize("last", [_session(ecc=3.9), _session(rom=85.0), _session("red")])
def test_a_short_eccentric_a_short_range_or_a_new_band_in_the_last_n_means_no_move(last: dict[str, object]) -> None:
    assert move_up([_session()] * 5 + [last]) == []


def test_n_is_configurable_and_checked() -> None:
    history = [_session(ecc=3.0)] * 3 + [_session()] * 2
    assert move_up(history) == []
    assert move_up(history, n=2)[0].suggest == "blue x2"
    with pytest.raises(ConfigError, match="at least 1 session"):
        move_up(history, n=0)


def test_the_move_up_order_is_the_band_table_of_the_model() -> None:
    from bandlog.progress.band_move_up import BAND_COLOURS
    from bandlog.sim.band import BAND_COLOURS as MODEL_COLOURS

    assert BAND_COLOURS == MODEL_COLOURS


def test_the_colour_table_and_labels_it_cannot_read() -> None:
    assert parse_band("Green x2") == ("green", 2) and parse_band("2x blue") == ("blue", 2) and parse_band("red") == ("red", 1)
    assert next_band("tan") == "yellow" and next_band("black x2") == "silver x2"
    assert next_band("gold") is None and next_band("thick one") is None and parse_band("red or green") is None
    (gold,) = move_up([_session("gold x2")] * 3)
    assert gold.suggest is None and "heaviest colour" in gold.sentence
    (unknown,) = move_up([_session("thick one")] * 3)
    assert unknown.suggest is None and "names no colour of the band table" in unknown.sentence


# -- geometry -------------------------------------------------------------------------------------

def test_missing_geometry_is_assumed_and_said() -> None:
    nothing = resolve_geometry(None, {})
    assert nothing.shank_m == 0.40 and nothing.anchor_m is None and nothing.assumed == (NO_SHANK, NO_ANCHOR)
    assert "right angles to the shank: anchor not given" in NO_ANCHOR and "40 cm shank" in NO_SHANK
    full = resolve_geometry(42.0, anchor_extra(90.0, -20.0))
    assert full.shank_m == pytest.approx(0.42) and full.anchor_m == pytest.approx((0.90, -0.20)) and full.assumed == ()
    broken = resolve_geometry(42.0, {"anchor_forward_cm": "ninety", "anchor_height_cm": "0"})
    assert broken.anchor_m is None and broken.assumed[0].startswith("the anchor in the log header is not a number")
    half = resolve_geometry(42.0, {"anchor_forward_cm": "90"})
    assert half.anchor_m is None and "incomplete" in half.assumed[0] and half.assumed[1] == NO_ANCHOR


def test_torque_notes_count_sessions_per_assumption() -> None:
    records = [{"peak_torque_n_m": 12.0, "torque_note": f"{NO_SHANK}; {NO_ANCHOR}"}, {"peak_torque_n_m": 11.0, "torque_note": None},
               {"peak_torque_n_m": float("nan"), "torque_note": float("nan")}]
    assert torque_notes(records) == [f"in 1 of 2 sessions with a torque, {NO_SHANK}", f"in 1 of 2 sessions with a torque, {NO_ANCHOR}"]


def test_the_shank_length_is_remembered_in_the_data_folder(tmp_path: Path) -> None:
    assert load_shank_cm(tmp_path) is None
    save_shank_cm(tmp_path, 41.5)
    assert load_shank_cm(tmp_path) == 41.5
    with pytest.raises(ConfigError, match="outside 20-70 cm"):
        save_shank_cm(tmp_path, 4.0)
    assert load_shank_cm(tmp_path) == 41.5  # a refused value loses nothing
    (tmp_path / "geometry.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(ConfigError, match="give it again with --shank-cm"):
        load_shank_cm(tmp_path)


def test_record_options_store_the_shank_and_put_the_anchor_in_the_header(tmp_path: Path) -> None:
    from bandlog.cli.commands._recording_args import meta_from_args

    args = argparse.Namespace(leg="left", band="red", exercise="reverse-curl", note="", target_ecc=4.0,
                              shank_cm=38.0, anchor_cm="85,-15", data_dir=str(tmp_path))
    meta = meta_from_args(args)
    assert meta.extra == {"anchor_forward_cm": "85.0", "anchor_height_cm": "-15.0"}
    assert load_shank_cm(tmp_path) == 38.0
    with pytest.raises(ConfigError, match="FORWARD,HEIGHT"):
        parse_anchor_cm("85")
    with pytest.raises(ConfigError, match="in front of the knee"):
        parse_anchor_cm("-10,0")

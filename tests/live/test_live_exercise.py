"""The live views follow the exercise: a planted-foot exercise's angle is the shank's turn, not the
knee's, and when its band is optional and none pulls, the force trace is said to be no band instead
of its noise being scaled up to look like band force (terminal, window and web page alike)."""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"

from io import StringIO

import numpy as np
from rich.console import Console

from bandlog.core.events import RepCompleted
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Kinematics
from bandlog.core.results import RepMetrics
from bandlog.core.samples import SampleBlock
from bandlog.detect.exercises import PROFILES
from bandlog.live.axis_limits import FORCE_FLOOR_N
from bandlog.live.model import LiveModel
from bandlog.live.mpl_view import FORCE_COLOUR, NO_BAND_COLOUR, MplView
from bandlog.live.tui import BLOCKS, render, sparkline
from bandlog.live.web_frames import FrameBuilder

RATE_HZ = 100.0
STANDING_L = PROFILES["standing-l"]
NOISE_N = 0.3
"""A load cell's zero with no band on: well under DetectorParams.no_band_n (2 N)."""


def feed(model: LiveModel, start_s: float, seconds: float, force_n: float = 0.0, seed: int = 1) -> None:
    """`seconds` of samples in 10-sample blocks: force at `force_n` plus load-cell noise, a shank turning 20 deg."""
    rng = np.random.default_rng(seed)
    t_all = start_s + np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    for first in range(0, t_all.shape[0], 10):
        t_s = t_all[first:first + 10]
        model.add_samples(SampleBlock(t_s=t_s, force_n=force_n + rng.normal(0.0, NOISE_N, t_s.shape[0])))
        model.add_kinematics(Kinematics(t_s, 10.0 + 10.0 * np.sin(t_s), 10.0 * np.cos(t_s)))


def standing_l_model() -> LiveModel:
    model = LiveModel()
    model.start(RecordingMeta(exercise=STANDING_L.name))
    return model


def dashboard(model: LiveModel) -> str:
    console = Console(record=True, width=80, file=StringIO())
    console.print(render(model, 60))
    return console.export_text()


def test_the_model_learns_the_exercise_from_the_header_or_the_option() -> None:
    model = standing_l_model()
    assert model.profile is STANDING_L
    assert model.angle_label("angle") == f"{STANDING_L.angle_label} (deg)" and "knee" not in model.angle_label("angle")
    told = LiveModel(exercise="standing-l")  # replay --exercise: over what the header says, as the detector does
    told.start(RecordingMeta(exercise="reverse hamstring curl"))
    assert told.profile is STANDING_L
    assert LiveModel().angle_label("angle") == "knee flexion angle (deg)"


def test_no_band_until_tension_appears_then_it_stays() -> None:
    model = standing_l_model()
    assert not model.no_band()  # nothing measured yet: nothing to say
    feed(model, 0.0, 30.0)
    assert model.no_band() and model.no_band_label() == "no band: force within 2 N of rest"
    feed(model, 30.0, 0.5, force_n=6.0)  # a band pulls
    assert not model.no_band() and model.no_band_label() == ""
    feed(model, 30.5, 10.0)  # back at rest: the band is still on
    assert not model.no_band()


def test_a_knock_on_the_sensor_is_not_a_band() -> None:
    model = standing_l_model()
    feed(model, 0.0, 10.0)
    model.add_samples(SampleBlock(t_s=np.array([10.0, 10.01]), force_n=np.array([6.0, 0.0])))
    feed(model, 10.02, 5.0)
    assert model.no_band()


def test_a_band_that_is_not_optional_is_never_called_missing() -> None:
    model = LiveModel()
    model.start(RecordingMeta(exercise="reverse hamstring curl"))
    feed(model, 0.0, 10.0)
    assert not model.no_band()


def test_the_dashboard_says_no_band_and_names_the_shank_angle() -> None:
    model = standing_l_model()
    feed(model, 0.0, 25.0)
    text = dashboard(model)
    force_row = next(line for line in text.splitlines() if "force" in line)
    assert "no band: force within 2 N of rest" in force_row
    assert not set(force_row) & set(BLOCKS[1:])  # no sparkline of the noise
    assert f"angle: {STANDING_L.angle_label} (deg)" in text
    assert "knee" not in text
    feed(model, 25.0, 1.0, force_n=8.0)
    force_row = next(line for line in dashboard(model).splitlines() if "force" in line)
    assert "no band" not in force_row and set(force_row) & set(BLOCKS[1:])


def test_the_sparkline_does_not_blow_noise_up_to_full_height() -> None:
    t_s = np.arange(1000) / RATE_HZ
    noise = np.random.default_rng(2).normal(0.0, NOISE_N, t_s.shape[0])
    assert set(sparkline(t_s, noise, 0.0, 10.0, 20, FORCE_FLOOR_N)) == {BLOCKS[1]}
    assert BLOCKS[-1] in sparkline(t_s, noise, 0.0, 10.0, 20)  # without a floor: the noise fills the row
    pulls = np.where(t_s < 5.0, noise, 40.0)
    assert sparkline(t_s, pulls, 0.0, 10.0, 10, FORCE_FLOOR_N)[-1] == BLOCKS[-1]  # a real pull still fills it


def test_the_window_labels_the_shank_angle_and_says_no_band() -> None:
    model = standing_l_model()
    view = MplView(model)
    feed(model, 0.0, 25.0)
    view.draw_live()
    assert view.ax_knee.get_ylabel() == f"{STANDING_L.angle_label} (deg)"
    assert view.force_missing.get_visible() and view.force_missing.get_text() == model.no_band_label()
    assert view.force_line.get_color() == NO_BAND_COLOUR  # the noise greyed, not drawn as band force
    assert view.ax_force.get_ylim()[1] - view.ax_force.get_ylim()[0] >= FORCE_FLOOR_N
    feed(model, 25.0, 1.0, force_n=8.0)
    view.draw_live()
    assert not view.force_missing.get_visible() and view.force_line.get_color() == FORCE_COLOUR
    view.draw_final()
    assert view.ax_knee.get_ylabel() == f"{STANDING_L.angle_label} (deg)" and not view.force_missing.get_visible()


def test_the_page_gets_the_angle_label_the_force_note_and_the_floors() -> None:
    model = standing_l_model()
    builder = FrameBuilder(model)
    feed(model, 0.0, 5.0)
    state = builder.next_frame()["state"]
    assert state["angle_label"] == f"{STANDING_L.angle_label} (deg)"
    assert state["force_note"] == "no band: force within 2 N of rest"
    assert state["floors"]["force"] == FORCE_FLOOR_N
    feed(model, 5.0, 1.0, force_n=8.0)
    assert builder.next_frame()["state"]["force_note"] == ""  # sent again only when it changes


def test_every_view_says_why_the_angle_has_no_estimate_yet() -> None:
    """A planted shank's direction takes three reps to learn: a blank panel says so, not just 'no estimate'."""
    model = standing_l_model()
    view, builder = MplView(model), FrameBuilder(model)
    model.add_samples(SampleBlock(t_s=np.arange(100) / RATE_HZ, force_n=np.zeros(100)))  # force, and no angle yet
    assert model.knee_kind() is None and "three reps" in model.no_angle_label()
    angle_row = next(line for line in dashboard(model).splitlines() if "angle" in line and "no estimate" in line)
    assert "no estimate yet: the sensor first learns which way the shank turns" in angle_row
    view.draw_live()
    assert view.knee_missing.get_visible() and "three reps" in view.knee_missing.get_text().replace("\n", " ")
    assert "three reps" in builder.next_frame()["state"]["angle_note"]
    curl = LiveModel()
    curl.start(RecordingMeta(exercise="reverse hamstring curl"))
    assert "which way the knee bends" in curl.no_angle_label() and "three reps" not in curl.no_angle_label()


def test_an_angle_gone_mid_set_is_said_to_come_from_the_sensor_moving() -> None:
    """After a rep, the angle goes blank only when the detector learns the knee axis afresh (a sensor moved
    to the other leg): the lead-in text ('the first three reps') would read wrong then."""
    model = standing_l_model()
    model.add_samples(SampleBlock(t_s=np.arange(100) / RATE_HZ, force_n=np.zeros(100)))
    model.add_events([RepCompleted(RepMetrics(
        rep=1, start_s=0.2, end_s=0.9, ecc_start_s=0.5, ecc_end_s=0.8, ecc_duration_s=0.3, tut_tension_s=None,
        peak_force_n=None, mean_ecc_force_n=None, ecc_impulse_ns=None, rom_deg=40.0, mean_ecc_velocity_dps=None,
        peak_ecc_velocity_dps=None, tempo="fast", stalls=0, flags="", estimated=False,
    ), detected_at_s=0.95)])
    assert model.rep_count == 1 and model.knee_kind() is None
    assert "force only" in model.no_angle_label()  # no knee estimate ever came: no motion sensor
    model.add_kinematics(Kinematics(np.arange(10) / RATE_HZ, np.full(10, np.nan), np.full(10, np.nan)))
    assert "the sensor moved on the leg" in model.no_angle_label() and "three reps" not in model.no_angle_label()


def test_the_knee_angle_is_said_to_settle_until_the_second_rep_starts_in_every_view() -> None:
    # the shank's direction in the sensor is learned from the first rep's flexion, and the angle can jump
    # by tens of degrees before it settles: the saved chart draws it lighter until the second rep starts
    # (bandlog.progress.plots), and the live views say so in the angle's label over the same stretch
    from live_simset import rep_events

    model = LiveModel()
    events = rep_events(3, period_s=6.0)  # reps start at 0.1, 6.1 and 12.1 s; the first row ends at 6 s
    settled = "knee flexion angle (deg)"
    labels = []
    for first in range(0, 1800, 50):
        t_s = np.arange(first, first + 50) / RATE_HZ
        model.add_samples(SampleBlock(t_s=t_s, force_n=np.zeros(50)))
        model.add_kinematics(Kinematics(t_s, np.where(t_s < 1.0, np.nan, 60.0), np.zeros(50)))
        model.add_events([e for e in events if t_s[0] <= e.detected_at_s < t_s[-1] + 1 / RATE_HZ])
        labels.append((float(t_s[-1]), model.angle_label("angle")))
    settling = [t for t, label in labels if label != settled]
    assert settling[0] == 1.49 and 6.1 < settling[-1] + 0.5 < 6.6  # from the angle's first block to the second rep's start
    assert all(label == "knee flexion angle (deg; settling)" for t, label in labels if t in settling)
    assert model.angle_label("angle") == settled and model.angle_label("rate") == "angular velocity (deg/s)"
    # every view shows it: the window's axis label, the dashboard's caption and the page's label
    again = LiveModel()
    again.add_samples(SampleBlock(t_s=np.arange(100) / RATE_HZ, force_n=np.zeros(100)))
    again.add_kinematics(Kinematics(np.arange(100) / RATE_HZ, np.full(100, 60.0), np.zeros(100)))
    view = MplView(again)
    view.draw_live()
    assert view.ax_knee.get_ylabel() == "knee flexion angle (deg; settling)"
    assert "(deg; settling)" in dashboard(again)
    assert FrameBuilder(again).next_frame()["state"]["angle_label"] == "knee flexion angle (deg; settling)"
    # the estimate going (the sensor moved on the leg) and coming back is learned afresh: settling again
    model.add_kinematics(Kinematics(np.array([18.0]), np.array([np.nan]), np.array([np.nan])))
    model.add_kinematics(Kinematics(np.array([18.01]), np.array([50.0]), np.array([0.0])))
    assert "settling" in model.angle_label("angle")
    # a planted shank's angle is its turn from the start: nothing is learned, nothing settles
    planted = standing_l_model()
    planted.add_kinematics(Kinematics(np.arange(10) / RATE_HZ, np.full(10, 5.0), np.zeros(10)))
    assert planted.angle_label("angle") == f"{STANDING_L.angle_label} (deg)"

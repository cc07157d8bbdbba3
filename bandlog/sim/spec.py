"""Every parameter of one simulated session, drawn from the ranges of science.md section 6.

A SessionSpec is plain data: random_spec(seed) draws it, keyword overrides pin any field (e.g.
n_sets=1, reps_per_set=8, rest_between_sets_s=20 for short tests), and simulate_session(spec) is a
pure function of it. Per-rep variation (durations, stalls, drops, distractor times) is drawn inside
the simulation from the spec's seed, so a spec stays small and fully reproducible.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.sim.band import BAND_COLOURS, band_length_m, elongation_pct
from bandlog.sim.planted import EXERCISES, PLANTED, REVERSE_CURL, draw_movement

MAX_ELONGATION_PCT = 250.0
MAX_FLEXION_DEG = 135.0
MIN_PRETENSION = 0.02
"""The band is never quite slack at its shortest (it would flap, and the force would be 0)."""
ANCHOR_AT_M = 0.10
"""Anchors within this height of the knee are 'at' the knee; lower ones 'below', higher 'above'."""
ANCHOR_CLASSES = ("below", "at", "above")
SESSION_KINDS = ("eccentric", "isometric")


@dataclass(frozen=True)
class SessionSpec:
    seed: int
    # session structure
    n_sets: int
    reps_per_set: int
    rest_between_sets_s: float
    lead_in_s: float
    """Still time before the first rep (sensor calibration; distractors may sit in its second part)."""
    tail_s: float
    # prescription and compliance
    target_ecc_s: float
    ecc_sd_frac: float
    p_fast: float
    """Share of non-compliant 1-2 s eccentrics."""
    p_very_slow: float
    """Share of 8-12 s eccentrics."""
    p_drop: float
    p_stall: float
    """Each rep has Binomial(max_stalls, p_stall) stalls."""
    max_stalls: int
    # movement
    flex_s: float
    """Typical passive-flexion time; each rep jitters +-15 % inside 0.8-2.0 s."""
    hold_s: float
    bottom_rest_s: float
    rom_deg: float
    ext_deg: float
    """Knee flexion at the end of the eccentric (not 0: seated, hip flexed)."""
    hold_drift_deg: float
    wobble_amp: float
    wobble_hz: float
    tremor_hz: float
    tremor_dps: float
    tremor_growth: float
    fatigue_ecc_frac: float
    fatigue_rom_frac: float
    # subject and geometry
    shank_m: float
    thigh_pitch_deg: float
    thigh_wobble_deg: float
    anchor_x_m: float
    anchor_y_m: float
    pretension_frac: float
    rest_length_m: float
    # band
    colour: str
    strands: int
    band_exponent: float
    band_gain: float
    hysteresis_frac: float
    hysteresis_switch_pct: float
    relax_tau_s: float
    relax_overshoot_frac: float
    mullins_frac: float
    # shank IMU
    imu_rotation: tuple[tuple[float, float, float], ...]
    """Sensor-from-shank rotation (3x3); the knee axis in the sensor frame is uniform on the sphere."""
    sensor_radius_m: float
    gyro_bias_dps: tuple[float, float, float]
    gyro_random_walk_dps_rts: float
    gyro_noise_dps_rthz: float
    gyro_scale_err: tuple[float, float, float]
    gyro_range_dps: float
    acc_noise_ug_rthz: float
    acc_offset_mg: tuple[float, float, float]
    imu_bandwidth_hz: float
    # load cell
    force_noise_n: float
    force_quant_n: float
    force_drift_n_per_min: float
    force_gain_err: float
    # BLE
    ble_loss_frac: float
    ble_bursts_per_min: float
    notify_interval_s: float
    # distractors
    fidget: bool
    reanchor: bool
    slack: bool
    fidgets_per_min: float

    # what users do that a tidy lab session would not (science.md 6.7)
    still_start: bool = True
    """False: the recording begins mid-rep and never holds still (a clip trimmed to the movement):
    one set, bottom rests of 0.2-0.4 s, top holds under 0.4 s."""
    cut_end: bool = False
    """True: the recording ends inside the last rep's eccentric."""
    session_kind: str = "eccentric"
    """'eccentric' (reverse curls) or 'isometric' (square pulls on a force gauge: the knee stays put)."""
    exercise: str = REVERSE_CURL
    """'reverse-curl' (seated), or a planted-foot exercise, 'runners-stretch' or 'standing-l': its
    movement ranges and shank geometry in bandlog.sim.planted, no band."""
    mountings: tuple[tuple[tuple[float, float, float], ...], ...] = ()
    """The sensor moved to the other leg (or strapped on again) in the rest before each set after
    the first: the sensor-from-shank rotation of sets 2, 3, ... (bandlog.sim.remount); empty: one
    mounting all session."""
    # a second IMU on the thigh (SimulatedSession.record(thigh=True)); the same sensor model as the
    # shank's (noise, random walk, range, bandwidth), with errors and a mounting of its own
    thigh_m: float = 0.43
    """Hip to knee; seated, the thigh turns about the hip."""
    thigh_imu_rotation: tuple[tuple[float, float, float], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    """Sensor-from-thigh rotation (3x3), uniform on SO(3) as imu_rotation (bandlog.sim.imu.thigh_imu)."""
    thigh_sensor_radius_m: float = 0.15
    """The thigh sensor's distance from the knee towards the hip."""
    thigh_gyro_bias_dps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    thigh_gyro_scale_err: tuple[float, float, float] = (0.0, 0.0, 0.0)
    thigh_acc_offset_mg: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def anchor_class(self) -> str:
        """'below', 'at' or 'above' the knee: anchor height beyond +-0.10 m of the knee."""
        if self.anchor_y_m < -ANCHOR_AT_M:
            return "below"
        return "above" if self.anchor_y_m > ANCHOR_AT_M else "at"

    @property
    def knee_axis_sensor(self) -> np.ndarray:
        """Unit vector (sensor frame) about which knee flexion turns the sensor positively."""
        return np.asarray(self.imu_rotation) @ np.array([0.0, 0.0, -1.0])


def _uniform_rotation(rng: np.random.Generator) -> tuple[tuple[float, float, float], ...]:
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    m = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    return tuple(_vec3(row) for row in m)


def _vec3(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _gyro_bias_dps(rng: np.random.Generator) -> tuple[float, float, float]:
    """A gyro bias in a uniform direction, 0.5-3 deg/s (3-10 deg/s for one sensor in ten)."""
    bias_dir = rng.normal(size=3)
    bias_mag = rng.uniform(3.0, 10.0) if rng.random() < 0.1 else rng.uniform(0.5, 3.0)
    return _vec3(bias_mag * bias_dir / np.linalg.norm(bias_dir))


def _draw(rng: np.random.Generator) -> dict[str, Any]:
    u = rng.uniform
    gyro_bias_dps = _gyro_bias_dps(rng)
    return {
        "n_sets": int(rng.integers(1, 4)),
        "reps_per_set": int(rng.integers(5, 13)),
        "rest_between_sets_s": u(60.0, 180.0),
        "lead_in_s": u(4.0, 10.0),
        "tail_s": u(3.0, 8.0),
        "target_ecc_s": u(3.0, 6.0),
        "ecc_sd_frac": 0.15,
        "p_fast": u(0.0, 0.2),
        "p_very_slow": u(0.0, 0.05),
        "p_drop": u(0.0, 0.1),
        "p_stall": u(0.0, 0.4),
        "max_stalls": 2,
        "flex_s": u(0.8, 2.0),
        "hold_s": u(0.0, 2.0),
        "bottom_rest_s": u(0.5, 3.0),
        "rom_deg": u(80.0, 115.0),
        "ext_deg": u(5.0, 20.0),
        "hold_drift_deg": u(-0.5, 2.0),
        "wobble_amp": u(0.1, 0.3),
        "wobble_hz": u(0.5, 1.5),
        "tremor_hz": u(4.0, 8.0),
        "tremor_dps": u(0.5, 3.0),
        "tremor_growth": u(0.2, 0.5),
        "fatigue_ecc_frac": u(0.0, 0.3),
        "fatigue_rom_frac": u(0.0, 0.15),
        "shank_m": u(0.36, 0.46),
        "thigh_pitch_deg": u(0.0, 15.0),
        "thigh_wobble_deg": u(1.0, 3.0),
        # drawn and then replaced by _draw_wide, so every later draw of this stream stays as it was
        "anchor_x_m": u(0.6, 1.3),
        "anchor_y_m": u(-0.15, 0.2),
        "pretension_frac": u(0.0, 0.2),
        "colour": str(rng.choice(BAND_COLOURS)),
        "strands": int(rng.integers(1, 3)),
        "band_exponent": u(0.48, 0.60),
        "band_gain": float(np.clip(rng.normal(0.9, 0.08), 0.7, 1.1)),
        "hysteresis_frac": u(0.03, 0.10),
        "hysteresis_switch_pct": u(3.0, 8.0),
        "relax_tau_s": u(1.0, 5.0),
        "relax_overshoot_frac": u(0.02, 0.06),
        "mullins_frac": u(0.0, 0.08),
        "imu_rotation": _uniform_rotation(rng),
        "sensor_radius_m": u(0.15, 0.40),
        "gyro_bias_dps": gyro_bias_dps,
        "gyro_random_walk_dps_rts": float(10 ** u(-4.0, -2.0)),
        "gyro_noise_dps_rthz": u(0.004, 0.014),
        "gyro_scale_err": _vec3(rng.uniform(-0.03, 0.03, size=3)),
        "gyro_range_dps": float(rng.choice([500.0, 2000.0])),
        "acc_noise_ug_rthz": u(75.0, 160.0),
        "acc_offset_mg": _vec3(rng.uniform(-60.0, 60.0, size=3)),
        "imu_bandwidth_hz": u(20.0, 100.0),
        "force_noise_n": u(0.05, 0.5),
        "force_quant_n": u(0.01, 0.1),
        "force_drift_n_per_min": u(0.1, 1.0) * float(rng.choice([-1.0, 1.0])),
        "force_gain_err": u(-0.03, 0.03),
        "ble_loss_frac": u(0.0, 0.02),
        "ble_bursts_per_min": u(0.0, 1.0),
        "notify_interval_s": u(0.0125, 0.05),
        "fidget": True,
        "reanchor": True,
        "slack": bool(rng.random() < 0.5),
        "fidgets_per_min": u(1.0, 4.0),
    }


def _draw_wide(rng: np.random.Generator, anchor_class: str | None = None) -> dict[str, Any]:
    """The parts of the wider model (science.md 6.2, 6.4) on their own random stream, so they do
    not move the other draws: anchor class (a third each: below, at, above the knee), anchor
    distance, sensor from mid-shank to the ankle cuff, steeper fatigue in a quarter of the sets."""
    u = rng.uniform
    anchor_class = anchor_class or str(rng.choice(ANCHOR_CLASSES))
    heights = {"below": (-0.55, -ANCHOR_AT_M), "at": (-ANCHOR_AT_M, ANCHOR_AT_M), "above": (ANCHOR_AT_M, 0.25)}
    steep = rng.random() < 0.25
    return {
        "anchor_class_drawn": anchor_class,
        "anchor_x_m": u(0.5, 1.5),
        "anchor_y_m": u(*heights[anchor_class]),
        "sensor_radius_m": u(0.15, 0.45),
        "fatigue_rom_frac": u(0.15, 0.4) if steep else u(0.0, 0.15),
    }


def _draw_thigh(seed: int) -> dict[str, Any]:
    """The thigh IMU on its own random stream, so that no other draw of the seed moves: thigh length,
    the sensor 10-25 cm from the knee at a uniform mounting, its errors from the shank sensor's ranges."""
    rng = np.random.default_rng([seed, 11])
    return {
        "thigh_m": rng.uniform(0.38, 0.48),
        "thigh_imu_rotation": _uniform_rotation(rng),
        "thigh_sensor_radius_m": rng.uniform(0.10, 0.25),
        "thigh_gyro_bias_dps": _gyro_bias_dps(rng),
        "thigh_gyro_scale_err": _vec3(rng.uniform(-0.03, 0.03, size=3)),
        "thigh_acc_offset_mg": _vec3(rng.uniform(-60.0, 60.0, size=3)),
    }


def random_scenario(seed: int) -> dict[str, Any]:
    """How a recording of seed's session goes wrong the way real ones do (science.md 6.7), as
    random_spec overrides: a third start mid-rep and never hold still, a quarter end inside the last
    eccentric, a fifth are square isometric pulls. random_spec alone keeps the tidy recording (the
    emulated sensors and the demo stream a whole session); bench/accuracy.py draws both."""
    rng = np.random.default_rng([seed, 8])
    return {
        "still_start": bool(rng.random() >= 1 / 3),
        "cut_end": bool(rng.random() < 0.25),
        "session_kind": "isometric" if rng.random() < 0.2 else "eccentric",
    }


def _angle_range(p: dict[str, Any]) -> tuple[float, float]:
    """Knee angles the session can visit (with margins for per-rep jitter and tremor)."""
    lo = max(0.0, p["ext_deg"] - 4.0)
    hi = min(MAX_FLEXION_DEG, p["ext_deg"] + p["rom_deg"] + 8.0)
    return lo, hi


def geometry_problem(p: dict[str, Any]) -> str | None:
    """Why a geometry is unusable (band taut over the whole movement, e <= 250 %), or None. An
    anchor below the knee makes the band shortest mid-range (science.md 1.4): that is allowed."""
    lo, hi = _angle_range(p)
    theta = np.linspace(lo, hi, 200)
    length = band_length_m(theta, p["shank_m"], p["anchor_x_m"], p["anchor_y_m"])
    if float(length.min()) <= p["rest_length_m"]:
        return "the band goes slack somewhere in the movement"
    if np.all(np.diff(length) <= 0):
        return "the band shortens as the knee flexes (anchor behind the knee)"
    if not 0.3 <= p["rest_length_m"] <= 1.0:
        return f"band rest length {p['rest_length_m']:.2f} m is outside 0.3-1.0 m"
    e = elongation_pct(theta, p["shank_m"], p["anchor_x_m"], p["anchor_y_m"], p["rest_length_m"])
    if e[-1] > MAX_ELONGATION_PCT:
        return f"band elongation reaches {e[-1]:.0f} % (> {MAX_ELONGATION_PCT:.0f} %)"
    return None


def _rest_length(p: dict[str, Any]) -> float:
    """Rest length giving the drawn pre-tension where the band is shortest in the movement."""
    lo, hi = _angle_range(p)
    shortest = float(band_length_m(np.linspace(lo, hi, 200), p["shank_m"], p["anchor_x_m"], p["anchor_y_m"]).min())
    return shortest / (1.0 + max(p["pretension_frac"], MIN_PRETENSION))


def random_spec(seed: int, **overrides: Any) -> SessionSpec:
    """Draw a session from science.md 6; overrides pin fields (unknown names raise ConfigError).

    The geometry (anchor, shank, pre-tension) is redrawn until the band stays taut, its length rises
    monotonically with flexion and elongation stays <= 250 %, unless the caller pinned it.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"the simulation seed must be a non-negative integer, not {seed!r}")
    names = {f.name for f in dataclasses.fields(SessionSpec)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"unknown simulation parameter(s): {', '.join(unknown)}")
    rng = np.random.default_rng([seed, 0])
    params = _draw(rng)
    wide = np.random.default_rng([seed, 4])
    params.update(_draw_wide(wide))
    params.update(_draw_thigh(int(seed)))
    planted = overrides.get("exercise") in PLANTED
    if planted:  # the standing exercises' own ranges, then whatever the caller pinned
        params.update(draw_movement(int(seed), overrides["exercise"]))
    params.update(overrides)
    params["seed"] = int(seed)
    geometry_keys = ("anchor_x_m", "anchor_y_m", "shank_m", "pretension_frac")
    for _ in range(200):
        if "rest_length_m" not in overrides:
            params["rest_length_m"] = _rest_length(params)
        problem = None if planted else geometry_problem(params)  # no band with the foot planted
        if problem is None:
            break
        free = [k for k in geometry_keys if k not in overrides]
        if not free or "rest_length_m" in overrides:
            raise ConfigError(f"simulation geometry is unusable: {problem}")
        redraw = {**_draw(rng), **_draw_wide(wide, params["anchor_class_drawn"])}
        for key in free:
            params[key] = redraw[key]
    else:
        raise ConfigError(f"could not draw a usable band geometry for seed {seed}")
    params.pop("anchor_class_drawn", None)
    if not params.get("still_start", True) and "n_sets" not in overrides:
        params["n_sets"] = 1  # a clip trimmed to the movement holds one set
    spec = SessionSpec(**params)
    validate_spec(spec)
    return spec


def validate_spec(spec: SessionSpec) -> None:
    """Reject specs the model cannot simulate, with one sentence saying which field is wrong."""
    checks = [
        (spec.n_sets >= 1, "n_sets must be at least 1"),
        (spec.reps_per_set >= 1, "reps_per_set must be at least 1"),
        (spec.rest_between_sets_s >= 5.0, "rest_between_sets_s must be at least 5 s"),
        (spec.lead_in_s >= 1.0, "lead_in_s must be at least 1 s"),
        (spec.tail_s >= 0.5, "tail_s must be at least 0.5 s"),
        (1.0 <= spec.target_ecc_s <= 15.0, "target_ecc_s must be within 1-15 s"),
        (0.0 <= spec.p_fast + spec.p_very_slow <= 1.0, "p_fast + p_very_slow must be within 0-1"),
        (0.0 <= spec.p_drop <= 1.0 and 0.0 <= spec.p_stall <= 1.0, "p_drop and p_stall must be within 0-1"),
        (spec.colour in BAND_COLOURS, f"colour must be one of {', '.join(BAND_COLOURS)}"),
        (spec.strands in (1, 2), "strands must be 1 or 2"),
        (spec.rom_deg >= 10.0 and spec.ext_deg + spec.rom_deg <= MAX_FLEXION_DEG, "rom_deg/ext_deg out of range"),
        (spec.relax_tau_s > 0 and spec.hysteresis_switch_pct > 0, "relax_tau_s and hysteresis_switch_pct must be > 0"),
        (0.0 <= spec.ble_loss_frac < 0.5, "ble_loss_frac must be within 0-0.5"),
        (spec.notify_interval_s > 0, "notify_interval_s must be > 0"),
        (math.isclose(float(np.linalg.det(np.asarray(spec.imu_rotation))), 1.0, abs_tol=1e-6), "imu_rotation must be a rotation"),
        (spec.session_kind in SESSION_KINDS, f"session_kind must be one of {', '.join(SESSION_KINDS)}"),
        (spec.exercise in EXERCISES, f"exercise must be one of {', '.join(EXERCISES)}"),
        (not spec.mountings or len(spec.mountings) == spec.n_sets - 1, "mountings must give one rotation per set after the first"),
        (all(math.isclose(float(np.linalg.det(np.asarray(m))), 1.0, abs_tol=1e-6) for m in spec.mountings),
         "each of mountings must be a rotation"),
        (math.isclose(float(np.linalg.det(np.asarray(spec.thigh_imu_rotation))), 1.0, abs_tol=1e-6),
         "thigh_imu_rotation must be a rotation"),
        (0.0 <= spec.thigh_sensor_radius_m <= spec.thigh_m, "thigh_sensor_radius_m must be within 0-thigh_m"),
        (spec.exercise == REVERSE_CURL or spec.session_kind == "eccentric", "isometric pulls are reverse-curl sessions"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"invalid simulation spec: {message}")

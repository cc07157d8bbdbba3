"""A whole simulated session: noise-free truth on a 1 kHz grid, sensor readings at any instant.

simulate_session(spec) lays out the reps, computes the knee angle, band tension and labels once;
SimulatedSession.sample(t) then interpolates the grid and adds the (hashed, hence repeatable) sensor
noise, which keeps it cheap for the few-sample calls of an emulated sensor. It implements
bandlog.core.motion.MotionSource.

A second IMU on the thigh (sample/record with thigh=True) reads on the same instants. Fidgets and
the handling between sets (SessionSpec.mountings) move the shank sensor only: the thigh sensor stays
strapped on as it was and feels the leg's movement alone.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cached_property

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.results import MODES
from bandlog.core.samples import SampleBlock
from bandlog.sim.band import band_tension_n, elongation_pct
from bandlog.sim.distractors import apply_force_distractors, fidget_rotation, place_distractors, trapezoid
from bandlog.sim.imu import imu_readings, sensor_from_world, shank_imu, thigh_imu
from bandlog.sim.kinematics import GRID_HZ, Trajectory, build_trajectory
from bandlog.sim.labels import rep_truths, set_truths
from bandlog.sim.plan import plan_session
from bandlog.sim.planted import PLANTED, RUNNERS_STRETCH, planted_geometry, shank_alpha_deg
from bandlog.sim.pulls import build_pulls
from bandlog.sim.remount import handled_imu, handling_windows, mounting_changes
from bandlog.sim.sensors import ble_delivery, load_cell_n, sample_times
from bandlog.sim.spec import SessionSpec, validate_spec
from bandlog.sim.standing import build_eccentric_first
from bandlog.sim.truth import Distractor, TruthRep, TruthSet

DISTRACTOR_WINDOW_MARGIN_S = 2.5
BIAS_WALK_HZ = 1.0


class SimulatedSession:
    """Truth and measurements of one simulated session (see module docstring)."""

    def __init__(
        self,
        spec: SessionSpec,
        trajectory: Trajectory,
        force_n: np.ndarray,
        distractors: tuple[Distractor, ...],
        truth_reps: tuple[TruthRep, ...] | None = None,
    ) -> None:
        self.spec = spec
        self._duration_s = trajectory.duration_s
        self.distractors = distractors
        dt = 1.0 / GRID_HZ
        theta_rate = np.gradient(trajectory.theta_deg, dt)
        self._theta_deg = trajectory.theta_deg
        self._theta_rate_dps = theta_rate
        self._lever_m: float | None = None
        """The sensor's lever arm about the point the shank turns about (None: the knee, seated)."""
        if spec.exercise in PLANTED:  # the shank pivots about the ankle and turns by part of the knee angle
            self._alpha_deg = shank_alpha_deg(planted_geometry(spec.seed, spec.exercise), trajectory.theta_deg, trajectory.t_s)
            self._alpha_rate_dps = np.gradient(self._alpha_deg, dt)
            self._lever_m = spec.sensor_radius_m - spec.shank_m
        else:
            thigh_rate = np.gradient(trajectory.thigh_deg, dt)
            self._alpha_deg = trajectory.theta_deg - spec.thigh_pitch_deg + trajectory.thigh_deg
            self._alpha_rate_dps = theta_rate + thigh_rate
        self._alpha_acc_dps2 = np.gradient(self._alpha_rate_dps, dt)
        self._force_n = force_n
        self.handling_s: list[tuple[float, float]] = _handling(spec, trajectory)
        """(start, end) of each time the sensor was off the leg, in the hands (SessionSpec.mountings)."""
        moved = mounting_changes(spec.imu_rotation, spec.mountings)
        self._worn = [spec, *(replace(spec, imu_rotation=m) for m, change in zip(spec.mountings, moved) if change)]
        """The spec with the sensor as strapped on at the start and after each handling."""
        self._bias_walk_dps = _bias_walk_dps(spec, self._duration_s, 3)
        self._thigh_bias_walk_dps = _bias_walk_dps(spec, self._duration_s, 12)
        reps = truth_reps if truth_reps is not None else rep_truths(spec, trajectory, theta_rate, force_n)
        self.record_window_s = record_window(spec, reps, self._duration_s)
        """(first, last) device time a recording holds: the whole session unless the spec starts
        it mid-rep (still_start False) or cuts it inside the last eccentric (cut_end)."""
        start_s, end_s = self.record_window_s
        self.truth_reps: tuple[TruthRep, ...] = tuple(
            replace(r, truncated=True) if r.start_s < start_s or _last_labelled_s(r) > end_s else r for r in reps
        )
        self.truth_sets: tuple[TruthSet, ...] = set_truths(trajectory, self.truth_reps, force_n, self.record_window_s)

    @property
    def duration_s(self) -> float:
        return self._duration_s

    def _grid(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lower grid index, weight of the upper one, nearest grid index) for clamped times."""
        pos = np.clip(np.asarray(t_s, dtype=np.float64) * GRID_HZ, 0.0, self._theta_deg.size - 1.0)
        lower = np.minimum(pos.astype(np.int64), self._theta_deg.size - 2)
        return lower, pos - lower, np.rint(np.asarray(t_s, dtype=np.float64) * GRID_HZ).astype(np.int64)

    @staticmethod
    def _at(values: np.ndarray, lower: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return values[lower] * (1.0 - weight) + values[lower + 1] * weight

    def knee_angle_deg(self, t_s: np.ndarray) -> np.ndarray:
        """Noise-free knee flexion (deg; 0 = straight)."""
        lower, weight, _ = self._grid(t_s)
        return self._at(self._theta_deg, lower, weight)

    def knee_rate_dps(self, t_s: np.ndarray) -> np.ndarray:
        """Noise-free knee flexion rate (deg/s; negative while extending, i.e. eccentric)."""
        lower, weight, _ = self._grid(t_s)
        return self._at(self._theta_rate_dps, lower, weight)

    def thigh_turn_deg(self, t_s: np.ndarray) -> np.ndarray:
        """Noise-free turn of the thigh about +z (deg): its lean forward from upright, the knee ahead of
        the hip (planted: bandlog.sim.planted's phi_t; seated: 90 + thigh_pitch_deg less the push-in
        wobble). Knee flexion = shank lean + this, so a sway, which turns the two alike, leaves it."""
        lower, weight, _ = self._grid(t_s)
        return self._at(self._thigh_grid[0], lower, weight)

    @cached_property
    def _thigh_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(thigh turn beta deg, its rate deg/s, (n,2) world acceleration of the thigh sensor's point)
        on the grid, made on first use. beta = 90 + knee - alpha (knee = shank lean alpha - 90 + beta).
        Planted: P = K + r_t u, the knee K shank_m up the leaning shank from the ankle, u = (-sin beta,
        cos beta) from the knee to the hip. Seated: the thigh turns about the hip, P = (r_t - thigh_m) u
        from it (the shank's model keeps the knee still instead: the wobble moves it 1-2 cm)."""
        dt = 1.0 / GRID_HZ
        beta = 90.0 + self._theta_deg - self._alpha_deg
        b = np.deg2rad(beta)
        to_hip = np.stack([-np.sin(b), np.cos(b)], axis=1)
        if self.spec.exercise in PLANTED:
            lean = np.deg2rad(self._alpha_deg - 90.0)
            knee = self.spec.shank_m * np.stack([np.sin(lean), np.cos(lean)], axis=1)
            point = knee + self.spec.thigh_sensor_radius_m * to_hip
        else:
            point = (self.spec.thigh_sensor_radius_m - self.spec.thigh_m) * to_hip
        point_acc = np.gradient(np.gradient(point, dt, axis=0), dt, axis=0)
        return beta, np.gradient(beta, dt), point_acc

    def true_force_n(self, t_s: np.ndarray) -> np.ndarray:
        """Noise-free band tension (N), distractors included."""
        lower, weight, _ = self._grid(t_s)
        return self._at(self._force_n, lower, weight)

    def _measure(self, t_s: np.ndarray, want_force: bool, want_imu: bool, want_thigh: bool = False) -> SampleBlock:
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        lower, weight, nearest = self._grid(t)
        force = None
        acc = gyro = thigh_acc = thigh_gyro = None
        if want_force:
            force = load_cell_n(self.spec, t, nearest, self._at(self._force_n, lower, weight))
        if want_thigh:
            beta, beta_rate, point_acc = self._thigh_grid
            thigh_acc, thigh_gyro = thigh_imu(self.spec, nearest, self._at(beta, lower, weight), self._at(beta_rate, lower, weight),
                                              self._at(point_acc, lower, weight[:, None]), _walk_at(self._thigh_bias_walk_dps, t))
        if want_imu:
            walk = _walk_at(self._bias_walk_dps, t)
            extra_rate, extra_angle = fidget_rotation(t, self.distractors)
            alpha = self._at(self._alpha_deg, lower, weight)
            inputs = (nearest, alpha, self._at(self._alpha_rate_dps, lower, weight), self._at(self._alpha_acc_dps2, lower, weight),
                      walk, extra_rate, extra_angle)
            if not self.handling_s:
                acc, gyro = self._shank_imu(self.spec, inputs, slice(None))
            else:
                acc, gyro = self._remounted(t, inputs)
        return SampleBlock(t_s=t, force_n=force, acc_ms2=acc, gyro_dps=gyro, thigh_acc_ms2=thigh_acc, thigh_gyro_dps=thigh_gyro)

    def _shank_imu(self, spec: SessionSpec, inputs: tuple[np.ndarray, ...], rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        """shank_imu over the chosen rows of the per-sample inputs _measure gathered."""
        nearest, alpha, rate, acc, walk, extra_rate, extra_angle = (a[rows] for a in inputs)
        return shank_imu(spec, nearest, alpha, rate, acc, walk, extra_rate, extra_angle, self._lever_m)

    def _remounted(self, t: np.ndarray, inputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(acc, gyro) of a sensor moved between sets: each sample read with the mounting worn then,
        and while the sensor was in the hands, with the handling's motion."""
        acc, gyro = np.empty((t.size, 3)), np.empty((t.size, 3))
        mounting = np.searchsorted([end for _, end in self.handling_s], t, side="right")
        for index, spec in enumerate(self._worn):
            rows = mounting == index
            if rows.any():
                acc[rows], gyro[rows] = self._shank_imu(spec, inputs, rows)
        for index, window in enumerate(self.handling_s):
            rows = (t >= window[0]) & (t < window[1])
            if not rows.any():
                continue
            poses = (sensor_from_world(self._worn[index], float(self._alpha_at_deg(window[0]))),
                     sensor_from_world(self._worn[index + 1], float(self._alpha_at_deg(window[1]))))
            true_acc, omega = handled_imu(self.spec.seed, t[rows], window, poses)
            acc[rows], gyro[rows] = imu_readings(self.spec, inputs[0][rows], true_acc, omega, inputs[4][rows])
        return acc, gyro

    def _alpha_at_deg(self, t_s: float) -> float:
        """The shank's angle below the forward horizontal at one instant (the sensor's pose on the leg)."""
        lower, weight, _ = self._grid(np.array([t_s]))
        return float(self._at(self._alpha_deg, lower, weight)[0])

    def sample(self, t_s: np.ndarray, thigh: bool = False) -> SampleBlock:
        """Measured force, acceleration and rotation rate at device times t_s (deterministic); with
        thigh, the thigh IMU's readings at the same times too."""
        return self._measure(t_s, True, True, thigh)

    def record(self, rate_hz: float = 100.0, channels: str = "force+imu", ble_loss: bool = True, thigh: bool = False) -> SampleBlock:
        """Everything a sensor sampling at rate_hz would deliver over the session.

        Samples lost over BLE are missing (ble_loss=True); t_s keeps the nominal device time and
        t_host_s is the arrival time. Channels not in `channels` are None. thigh: the block also
        carries the thigh IMU's readings, taken at the shank sensor's instants and lost with its
        samples (as if the two were one device; two real sensors have clocks and losses of their own).
        """
        if channels not in MODES:
            raise ConfigError(f"channels must be one of {', '.join(MODES)}, not {channels!r}")
        if not 1.0 <= rate_hz <= GRID_HZ:
            raise ConfigError(f"rate_hz must be within 1-{GRID_HZ:.0f} Hz (the model's grid), not {rate_hz}")
        nominal, actual = sample_times(self.spec, self._duration_s, rate_hz)
        block = self._measure(actual, channels != "imu", channels != "force", thigh)
        kept, arrival = ble_delivery(self.spec, nominal, rate_hz)
        if not ble_loss:
            kept = np.ones_like(kept)
        start_s, end_s = self.record_window_s
        kept = kept & (nominal >= start_s) & (nominal <= end_s)

        def keep(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[kept]

        return SampleBlock(
            t_s=nominal[kept],
            force_n=keep(block.force_n),
            acc_ms2=keep(block.acc_ms2),
            gyro_dps=keep(block.gyro_dps),
            t_host_s=arrival[kept],
            thigh_acc_ms2=keep(block.thigh_acc_ms2),
            thigh_gyro_dps=keep(block.thigh_gyro_dps),
        )


def _bias_walk_dps(spec: SessionSpec, duration_s: float, stream: int) -> np.ndarray:
    """A gyro's bias random walk at BIAS_WALK_HZ, (n, 3) deg/s, from the seed's random stream `stream`."""
    rng = np.random.default_rng([spec.seed, stream])
    n_walk = int(math.ceil(duration_s * BIAS_WALK_HZ)) + 2
    steps = rng.normal(0.0, spec.gyro_random_walk_dps_rts / math.sqrt(BIAS_WALK_HZ), size=(n_walk, 3))
    steps[0] = 0.0
    return np.cumsum(steps, axis=0)


def _walk_at(walk_dps: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """A bias random walk at times t_s (linear between its steps), (n, 3)."""
    pos = np.clip(t_s * BIAS_WALK_HZ, 0.0, walk_dps.shape[0] - 1.0)
    return np.stack([np.interp(pos, np.arange(walk_dps.shape[0]), walk_dps[:, k]) for k in range(3)], axis=1)


def _still_windows(spec: SessionSpec, trajectory: Trajectory) -> list[tuple[float, float]]:
    """Stretches outside every set (with margins) where distractors may happen."""
    m = DISTRACTOR_WINDOW_MARGIN_S
    edges = [0.0, *[x for bounds in trajectory.set_bounds for x in bounds], trajectory.duration_s]
    windows = []
    for i in range(0, len(edges), 2):
        a, b = edges[i], edges[i + 1]
        a = a + (m if i > 0 else 2.5)
        b = b - (m if i + 1 < len(edges) - 1 else 0.5)
        if b > a:
            windows.append((a, b))
    return windows


def _last_labelled_s(rep: TruthRep) -> float:
    """A rep is whole if the recording holds its eccentric to the 1-degree offset (a pull: to the
    end of its release)."""
    return rep.ecc_move_end_s if rep.kind == "isometric" else rep.offset_s


def record_window(spec: SessionSpec, reps: tuple[TruthRep, ...], duration_s: float) -> tuple[float, float]:
    """Where a recording of the session begins and ends. still_start False: inside the first rep,
    between its top and 60 % of its eccentric; cut_end: at 20-80 % of the last rep's eccentric."""
    rng = np.random.default_rng([spec.seed, 6])
    start_s, end_s = 0.0, duration_s
    if reps and not spec.still_start:
        first = reps[0]
        start_s = float(rng.uniform(first.top_s, first.onset_s + 0.6 * max(first.ecc_duration_s, first.end_s - first.onset_s)))
    if reps and spec.cut_end:
        last = reps[-1]
        span_s = max(last.offset_s - last.onset_s, last.ecc_move_end_s - last.onset_s)
        end_s = float(last.onset_s + rng.uniform(0.2, 0.8) * span_s)
    return start_s, max(end_s, start_s)


def _handling(spec: SessionSpec, trajectory: Trajectory) -> list[tuple[float, float]]:
    """When the sensor was off the leg, in the hands (the rests where SessionSpec.mountings changes)."""
    if not spec.mountings:
        return []
    return handling_windows(spec.seed, trajectory.set_bounds, mounting_changes(spec.imu_rotation, spec.mountings))


def simulate_session(spec: SessionSpec) -> SimulatedSession:
    """Build the session a spec describes; the same spec always gives identical arrays."""
    validate_spec(spec)
    if spec.session_kind == "isometric":
        trajectory, force, pulls = build_pulls(spec)
        return SimulatedSession(spec, trajectory, force, (), pulls)
    if spec.exercise in PLANTED:  # no band: the load cell reads its zero; fidgets still happen
        plans = plan_session(spec)
        trajectory = build_eccentric_first(spec, plans) if spec.exercise == RUNNERS_STRETCH else build_trajectory(spec, plans)
        placed = place_distractors(spec, _still_windows(spec, trajectory), np.random.default_rng([spec.seed, 2]))
        return SimulatedSession(spec, trajectory, np.zeros(trajectory.theta_deg.size), tuple(d for d in placed if d.kind == "fidget"))
    trajectory = build_trajectory(spec, plan_session(spec))
    distractors = place_distractors(spec, _still_windows(spec, trajectory), np.random.default_rng([spec.seed, 2]))
    t = trajectory.t_s
    geometry = (spec.shank_m, spec.anchor_x_m, spec.anchor_y_m, spec.rest_length_m)
    e = elongation_pct(trajectory.theta_deg, *geometry)
    e_base = elongation_pct(trajectory.theta_base_deg, *geometry)
    force = band_tension_n(
        e,
        e_base,
        1.0 / GRID_HZ,
        colour=spec.colour,
        strands=spec.strands,
        exponent=spec.band_exponent,
        gain=spec.band_gain,
        hysteresis_frac=spec.hysteresis_frac,
        hysteresis_switch_pct=spec.hysteresis_switch_pct,
        relax_tau_s=spec.relax_tau_s,
        relax_overshoot_frac=spec.relax_overshoot_frac,
    )
    if trajectory.reps and spec.mullins_frac > 0:
        first = trajectory.reps[0]
        force *= 1.0 + spec.mullins_frac * trapezoid(t, first.start_s - 0.3, 0.3, first.end_s - first.start_s, 0.3)
    force = apply_force_distractors(t, force, distractors)
    for begin, end in _handling(spec, trajectory):  # the band moves to the other ankle too: slack meanwhile
        ramp_s = min(1.0, (end - begin) / 3.0)
        force *= 1.0 - trapezoid(t, begin, ramp_s, end - begin - 2.0 * ramp_s, ramp_s)
    return SimulatedSession(spec, trajectory, force, distractors)

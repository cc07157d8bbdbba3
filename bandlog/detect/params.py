"""Every tunable number of the eccentric detector in one frozen dataclass (science.md 5.2-5.5).

Defaults come from the recommended spec and were then tuned against bench/accuracy.py; a caller
changes one with `dataclasses.replace(DetectorParams(), ...)`; an exercise's own gates are in
bandlog.detect.exercises. Rates are knee rates in deg/s with
flexion positive; force rates are fractions of the working range R per second.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from bandlog.core.errors import ConfigError


@dataclass(frozen=True)
class DetectorParams:
    # --- pre-processing -------------------------------------------------------------------------
    gyro_lp_hz: float = 5.0
    """Phase logic low-pass on the gyro (2nd-order Butterworth, causal)."""
    still_lp_hz: float = 1.0
    """Low-pass used only by the still (ZUPT) test; low enough to ignore action tremor."""
    force_lp_hz: float = 4.0
    force_rate_lp_hz: float = 1.5
    """dF/dt is taken from a slower low-pass: load-cell noise differentiated at 4 Hz swamps the
    few N/s of a slow eccentric near the top."""
    still_window_s: float = 0.5
    still_gyro_range_dps: float = 2.5
    """Still when the slow gyro varies less than this over the window ..."""
    still_tilt_deg: float = 0.25
    """... and gravity turns less than this over the window (catches slow drift the gyro can't)."""
    still_bias_gate_dps: float = 4.0
    """Once a bias is known, a still window must also sit within this of it."""
    bias_tau_s: float = 4.0
    bias_less_gravity_turn: bool = True
    """Still windows read the gyro bias less the turn the accelerometer's gravity shows over them
    (frontend.Frame.gyro_bias_reading_dps): a seated top hold creeps 1-3 deg/s and passes the still
    test, and a clip that began mid-rep took that creep for bias (0.2-0.45 s off at both ends of
    every eccentric). bench/accuracy.py, reverse curl IMU, seeds 0-239 / 240-479: onset |error|
    P95 69 -> 42 / 78 -> 43 ms, 'no still start' offset P95 145 -> 118 / 195 -> 123 ms."""
    motion_dps: float = 20.0
    """Bias-corrected gyro magnitude above which a sample feeds the knee-axis PCA."""
    sign_excursion_deg: float = 40.0
    """The knee-axis sign is fixed during the first excursion this large from rest."""
    tilt_tau_s: float = 1.0
    """Complementary filter: the accelerometer corrects the gyro-tracked gravity with this time constant."""
    thigh_pitch_deg: float = 0.0
    """Thigh slope (deg, knee end down) added to the shank inclination to give knee flexion; a shank
    sensor cannot see it, so 0 assumes a horizontal thigh. May be zero or negative."""
    max_fill_s: float = 3.0
    """Longer gaps are not interpolated: the machine resets instead."""

    # --- IMU state machine (science.md 5.3) -----------------------------------------------------
    flexion_enter_dps: float = 15.0
    flexion_min_deg: float = 10.0
    """A flexion counts as a rep start only once the knee has moved this far from rest."""
    debounce_flexion_s: float = 0.1
    top_rate_dps: float = 5.0
    debounce_top_s: float = 0.1
    ecc_enter_dps: float = -5.0
    debounce_ecc_enter_s: float = 0.15
    ecc_exit_dps: float = -2.0
    ecc_exit_fraction: float = 0.3
    """Near the bottom the eccentric ends once |rate| < this fraction of its mean rate (the rate
    a minimum-jerk profile has 1 deg before its end), so the live cue comes early."""
    end_zone_fraction: float = 0.25
    """'Near the bottom' = within this fraction of the rep's ROM above the rep's start angle."""
    debounce_exit_s: float = 0.05
    debounce_stall_s: float = 0.2
    """A pause counts as a stall when the knee all but stops for at least this long."""
    stall_rate_fraction: float = 0.2
    stall_floor_dps: float = 2.0
    """'All but stops' = slower than max(stall_floor_dps, stall_rate_fraction x the mean eccentric rate)."""
    stall_edge_fraction: float = 0.1
    """Stalls are looked for only between 10 % and 90 % of the range: eccentrics start and end slowly."""
    stall_max_s: float = 1.3
    settle_s: float = 1.1
    """The knee must stay put this long before a rep's numbers are final (a stall near the bottom
    can last up to a second); a new flexion ends the wait at once."""
    settle_max_s: float = 2.5
    top_timeout_s: float = 10.0
    refine_deg: float = 1.0
    """Onset/offset are back-dated to this displacement from the top/bottom (truth definition): 1 deg
    of knee, in the measured angle's degrees for the middle of the share below."""
    knee_share_min: float = 1.0
    knee_share_max: float = 1.0
    """The measured angle turns by this share of the knee angle (1.0: a seated shank turns with the
    knee). With a planted foot the shank turns an unknown share of it (bandlog.detect.exercises); each
    rep's refine_deg is then scaled by the share the set's range suggests (ImuSteps.refine_deg)."""
    knee_rom_min_deg: float = 80.0
    knee_rom_max_deg: float = 115.0
    """The knee's range over a rep, read only when the share is unknown: a shank that turns little per
    rep more likely turns a small share of the knee's range (the middle share when nothing is known)."""

    # --- validity gates and flags ---------------------------------------------------------------
    min_rom_deg: float = 30.0
    min_rom_fraction: float = 0.5
    min_force_drop_fraction: float = 0.25
    """IMU modes: a rep whose force fell less than this share of R is flagged band_slack."""
    no_band_n: float = 2.0
    """IMU modes, an exercise whose band is optional (bandlog.detect.exercises): a rep whose force never
    rose this far above its rest was done without a band; its force figures are left out (the least
    a band gives, a tan one stretched 25 %, is about 5 N; load-cell noise is well under 0.5 N)."""
    force_weak_fraction: float = 0.1
    """Force-only: a cycle whose rise is under this share of the recent working range is rejected."""
    rep_min_s: float = 1.5
    rep_max_s: float = 20.0
    drop_factor: float = 3.0
    slack_s: float = 0.3

    # --- force-only mode (science.md 5.5) -------------------------------------------------------
    force_rep_enter: float = 0.15
    """A force-only rep starts once the force is this share of the recent working range above rest
    (and at least force_first_rise_n): low enough that a set which weakens stays counted."""
    force_rep_exit: float = 0.1
    force_first_rise_n: float = 2.0
    """A rep needs a rise of at least this many newtons (and ten SDs of the load cell's noise at
    rest): a light band pulled from far away gives a range of only a few newtons."""
    force_ecc_enter_rate: float = 0.10
    force_ecc_exit_rate: float = 0.05
    force_ecc_min_s: float = 0.4
    force_backdate_frac: float = 0.7
    """Onset is back-dated to where the fall rate first exceeded this fraction of the entry rate."""
    force_bottom_zone: float = 0.25
    """Near the bottom = force within this fraction of R above rest; higher up, a flat force is a
    stall and the eccentric goes on unless the stall outlasts stall_max_s."""
    force_fit_window: float = 0.10
    """Hinge fits (force_fit.py) span from the peak until the force has fallen this share of the
    rep's range, and from where it was last this share above the bottom to the bottom rest."""
    force_onset_level: float = 0.019
    """The onset is where the fitted fall from the relaxing hold reaches this share of the rep's
    range: about one degree of knee motion at the top (band hysteresis makes the first degrees steep)."""
    force_offset_level: float = 0.005
    """The offset is where the fitted approach to the bottom is this share of the range above it
    (about one degree of knee motion near extension)."""
    force_settle_fraction: float = 0.25
    """Force-only: the force must rest this share of the eccentric's duration (at least settle_s)
    before the rep is final; slow eccentrics approach the bottom too gently to call it sooner."""
    force_min_ecc_s: float = 0.6
    """Shorter falls are a band grabbed or re-tied, not a controlled eccentric."""
    force_still_rate: float = 0.03
    """Force counts as resting when |dF/dt| < this fraction of R per second."""
    isometric_hold_s: float = 2.5
    """A load held near its peak this long and then let go without a controlled eccentric is an
    isometric pull (a row flagged `isometric`); shorter spikes are a band grabbed or re-tied."""
    hold_band: float = 0.25
    """'Near its peak' = within this share of the cycle's range below the peak."""
    force_top_timeout_s: float = 15.0
    """Force-only: a load held longer than this is a new resting level (slack taken up, band
    re-tied), rejected as `rest_shift`; isometric pulls hold 3-10 s."""
    dip_fraction: float = 0.015
    """Force-only: rises that start with a dip of this share of R under the rest (median of the
    last reps, this one included; and of 6 noise SDs) mean the band is shortest mid-range: an anchor
    below the knee. A heavy band's dip is 1-2 % of its 60 N range at 10 noise SDs (0.03 missed them:
    force-only TUT_ecc error with an anchor below 7.8 -> 6.8 % on bench/accuracy.py's 240 sessions,
    no other class worse)."""
    rebound_fraction: float = 0.02
    """... and then a rise of more than this share of R after the force minimum, back to the rest,
    is the knee still extending: the eccentric ends where that rebound settles, not at the
    minimum. Without the dips a rise after the minimum is the band's viscous recovery (up to ~8 %
    of R after a fast eccentric) and is left alone."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "thigh_pitch_deg" or isinstance(value, bool):
                continue
            if f.name in ("ecc_enter_dps", "ecc_exit_dps"):
                if value >= 0:
                    raise ConfigError(f"DetectorParams.{f.name} must be negative (extension), got {value}")
            elif value <= 0:
                raise ConfigError(f"DetectorParams.{f.name} must be positive, got {value}")
        if self.ecc_enter_dps > self.ecc_exit_dps:
            raise ConfigError("DetectorParams.ecc_enter_dps must be below ecc_exit_dps (hysteresis)")
        if self.knee_share_min > self.knee_share_max or self.knee_rom_min_deg > self.knee_rom_max_deg:
            raise ConfigError("DetectorParams: knee_share_min/knee_rom_min_deg must not exceed their max")
        if self.force_ecc_exit_rate > self.force_ecc_enter_rate:
            raise ConfigError("DetectorParams.force_ecc_exit_rate must not exceed force_ecc_enter_rate")

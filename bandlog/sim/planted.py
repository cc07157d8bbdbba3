"""The two standing exercises' movement ranges and geometry: the foot stays planted, the shank pivots
about the ankle and the thigh moves too (the seed's runner's stretch and standing "L", issue 17).

Geometry (sagittal plane; knee flexion theta, 0 = straight). With the foot on the floor the shank
leans forward of vertical by phi_s (the knee ahead of the ankle) and the thigh by phi_t (the knee
ahead of the hip); the knee angle is their sum, theta = phi_s + phi_t. How a bend splits between the
two depends on where the hip goes, which the hands on the blocks steady but do not fix: if the hip
kept its height over the ankle with equal segments, each would turn half the knee angle; hinging
back hands more of it to the thigh, pushing the knee forward more to the shank. So [assump]

    phi_s(theta) = lean_straight_deg + share * theta + sway,   share ~ U(0.4, 0.7) per session,

and the thigh turns the rest, phi_t = theta - phi_s. A shank sensor sees phi_s only: seated, the
shank turns with the whole knee angle; here by 0.4-0.7 of it.

- Standing "L" (the standing leg; the other leg extended behind at hip height, hands on blocks): the
  straight standing shank is near vertical, lean_straight -5..+5 deg [assump]; rests straight, bends,
  straightens slowly. Knee 3-15 deg at its straightest (the hip is flexed by the hinge, and with the
  hip flexed the knee does not quite reach 0, science.md 2), bends 30-60 deg [assump: a single-leg
  bend held by the hands].
- Runner's stretch (the front leg, from a hip hinge, hands on blocks): the straight front shank may
  lean back, lean_straight -15..+5 deg [assump], and crosses vertical as the knee bends; rests bent
  at 35-70 deg, straightens under control (the eccentric) to 3-15 deg (science.md 2 again), holds
  the stretch 1-4 s [assump], bends back in 0.8-2 s (as the seated push-in, science.md 6.3).
- Both: eccentric tempo, stalls, drops, tremor and fatigue as the reverse curl (science.md 6.3: the
  same prescription); the bend (standing "L") lasts 0.8-2 s and the straight rest 0.5-3 s (6.3).
  Postural sway of the shank 0.05-0.2 deg at 0.1-0.4 Hz [assump: small, the hands are on blocks].
  No band (a band is optional and not modelled here): the force channel reads the load cell's zero.
- The sensor sits r_s from the knee (science.md 6.1, 6.4 ranges) with its mounting uniform on the
  sphere, as for the curl; the shank pivots about the ankle, shank_m below the knee, so the sensor's
  lever arm about that pivot is r_s - shank_m (negative: it is on the knee side of the pivot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

REVERSE_CURL = "reverse-curl"
RUNNERS_STRETCH = "runners-stretch"
STANDING_L = "standing-l"
PLANTED = (RUNNERS_STRETCH, STANDING_L)
EXERCISES = (REVERSE_CURL, *PLANTED)
"""The exercises the model simulates (their keys are bandlog.detect.exercises' profile keys)."""
SHARE = (0.4, 0.7)
LEAN_STRAIGHT_DEG = {RUNNERS_STRETCH: (-15.0, 5.0), STANDING_L: (-5.0, 5.0)}
SWAY_DEG = (0.05, 0.2)
SWAY_HZ = (0.1, 0.4)


def draw_movement(seed: int, exercise: str) -> dict[str, Any]:
    """SessionSpec overrides for a planted-foot exercise, on their own random stream (the reverse
    curl's draws are not moved). rom_deg is the bend from the straightest knee (ext_deg)."""
    rng = np.random.default_rng([seed, 9])
    u = rng.uniform
    ext = u(3.0, 15.0)
    if exercise == RUNNERS_STRETCH:
        rom = u(35.0, 70.0) - ext
        hold = u(1.0, 4.0)
    else:
        rom = u(30.0, 60.0)
        hold = u(0.0, 2.0)
    return {"ext_deg": ext, "rom_deg": max(rom, 20.0), "hold_s": hold, "flex_s": u(0.8, 2.0), "bottom_rest_s": u(0.5, 3.0)}


@dataclass(frozen=True)
class PlantedGeometry:
    share: float
    """d(shank lean) / d(knee flexion)."""
    lean_straight_deg: float
    """Shank lean forward of vertical with the knee straight (negative: leaning back)."""
    sway_deg: float
    sway_hz: float
    sway_phase: float


def planted_geometry(seed: int, exercise: str) -> PlantedGeometry:
    """The session's shank geometry (its own random stream, from the seed)."""
    rng = np.random.default_rng([seed, 10])
    u = rng.uniform
    return PlantedGeometry(
        float(u(*SHARE)), float(u(*LEAN_STRAIGHT_DEG[exercise])), float(u(*SWAY_DEG)), float(u(*SWAY_HZ)),
        float(u(0.0, 2 * np.pi)),
    )


def shank_lean_deg(geometry: PlantedGeometry, theta_deg: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """phi_s: the shank's lean forward of vertical (deg) at knee flexion theta_deg."""
    sway = geometry.sway_deg * np.sin(2 * np.pi * geometry.sway_hz * t_s + geometry.sway_phase)
    return geometry.lean_straight_deg + geometry.share * theta_deg + sway


def thigh_lean_deg(geometry: PlantedGeometry, theta_deg: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """phi_t: the thigh's lean (the knee ahead of the hip, deg): the rest of the knee angle."""
    return theta_deg - shank_lean_deg(geometry, theta_deg, t_s)


def shank_alpha_deg(geometry: PlantedGeometry, theta_deg: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """The shank's angle below the forward horizontal, knee to ankle, as bandlog.sim.imu takes it:
    the ankle is behind and below the knee, so alpha = 90 + phi_s (flexion turns it the same way
    as the seated shank's)."""
    return 90.0 + shank_lean_deg(geometry, theta_deg, t_s)

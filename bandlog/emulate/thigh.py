"""A second emulated IMU, strapped on the thigh.

SimulatedSession.sample(t, thigh=True) gives a thigh IMU's readings (its own mounting, bias and
noise) at the instants asked; ThighMotion hands them to a twin as its own acceleration and rotation,
so any IMU twin can play the thigh sensor. thigh_twins() gives one such twin of each IMU-only sensor,
advertised under its own name (the shank twin's plus THIGH_SUFFIX), so that a recording names the
shank's sensor and the thigh's apart, as it would two real units (by name or address).

Light to import (`record --help` names THIGH_SUFFIX): numpy, the twins and the simulation are
imported where they are used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bandlog.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from bandlog.core.motion import MotionSource
    from bandlog.core.samples import SampleBlock
    from bandlog.emulate.twins.base import PeripheralTwin

THIGH_SUFFIX = "-thigh"
"""Added to an emulated sensor's advertised name for its thigh twin: WT901BLE68-thigh."""


class ThighMotion:
    """A MotionSource of the thigh sensor's readings in a simulated session (no force)."""

    def __init__(self, session: MotionSource) -> None:
        from bandlog.sim.session import SimulatedSession

        if not isinstance(session, SimulatedSession):
            raise ConfigError("an emulated thigh sensor needs a simulated session (bandlog.sim) to read the thigh's movement from")
        self.session = session

    @property
    def duration_s(self) -> float:
        return self.session.duration_s

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        from bandlog.core.samples import SampleBlock

        block = self.session.sample(t_s, thigh=True)
        return SampleBlock(t_s=block.t_s, acc_ms2=block.thigh_acc_ms2, gyro_dps=block.thigh_gyro_dps)


def thigh_twins(motion_for_twin: Callable[[], MotionSource]) -> list[PeripheralTwin]:
    """A thigh twin of every IMU-only sensor (WitMotion, Thingy:52), named <its name>-thigh, each
    reading the movement motion_for_twin() gives it (a ThighMotion, or a view of one on a shared clock)."""
    from bandlog.devices import registry
    from bandlog.emulate.twins import twin_registry

    profiles = registry()
    return [twin(motion_for_twin(), name=f"{twin.default_name}{THIGH_SUFFIX}") for key, twin in twin_registry().items()
            if key in profiles and profiles[key].measures_imu and not profiles[key].measures_force]

"""An IMU-only twin driven by a motion source without IMU readings says so in one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.devices.thingy52 import RAW_UUID
from bandlog.devices.witmotion import NOTIFY_UUID
from bandlog.emulate.twins.base import PeripheralTwin
from bandlog.emulate.twins.thingy52 import Thingy52Twin
from bandlog.emulate.twins.witmotion import WitMotionTwin


class ForceOnly:
    """A motion source that measures force and nothing else."""

    duration_s = 60.0

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        return SampleBlock(t_s=t_s, force_n=np.full(len(t_s), 10.0))


@pytest.mark.parametrize(("twin_class", "stream_uuid"), [(WitMotionTwin, NOTIFY_UUID), (Thingy52Twin, RAW_UUID)])
def test_imu_twin_without_imu_motion_raises_config_error(twin_class: type[PeripheralTwin], stream_uuid: str) -> None:
    twin = twin_class(ForceOnly())
    twin.on_subscribe(stream_uuid, True, 0.0)
    with pytest.raises(ConfigError, match="needs a motion source that produces acceleration and rotation"):
        twin.poll(1.0)

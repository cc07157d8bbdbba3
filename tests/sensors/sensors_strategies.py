"""Hypothesis strategies for the WitMotion, Thingy:52, SIG Force and bandlog-open packet types."""

from __future__ import annotations

from hypothesis import strategies as st

from bandlog.devices import bandlog_open as bo
from bandlog.devices import sig_force as sf
from bandlog.devices import thingy52 as th
from bandlog.devices import witmotion as wm

i16 = st.integers(-32768, 32767)
xyz = st.tuples(i16, i16, i16)

wit_frames = st.builds(wm.ImuFrame, xyz, xyz, xyz)
wit_replies = st.builds(wm.RegisterReply, st.integers(0, 0xFFFF), st.tuples(*[i16] * 8))
wit_commands = st.builds(wm.Command, st.integers(0, 0xFF), st.integers(0, 0xFFFF))

thingy_configs = st.builds(
    th.MotionConfig,
    st.integers(*th.PEDO_INTERVAL_MS),
    st.integers(*th.TEMP_INTERVAL_MS),
    st.integers(*th.COMPASS_INTERVAL_MS),
    st.integers(*th.MOTION_FREQ_HZ),
    st.integers(0, 1),
)
thingy_raw = st.builds(th.RawMotion, xyz, xyz, xyz)

sig_readings = st.builds(sf.ForceReading, st.one_of(st.none(), st.integers(-(2**31), sf.UNKNOWN_RAW - 1)))

open_samples = st.builds(
    bo.Sample,
    st.integers(0, bo.SEQ_MODULO - 1),
    st.integers(0, 2**32 - 1),
    st.integers(-(2**23), 2**23 - 1),
    xyz,
    xyz,
)
open_replies = st.builds(
    bo.Reply, st.integers(0, 0xFF), st.integers(0, 0xFF), st.binary(max_size=bo.MAX_REPLY_PAYLOAD)
)
open_commands = st.one_of(
    st.builds(bo.Command, st.sampled_from([o for o in bo.Opcode if o not in (bo.Opcode.SET_RATE, bo.Opcode.CALIBRATE)])),
    st.builds(bo.Command.set_rate, st.integers(*bo.RATE_RANGE_HZ)),
    st.builds(bo.Command, st.just(bo.Opcode.CALIBRATE), st.binary(min_size=4, max_size=4)),
)


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """data with one byte changed, truncated, or extended: near misses a decoder must judge exactly."""
    changes = [st.just(data[:-1]), st.just(data + b"\x00")]
    if data:
        changes.append(
            st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)).map(
                lambda pair: data[: pair[0]] + bytes([pair[1]]) + data[pair[0] + 1 :]
            )
        )
    return st.one_of(changes)

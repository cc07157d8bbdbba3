"""Counter-based random numbers: noise that is a pure function of (seed, channel, grid index).

sample() may be called for any device times, in any order and any number of times (an emulated
sensor asks every few milliseconds); hashing the grid index gives the same noise value for the same
instant every time without storing a noise array for the whole session.
"""

from __future__ import annotations

import functools

import numpy as np

_MASK64 = (1 << 64) - 1


def _mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int (used for the per-channel key)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a 1-d uint64 array (wrap-around multiplication is intended)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@functools.lru_cache(maxsize=256)
def _keys_cached(seed: int, channels: tuple[int, ...]) -> np.ndarray:
    base = _mix_int(seed & _MASK64)
    keys = np.array([_mix_int(base ^ (c & _MASK64)) for c in channels], dtype=np.uint64)
    keys.flags.writeable = False
    return keys


def _keys(seed: int, channels: np.ndarray) -> np.ndarray:
    return _keys_cached(seed, tuple(int(c) for c in channels))


def _uniforms(seed: int, channels: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(n, len(channels)) uniforms in (0, 1); one hashing pass for all channels."""
    idx = np.asarray(index, dtype=np.int64).reshape(-1).view(np.uint64)
    h = _mix(idx[:, None] ^ _keys(seed, channels)[None, :])
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def hashed_uniform(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """Uniform numbers in (0, 1), one per integer index, fixed by (seed, channel, index)."""
    shape = np.shape(index)
    return _uniforms(seed, np.array([channel]), index)[:, 0].reshape(shape)


def hashed_normals(seed: int, first_channel: int, count: int, index: np.ndarray) -> np.ndarray:
    """(n, count) standard normals for channels first_channel.. (Box-Muller on hashed uniforms)."""
    channels = 2 * (first_channel + np.arange(count))
    u = _uniforms(seed, np.concatenate([channels, channels + 1]), index)
    return np.sqrt(-2.0 * np.log(u[:, :count])) * np.cos(2.0 * np.pi * u[:, count:])


def hashed_normal(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """Standard normal numbers, one per integer index."""
    return hashed_normals(seed, channel, 1, index)[:, 0].reshape(np.shape(index))

"""Counter-based random numbers: noise that is a pure function of (seed, channel, grid index).

sample() may be called for any device times, in any order and any number of times (an emulated
sensor asks every few milliseconds); hashing the grid index gives the same noise value for the same
instant every time without storing a noise array for the whole session.
"""

from __future__ import annotations

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


def hashed_uniform(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """Uniform numbers in (0, 1), one per integer index, fixed by (seed, channel, index)."""
    idx = np.asarray(index, dtype=np.int64)
    shape = idx.shape
    key = np.uint64(_mix_int(_mix_int(seed & _MASK64) ^ (channel & _MASK64)))
    h = _mix(idx.reshape(-1).view(np.uint64) ^ key)
    return (((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53).reshape(shape)


def hashed_normal(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """Standard normal numbers, one per integer index (Box-Muller on two hashed uniforms)."""
    u1 = hashed_uniform(seed, 2 * channel, index)
    u2 = hashed_uniform(seed, 2 * channel + 1, index)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

"""Load cell readings and what a BLE link loses (science.md 6.5).

Load cell: gain error, thermal zero drift since tare (linear), white noise, quantisation.
BLE: samples travel in notifications of ~notify_interval_s; each notification is lost independently
with probability ble_loss_frac, and occasional 100-500 ms bursts lose everything. Lost samples are
simply missing; the ones that arrive keep their device timestamps.
"""

from __future__ import annotations

import math

import numpy as np

from bandlog.sim.noise import hashed_normal, hashed_uniform
from bandlog.sim.spec import SessionSpec

FORCE_NOISE_CHANNEL = 30
JITTER_CHANNEL = 40
PACKET_LOSS_CHANNEL = 41
ARRIVAL_CHANNEL = 42
BURST_RANGE_S = (0.1, 0.5)
SAMPLE_JITTER_S = 0.5e-3
HOST_LATENCY_S = 0.005


def load_cell_n(spec: SessionSpec, t_s: np.ndarray, grid_index: np.ndarray, true_force_n: np.ndarray) -> np.ndarray:
    """Measured force at t_s given the true band tension there."""
    drift = spec.force_drift_n_per_min * np.asarray(t_s) / 60.0
    noise = spec.force_noise_n * hashed_normal(spec.seed, FORCE_NOISE_CHANNEL, grid_index)
    measured = true_force_n * (1.0 + spec.force_gain_err) + drift + noise
    return np.round(measured / spec.force_quant_n) * spec.force_quant_n


def sample_times(spec: SessionSpec, duration_s: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(nominal device times, actual sampling instants with +-0.5 ms jitter) at rate_hz."""
    n = int(math.floor(duration_s * rate_hz)) + 1
    index = np.arange(n)
    nominal = index / rate_hz
    jitter = (hashed_uniform(spec.seed, JITTER_CHANNEL, index) - 0.5) * 2 * SAMPLE_JITTER_S
    return nominal, np.clip(nominal + jitter, 0.0, duration_s)


def samples_per_packet(spec: SessionSpec, rate_hz: float) -> int:
    return max(1, int(round(rate_hz * spec.notify_interval_s)))


def ble_delivery(spec: SessionSpec, nominal_s: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(kept mask, host arrival time per sample) for samples at the nominal device times.

    Deterministic per (spec, rate): the random packet losses are hashed, the bursts come from a
    generator seeded with the seed and the rate.
    """
    per_packet = samples_per_packet(spec, rate_hz)
    packet = np.arange(nominal_s.size) // per_packet
    n_packets = int(packet[-1]) + 1 if packet.size else 0
    packet_index = np.arange(n_packets)
    lost = hashed_uniform(spec.seed, PACKET_LOSS_CHANNEL + int(rate_hz * 1000) * 100, packet_index) < spec.ble_loss_frac
    # a packet leaves when its last sample is taken
    last = np.minimum((packet_index + 1) * per_packet - 1, nominal_s.size - 1)
    sent_s = nominal_s[last] if n_packets else np.empty(0)
    duration = float(nominal_s[-1]) if nominal_s.size else 0.0
    rng = np.random.default_rng([spec.seed, 4, int(round(rate_hz * 1000))])
    for _ in range(int(rng.poisson(spec.ble_bursts_per_min * duration / 60.0))):
        start = rng.uniform(0.0, duration)
        lost |= (sent_s >= start) & (sent_s < start + rng.uniform(*BURST_RANGE_S))
    arrival = sent_s + HOST_LATENCY_S + spec.notify_interval_s * hashed_uniform(spec.seed, ARRIVAL_CHANNEL, packet_index)
    arrival = np.maximum.accumulate(arrival) if n_packets else arrival
    return ~lost[packet], arrival[packet]

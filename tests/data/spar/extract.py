"""Rebuild the SPAR excerpt CSVs in this directory from the seglearn 1.2.5 wheel.

    pip download --no-deps seglearn==1.2.5 -d /tmp/spar_work
    python tests/data/spar/extract.py /tmp/spar_work/seglearn-1.2.5-py3-none-any.whl

The argument may also be an unpacked `watch_dataset.npy`. Only numpy is needed. Output goes next to
this script unless `--out DIR` is given. The files are byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

NPY_IN_WHEEL = "seglearn/data/watch_dataset.npy"
NPY_SHA256 = "eb122f23cdf06ef6bd6c6c5312958ec5cf9d038e2e6d457b8081662c75a42537"
RATE_HZ = 50
DIGITS = 4  # significant digits per value: keeps the six files near 300 KB in total
NAMES = {"ER": "external rotation", "IR": "internal rotation", "ABD": "abduction"}
# (file stem, index into data['X']): the shortest stored set of each exercise for subjects 3 and 4
SELECTION = (
    ("spar_er_s4", 77), ("spar_er_s3", 98),
    ("spar_ir_s4", 35), ("spar_ir_s3", 9),
    ("spar_abd_s4", 55), ("spar_abd_s3", 108),
)
HEADER = "t_s,acc_x_g,acc_y_g,acc_z_g,gyro_x_rads,gyro_y_rads,gyro_z_rads"


def load(source: Path) -> dict:
    raw = zipfile.ZipFile(source).read(NPY_IN_WHEEL) if source.suffix == ".whl" else source.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != NPY_SHA256:
        raise SystemExit(f"{source}: watch_dataset.npy sha256 {digest} is not the seglearn 1.2.5 one")
    return np.load(io.BytesIO(raw), allow_pickle=True).item()


def render(data: dict, index: int) -> str:
    x = np.asarray(data["X"][index], dtype=float)
    label = data["y_labels"][int(data["y"][index])]
    side = "right" if data["side"][index] == 1 else "left"
    assert list(data["X_labels"]) == ["ax", "ay", "az", "wx", "wy", "wz"], data["X_labels"]
    lines = [
        "# SPAR shoulder physiotherapy data set (Burns et al. 2018, Physiol. Meas. 39(7) 075007, doi:10.1088/1361-6579/aacfd9),",
        "# as shipped in seglearn 1.2.5, seglearn/data/watch_dataset.npy. BSD-3-Clause, (c) 2018 David M. Burns:",
        "# see LICENSE and README.md in this directory.",
        f"# exercise: {label} ({NAMES[label]}), one set of 20 reps as stored in the npy (not trimmed further)",
        f"# subject: {int(data['subject'][index])}, side: {side}, watch_dataset index: {index}",
        f"# smartwatch IMU on the wrist, {RATE_HZ} Hz; acc in g, gyro in rad/s (seglearn labels ax ay az wx wy wz);"
        f" t_s = sample index / {RATE_HZ}; values rounded to {DIGITS} significant digits",
        HEADER,
    ]
    for k, row in enumerate(x):
        lines.append(",".join([f"{k / RATE_HZ:g}", *(f"{v:.{DIGITS}g}" for v in row)]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="seglearn-1.2.5-py3-none-any.whl or watch_dataset.npy")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    data = load(args.source)
    for stem, index in SELECTION:
        path = args.out / f"{stem}.csv"
        path.write_text(render(data, index), newline="\n")
        print(f"{path}: {len(data['X'][index])} samples, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

"""Robust statistics shared by the detector and the progress figures."""

from __future__ import annotations

MAD_TO_SD = 1.4826
"""A normal variable's standard deviation over its median absolute deviation (1 / Phi^-1(3/4)): noise
read from the MAD, which a rep, a spike or an outlier in the window does not inflate."""

"""Peak picking of the 3D model (postprocess.StressSampler) over the points where a reduced model has its stresses."""
from __future__ import annotations

import numpy as np

from solver.postprocess import StressSampler


class _GivenPoints(StressSampler):
    """StressSampler's peak rules over points given by the caller (reduced models evaluate their own stresses)."""

    def __init__(self, points: np.ndarray):  # noqa: D107 - no dolfinx spaces: only the points are needed
        self.points = points


def local_peaks(measures: dict[str, np.ndarray], points: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
    """{kind: (value, position)} with the 3D model's rule per kind (largest tension or largest magnitude)."""
    return _GivenPoints(points).local_peaks(measures)

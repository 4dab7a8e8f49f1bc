"""Observed convergence rates for the tests, asserted from both sides.

A rate below its band means the discretisation does not converge as it should; a rate far above the theory is
a bug too (an error that is not the one measured, a reference that moves with the mesh) or a pre-asymptotic
accident (errors of opposite signs cancelling), so every band has an upper bound. Each caller states the
expected order and justifies its band with the measured rate in a comment.
"""
import numpy as np

from solver.verification import observed_order


def observed_rate(h, err) -> float:
    """Least-squares slope of log|err| against log h over all levels (DEVELOPING.md: polyfit(log h, log err))."""
    return observed_order(np.asarray(h, dtype=float), np.abs(np.asarray(err, dtype=float)))


def assert_rate(h, err, expected: float, low: float, high: float, what: str = "error") -> float:
    """Assert low <= observed_rate(h, err) <= high (a band around `expected`); returns the rate."""
    assert low < expected < high, f"band [{low}, {high}] does not hold the expected order {expected}"
    rate = observed_rate(h, err)
    print(f"{what}: observed rate {rate:.3f} (expected {expected}, band [{low}, {high}]; h {list(h)}, errors {list(err)})")
    assert low <= rate <= high, (
        f"{what}: observed rate {rate:.3f} outside [{low}, {high}] (expected order {expected}); "
        f"{'too slow: not converging at the expected order' if rate < low else 'too fast: a bug or a pre-asymptotic accident'}"
        f" (h {list(h)}, errors {list(err)})")
    return rate

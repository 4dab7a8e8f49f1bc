"""tests/convergence.py: the observed rate, and bands that fail from both sides."""
import numpy as np
import pytest

from convergence import assert_rate, observed_rate

H = np.array([0.4, 0.2, 0.1])


def test_observed_rate_is_the_slope_of_the_absolute_errors():
    assert observed_rate(H, -3.0 * H**2) == pytest.approx(2.0)


@pytest.mark.parametrize("order, verdict", [(1.0, "too slow"), (3.0, "too fast")])
def test_a_rate_outside_the_band_fails_from_either_side(order, verdict):
    assert assert_rate(H, H**2, 2, 1.7, 2.4) == pytest.approx(2.0)
    with pytest.raises(AssertionError, match=verdict):
        assert_rate(H, H**order, 2, 1.7, 2.4)


def test_a_band_must_hold_the_expected_order():
    with pytest.raises(AssertionError, match="does not hold"):
        assert_rate(H, H**2, 2, 2.1, 2.4)

"""What the portfolio optimizers read: returns, a shrunk covariance, risk contributions.

Returns are simple (close to close), not log: a portfolio's return is exactly the weighted sum
of its assets' simple returns, which is what mean-variance algebra assumes; log returns add
over time but not across assets.

The covariance is Ledoit and Wolf's shrinkage towards a scaled identity ("A well-conditioned
estimator for large-dimensional covariance matrices", J. Multivariate Analysis 88, 2004),
closed form. With a few hundred candles and ten assets the sample covariance is noisy and its
smallest eigenvalues too small, so an optimizer piles into spurious low-risk combinations;
shrinking towards the average variance with the intensity that minimizes the expected
Frobenius loss fixes that without a tuning knob. This is the estimator PyPortfolioOpt and
Riskfolio-Lib use by default (scikit-learn's `ledoit_wolf`, which the tests cross-check when it
is installed; it is not a dependency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ShrunkCovariance:
    """A covariance matrix per candle and the shrinkage intensity that produced it (0: the
    sample covariance, 1: the scaled identity)."""

    matrix: FloatArray
    shrinkage: float


def simple_returns(closes: FloatArray) -> FloatArray:
    """Close-to-close returns of a (candles, assets) array: one row fewer."""
    return np.asarray(closes[1:] / closes[:-1] - 1.0, dtype=np.float64)


def ledoit_wolf(returns: FloatArray) -> ShrunkCovariance:
    """Ledoit-Wolf covariance of a (candles, assets) array of returns (demeaned here; the
    sample covariance divides by the number of candles, as in the paper)."""
    candles, assets = returns.shape
    centred = returns - returns.mean(axis=0)
    sample = centred.T @ centred / candles
    target = np.trace(sample) / assets
    # d^2: how far the sample is from the target; b^2: how noisy the sample is (both per asset).
    distance = float(np.sum((sample - target * np.eye(assets)) ** 2)) / assets
    fourth = float(np.sum(np.sum(centred**2, axis=1) ** 2))
    noise = (fourth / candles - float(np.sum(sample**2))) / (candles * assets)
    shrinkage = 0.0 if distance <= 0.0 else min(max(noise, 0.0), distance) / distance
    matrix = (1.0 - shrinkage) * sample + shrinkage * target * np.eye(assets)
    return ShrunkCovariance(matrix=matrix, shrinkage=shrinkage)


def risk_contributions(weights: FloatArray, covariance: FloatArray) -> FloatArray:
    """Each asset's share of the portfolio's variance, w_i (Σw)_i / w'Σw (they sum to 1);
    all zero for a portfolio that holds only cash."""
    marginal = covariance @ weights
    variance = float(weights @ marginal)
    if variance <= 0.0:
        return np.zeros_like(weights)
    return np.asarray(weights * marginal / variance, dtype=np.float64)

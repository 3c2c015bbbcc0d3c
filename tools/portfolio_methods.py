"""The five allocation methods, on annualized expected returns and covariance.

Long-only spot: every weight lies in [0, cap] and they sum to at most `budget`, the share of
equity the risk settings let be invested (the rest is cash). Min variance, max Sharpe, risk
parity and HRP invest the whole budget; mean-variance may keep part of it in cash, the
riskless asset, when more risk does not pay at its risk aversion.

The optimizers are SciPy's (SLSQP for the constrained problems, trust-region Newton for the
risk-parity program); HRP's clustering and seriation are `scipy.cluster.hierarchy`'s, and its
recursive bisection is López de Prado's ("Building diversified portfolios that outperform out
of sample", J. Portfolio Management 42(4), 2016). Nothing here reads data or settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.optimize import minimize, root
from scipy.spatial.distance import squareform

from tools.portfolio_estimates import FloatArray, risk_contributions

PRECISION = 1e-12
"""Objective tolerance of the solvers: weights come out good to about 1e-7."""
RISK_PARITY_TOLERANCE = 1e-10
"""Largest distance of an uncapped risk-parity contribution from 1/n that counts as equal."""


def min_variance(covariance: FloatArray, cap: float, budget: float) -> FloatArray:
    """The least risky portfolio investing `budget`."""

    def variance(w: FloatArray) -> tuple[float, FloatArray]:
        marginal = scaled @ w
        return float(w @ marginal), 2.0 * marginal

    scaled = _unit_scale(covariance)
    start = water_fill(1.0 / np.diag(scaled), cap, budget)
    return _slsqp("min_variance", variance, start, cap, [_invests(budget)])


def mean_variance(
    expected: FloatArray, covariance: FloatArray, cap: float, budget: float, risk_aversion: float
) -> FloatArray:
    """The portfolio maximizing expected return minus risk_aversion/2 times variance, cash
    (return 0, risk 0) taking what is not invested."""

    def disutility(w: FloatArray) -> tuple[float, FloatArray]:
        marginal = covariance @ w
        value = 0.5 * risk_aversion * float(w @ marginal) - float(expected @ w)
        return value, risk_aversion * marginal - expected

    at_most: dict[str, Any] = {
        "type": "ineq",
        "fun": lambda w: budget - w.sum(),
        "jac": lambda w: -np.ones_like(w),
    }
    start = water_fill(np.ones_like(expected), cap, budget) / 2.0
    return _slsqp("mean_variance", disutility, start, cap, [at_most])


def best_expected_return(expected: FloatArray, cap: float, budget: float) -> float:
    """The highest expected return any allowed fully invested portfolio has: the best assets
    filled to their cap in turn (tells whether a positive Sharpe ratio exists at all)."""
    best, left = 0.0, budget
    for value in np.sort(expected)[::-1]:
        taken = min(cap, left)
        best, left = best + taken * float(value), left - taken
    return best


def max_sharpe(
    expected: FloatArray, covariance: FloatArray, cap: float, budget: float
) -> FloatArray:
    """The fully invested portfolio with the highest Sharpe ratio (zero risk-free rate); all
    cash when no allowed portfolio expects a positive return.

    Solved as the convex program of Cornuéjols and Tütüncü (Optimization Methods in Finance,
    2007, §8.2): minimize y'Σy with μ'y = 1 and y >= 0, then w = budget·y/Σy; the cap becomes
    the homogeneous constraint y_i <= (cap/budget)·Σy.
    """
    if best_expected_return(expected, cap, budget) <= 0.0:
        return np.zeros_like(expected)

    def variance(y: FloatArray) -> tuple[float, FloatArray]:
        marginal = covariance @ y
        return float(y @ marginal), 2.0 * marginal

    share = cap / budget
    unit_return: dict[str, Any] = {
        "type": "eq",
        "fun": lambda y: float(expected @ y) - 1.0,
        "jac": lambda y: expected,
    }
    capped: dict[str, Any] = {
        "type": "ineq",
        "fun": lambda y: share * y.sum() - y,
        "jac": lambda y: share * np.ones((y.size, y.size)) - np.eye(y.size),
    }
    start = water_fill(np.ones_like(expected), cap, budget)
    start = start / max(float(expected @ start), PRECISION)
    y = _slsqp("max_sharpe", variance, start, None, [unit_return, capped])
    return np.asarray(budget * y / y.sum(), dtype=np.float64)


def risk_parity(covariance: FloatArray, cap: float, budget: float) -> FloatArray:
    """Each asset bears the same share of the portfolio's risk, investing `budget`.

    Uncapped, it is the unique minimum over y > 0 of ½y'Σy − Σ log(y_i)/n, rescaled to the
    budget (Spinu, "An algorithm for computing risk parity weights", 2013; Maillard, Roncalli
    and Teiletche, 2010). Solved in z = log y, where it has no bounds and its gradient is
    each asset's contribution less 1/n, by SciPy's trust-region Newton with the exact Hessian,
    then polished by MINPACK's root finder on that gradient.
    When that puts an asset over the cap, the contributions are made as even as the caps allow
    (least squares of their spread, SLSQP).
    """
    scaled = _unit_scale(covariance)
    assets = scaled.shape[0]

    def barrier(z: FloatArray) -> tuple[float, FloatArray]:
        y = np.exp(z)
        return 0.5 * float(y @ scaled @ y) - float(z.sum()) / assets, excess(z)

    def excess(z: FloatArray) -> FloatArray:
        y = np.exp(z)
        return np.asarray(y * (scaled @ y) - 1.0 / assets, dtype=np.float64)

    def curvature(z: FloatArray) -> FloatArray:
        y = np.exp(z)
        return np.asarray(np.diag(y * (scaled @ y)) + scaled * np.outer(y, y), dtype=np.float64)

    start = -0.5 * np.log(np.diag(scaled) * assets)
    near = minimize(
        barrier, start, jac=True, hess=curvature, method="trust-exact", options={"gtol": 1e-10}
    )
    # The minimizer stops where rounding hides the objective's change (contributions good to
    # about 1e-8); Newton on the gradient itself, from there, takes them to rounding level.
    found = root(excess, near.x, jac=curvature, method="hybr")
    y = np.exp(found.x)
    weights = y * budget / float(y.sum())
    if np.abs(risk_contributions(weights, scaled) - 1.0 / assets).max() > RISK_PARITY_TOLERANCE:
        raise ValueError(f"risk_parity did not converge ({found.message}): try a longer lookback")
    if weights.max() <= cap:
        return np.asarray(weights, dtype=np.float64)

    def spread(w: FloatArray) -> float:
        return float(np.sum((risk_contributions(w, scaled) - 1.0 / assets) ** 2))

    start = water_fill(weights, cap, budget)
    return _slsqp("risk_parity", spread, start, cap, [_invests(budget)], gradient=False)


def hrp(covariance: FloatArray, cap: float, budget: float) -> FloatArray:
    """Hierarchical risk parity: cluster the assets by correlation distance (single linkage),
    order them so that similar assets sit together, then split the budget down the order by
    inverse cluster variance. Caps are applied after, by water-filling (see `water_fill`)."""
    volatility = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(volatility, volatility)
    distance = np.sqrt(np.clip((1.0 - correlation) / 2.0, 0.0, 1.0))
    np.fill_diagonal(distance, 0.0)
    order = leaves_list(linkage(squareform(distance, checks=False), method="single"))
    weights = np.ones(covariance.shape[0])
    clusters = [order]
    while clusters:
        halves = [(c[: len(c) // 2], c[len(c) // 2 :]) for c in clusters if len(c) > 1]
        for left, right in halves:
            left_variance = _cluster_variance(covariance, left)
            right_variance = _cluster_variance(covariance, right)
            alpha = 1.0 - left_variance / (left_variance + right_variance)
            weights[left] *= alpha
            weights[right] *= 1.0 - alpha
        clusters = [half for pair in halves for half in pair]
    return water_fill(weights, cap, budget)


def water_fill(weights: FloatArray, cap: float, budget: float) -> FloatArray:
    """`weights` scaled to sum to `budget`, then each one over `cap` cut to it and the excess
    shared among the others in proportion to their weights, until none is over (possible as
    long as budget <= cap times the number of assets)."""
    filled = np.asarray(weights, dtype=np.float64) * budget / float(np.sum(weights))
    for _ in range(filled.size):
        over = filled > cap
        if not over.any():
            break
        excess = float(np.sum(filled[over] - cap))
        filled[over] = cap
        free = filled < cap
        filled[free] += excess * filled[free] / float(filled[free].sum())
    return np.minimum(filled, cap)


def _cluster_variance(covariance: FloatArray, members: FloatArray) -> float:
    """Variance of a cluster held in inverse-variance proportions."""
    block = covariance[np.ix_(members, members)]
    inverse = 1.0 / np.diag(block)
    inverse /= inverse.sum()
    return float(inverse @ block @ inverse)


def _unit_scale(covariance: FloatArray) -> FloatArray:
    """The covariance divided by its average variance: the same optimal weights, and values
    near 1 that the solvers' absolute tolerances suit."""
    return np.asarray(covariance / float(np.mean(np.diag(covariance))), dtype=np.float64)


def _invests(budget: float) -> dict[str, Any]:
    return {"type": "eq", "fun": lambda w: w.sum() - budget, "jac": lambda w: np.ones_like(w)}


def _slsqp(
    method: str,
    objective: Callable[[FloatArray], Any],
    start: FloatArray,
    cap: float | None,
    constraints: list[dict[str, Any]],
    *,
    gradient: bool = True,
) -> FloatArray:
    """SLSQP from `start` with every weight in [0, cap] (no upper bound for None); the answer
    clipped into the bounds, which SLSQP may overstep by rounding. `gradient`: the objective
    returns (value, gradient); otherwise SLSQP estimates the gradient."""
    found = minimize(
        objective,
        start,
        jac=gradient,
        method="SLSQP",
        bounds=[(0.0, cap)] * start.size,
        constraints=constraints,
        options={"ftol": PRECISION, "maxiter": 500},
    )
    if not found.success:
        raise ValueError(f"{method} did not converge ({found.message}): try a longer lookback")
    return np.clip(np.asarray(found.x, dtype=np.float64), 0.0, cap)

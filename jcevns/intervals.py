"""Confidence intervals, best fits and exclusion curves from scans.

1D: ``Delta chi2 = chi2 - min`` over the scanned parameter (others fixed or profiled); the
90 % CL region is ``Delta chi2 <= 2.71``. Interval ends are found by root finding on the
*continuous* statistic, bracketed by the sign changes on the grid; disjoint regions are
returned as a union. An end that sits on a physical boundary (``mu_nu = 0``, the Helm limit)
is reported as a boundary, not a crossing; an end at the edge of a scan grid that is not a
physical boundary is flagged so the grid can be widened.
2D: ``Delta chi2 = 4.61`` (90 % CL, two parameters) against the global minimum of the plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

#: Delta chi2 thresholds (Wilks, chi-square quantiles).
DCHI2_90_1D = 2.705543454095404
DCHI2_90_2D = 4.605170185988091
DCHI2_1SIGMA_1D = 1.0


@dataclass(frozen=True)
class Interval:
    """One connected allowed region ``[lo, hi]``.

    ``lo_kind`` / ``hi_kind``: ``"crossing"`` (root of ``Delta chi2 = level``),
    ``"boundary"`` (physical boundary of the parameter) or ``"grid_edge"`` (the scan ended
    inside the allowed region: widen the grid).
    """

    lo: float
    hi: float
    lo_kind: str = "crossing"
    hi_kind: str = "crossing"

    def as_list(self) -> list[float]:
        return [self.lo, self.hi]


def _refine(f, a: float, b: float, fa: float, fb: float, level: float) -> float:
    """Root of ``f(x) - level`` in ``[a, b]`` (``fa``, ``fb`` on opposite sides)."""
    if f is None:
        return a + (level - fa) * (b - a) / (fb - fa)
    return optimize.brentq(lambda x: f(x) - level, a, b, xtol=1e-12 * max(1.0, abs(a), abs(b)), rtol=1e-12)


def intervals_1d(x, delta, level: float = DCHI2_90_1D, f=None, boundaries=(None, None)) -> list[Interval]:
    """Allowed intervals ``{x : delta(x) <= level}`` as a union of :class:`Interval`.

    Args:
        x: increasing grid.
        delta: ``Delta chi2`` on the grid.
        level: threshold (2.71 for 90 % CL).
        f: optional continuous ``Delta chi2`` function of one float, used to refine the ends
            (same offset as ``delta``); linear interpolation when ``None``.
        boundaries: ``(lower, upper)`` physical boundaries of the parameter, or ``None``.
    """
    try:
        x = np.asarray(x, dtype=np.float64)
        d = np.asarray(delta, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("x and delta must be arrays of real numbers") from None
    if x.ndim != 1 or x.size == 0 or x.shape != d.shape or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError(f"x must be a non-empty, finite, increasing 1D grid and delta of its shape, got "
                         f"shapes {x.shape} and {d.shape}")
    if np.any(np.isnan(d)):
        raise ValueError(f"delta is NaN at x = {x[np.isnan(d)][0]:g}: a point outside the valid range?")
    if isinstance(level, bool) or not (np.ndim(level) == 0 and np.isreal(level) and 0 < float(level) < np.inf):
        raise ValueError(f"level must be a positive finite number, got {level!r}")
    inside = d <= level
    out = []
    i = 0
    n = x.size
    while i < n:
        if not inside[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and inside[j + 1]:
            j += 1
        if i == 0:
            lo = x[0]
            lo_kind = "boundary" if boundaries[0] is not None and np.isclose(x[0], boundaries[0]) else "grid_edge"
        else:
            lo, lo_kind = _refine(f, x[i - 1], x[i], d[i - 1], d[i], level), "crossing"
        if j == n - 1:
            hi = x[-1]
            hi_kind = "boundary" if boundaries[1] is not None and np.isclose(x[-1], boundaries[1]) else "grid_edge"
        else:
            hi, hi_kind = _refine(f, x[j], x[j + 1], d[j], d[j + 1], level), "crossing"
        out.append(Interval(float(lo), float(hi), lo_kind, hi_kind))
        i = j + 1
    return out


def best_fit_1d(x, values, f=None) -> tuple[float, float]:
    """``(x_best, min value)``: grid minimum, refined with a bounded scalar minimiser on ``f``."""
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    k = int(np.argmin(v))
    if f is None or k in (0, x.size - 1):
        return float(x[k]), float(v[k])
    res = optimize.minimize_scalar(f, bounds=(x[k - 1], x[k + 1]), method="bounded", options={"xatol": 1e-10})
    return (float(res.x), float(res.fun)) if res.fun <= v[k] else (float(x[k]), float(v[k]))


def exclusion_curve(masses, couplings, delta, level: float = DCHI2_90_2D):
    """Smallest excluded coupling at each mediator mass (``nan`` where nothing is excluded).

    Args:
        masses: mass grid ``(n_m,)``.
        couplings: increasing coupling grid ``(n_g,)``, ``>= 0`` (it may start at 0).
        delta: ``Delta chi2`` against the global minimum of the plane, shape ``(n_m, n_g)``.
        level: threshold (4.61 for 90 % CL, two parameters).

    Returns:
        ``g_min (n_m,)``, linearly interpolated in ``log g`` between grid points.
    """
    g = np.asarray(couplings, dtype=np.float64)
    out = np.full(len(masses), np.nan)
    for i, row in enumerate(np.asarray(delta)):
        above = np.nonzero(row > level)[0]
        if above.size == 0:
            continue
        j = above[0]
        if j == 0:
            out[i] = g[0]
            continue
        t = (level - row[j - 1]) / (row[j] - row[j - 1])
        if g[j - 1] <= 0.0:  # a grid that starts at g = 0 has no log: interpolate linearly there
            out[i] = float(g[j - 1] + t * (g[j] - g[j - 1]))
            continue
        out[i] = float(np.exp(np.log(g[j - 1]) + t * (np.log(g[j]) - np.log(g[j - 1]))))
    return out


@dataclass(frozen=True)
class Fit1D:
    """Best fit and intervals of one parameter from a 1D scan (:func:`fit_1d`).

    Attributes:
        best: best-fit value (refined off the grid when a continuous statistic was given).
        minimum: the statistic at ``best``.
        delta: ``values - minimum`` on the grid.
        cl90: 90 % CL intervals (``Delta chi2 <= 2.71``).
        one_sigma: 1-sigma intervals (``Delta chi2 <= 1``).
    """

    best: float
    minimum: float
    delta: np.ndarray
    cl90: list[Interval]
    one_sigma: list[Interval]


def fit_1d(x, values, f=None, boundaries=(None, None)) -> Fit1D:
    """Best fit, 90 % CL and 1-sigma intervals of a statistic scanned on the grid ``x``.

    Args:
        x: increasing grid.
        values: the statistic on the grid (any offset).
        f: optional continuous statistic of one float, with the same offset as ``values``; refines
            the best fit and the interval ends (grid interpolation when ``None``).
        boundaries: physical boundaries of the parameter (see :func:`intervals_1d`).
    """
    values = np.asarray(values, dtype=np.float64)
    best, minimum = best_fit_1d(x, values, f)
    minimum = min(minimum, float(np.min(values)))
    delta = values - minimum
    df = None if f is None else (lambda v: f(v) - minimum)
    return Fit1D(
        best=best,
        minimum=minimum,
        delta=delta,
        cl90=intervals_1d(x, delta, DCHI2_90_1D, f=df, boundaries=boundaries),
        one_sigma=intervals_1d(x, delta, DCHI2_1SIGMA_1D, f=df, boundaries=boundaries),
    )

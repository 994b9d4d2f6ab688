"""Frequentist calibration with toys: Neyman belts with Feldman-Cousins ordering, and coverage.

A toy is the likelihood with its observed-data leaves replaced by a generated data set
(:mod:`jcevns.generators` holds the generative model of every likelihood type). Each toy is
fitted by the same jitted, ``vmap``-ed statistic as the data, so thousands of toys per grid point
cost seconds; batches are spread over all devices and processes (:mod:`jcevns.sharding`).

Test statistic (profile likelihood ratio, Feldman and Cousins, Phys. Rev. D 57 (1998) 3873,
arXiv:physics/9711021, eq. 4.1, with the nuisances profiled):
``t(x) = q(x) - min_x' q(x')``, ``q = -2 ln L`` (or the chi-square) minimised over the
nuisance pulls (and over the ``profile`` parameters), ``x'`` in the physical range covered by the
grid. The minimum over ``x'`` is the grid minimum refined by Newton steps on the model
interpolated quadratically between grid nodes (exact for parameters the counts depend on
quadratically: ``sin2w``, NSI epsilons, magnetic moments), so the grid must contain the best
fits of the toys. Where the prediction is linear in ``x`` or in ``x^2`` (checked numerically:
signal strengths, magnetic moments) the minimum is found instead by a few fits and safeguarded
Newton steps in that variable (:mod:`jcevns._linear`; ``linear=False`` turns this off).

The Neyman construction: at each grid value ``x_i`` draw toys at ``x_i``, take the ``cl``
quantile ``c_i`` of their ``t(x_i)``; the Feldman-Cousins interval is ``{x_i : t_obs(x_i) <= c_i}``
and the Wilks interval ``{x_i : t_obs(x_i) <= chi2_1(cl)}`` (2.71 at 90 %).
``ordering="upper"`` sets ``t = 0`` when the best fit lies above ``x_i`` (one-sided upper limits).

Nuisances of the toys (``nuisances=``):

* ``"profiled"`` (default, the profile construction): fixed at their profiled values at ``x_i``
  given the observed data;
* ``"prior"``: the pulls drawn from their Gaussian priors, independently per toy, with the
  auxiliary measurements of the pulls kept at their observed values (the Cousins-Highland
  hybrid); profiled physics parameters stay at their profiled values.

With ``"profiled"`` the toys also draw the auxiliary measurements of the pulls (the centres of
their Gaussian constraints) around the true pulls (:mod:`jcevns.generators`).

Combinations (:func:`jcevns.combine`) have toys too: each member draws its own, and a toy is
fitted like the data, the members' statistics summed at the shared parameter value with their
pulls profiled separately (:mod:`jcevns.combined_toys`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from . import generators
from ._belt import (
    _critical,
    _draw_kernel,
    _exact_t,
    _grid_fits,
    _grid_models,
    _key,
    _max_poisson_mean,
    _observed_minimum,
    _searcher,
    _toy_t,
)
from .intervals import Interval, intervals_1d

ORDERINGS = ("fc", "upper")
NUISANCE_MODES = ("profiled", "prior")
#: Toys per compiled batch (before the split over devices): small enough that the (toys x grid x
#: bins) intermediates stay in cache, which doubles the speed over 16k-toy batches on a CPU.
TOY_CHUNK = 1024
#: Relative tolerance of ``t_obs <= c`` (ties of discrete outcomes).
_TIE = 1e-9


def wilks_level(cl: float) -> float:
    """``Delta q`` threshold of a one-parameter interval at confidence ``cl`` (Wilks)."""
    return float(stats.chi2.ppf(cl, 1))


# --- public API ----------------------------------------------------------------------------


def _check_options(n_toys, cl, ordering, nuisances):
    if not (isinstance(n_toys, (int, np.integer)) and n_toys >= 1):
        raise ValueError(f"n_toys must be a positive integer, got {n_toys!r}")
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl must lie in (0, 1), got {cl!r}")
    if ordering not in ORDERINGS:
        raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
    if nuisances not in NUISANCE_MODES:
        raise ValueError(f"nuisances must be one of {NUISANCE_MODES}, got {nuisances!r}")


def _check_grid(tm, grid) -> np.ndarray:
    g = generators.check_parameter_values(tm, grid, "grid")
    if g.size < 3 or np.any(np.diff(g) <= 0):
        raise ValueError(f"grid must be strictly increasing with at least 3 points, got {g.size} points")
    return g


def expectation(lik, param: str, value: float, *, base=None, profile=()) -> dict:
    """Mean and variance of every generated data leaf at ``param = value`` with the nuisances
    profiled on the observed data: ``{leaf: (mean, variance)}`` (NumPy arrays)."""
    tm = generators.adapter(lik, param, base, profile)
    x = generators.check_parameter_values(tm, [value], "value")[0]
    model = tm.model(jnp.asarray(x))
    _, nu = tm.fit(model)
    return {k: (np.asarray(r.mean), np.asarray(r.variance)) for k, r in tm.recipe(model, nu).items()}


def generate(lik, param: str, value: float, n_toys: int, *, key=0, base=None, profile=()) -> dict:
    """``n_toys`` toy data sets at ``param = value``, nuisances profiled on the observed data.

    Returns:
        ``{leaf: array (n_toys, ...)}``; the same ``key`` gives the same toys.

    Example:
        >>> import jcevns
        >>> from jcevns import toys
        >>> lik = jcevns.likelihood(jcevns.build("lar2020"))
        >>> toys.generate(lik, "sin2w", 0.24, 1000, key=1)["observed"].shape
        (1000, 1)
    """
    _check_options(n_toys, 0.9, "fc", "profiled")
    tm = generators.adapter(lik, param, base, profile)
    x = generators.check_parameter_values(tm, [value], "value")[0]
    model = tm.model(jnp.asarray(x))
    _, nu = tm.fit(model)
    keys = jax.random.split(_key(key), n_toys)
    table = generators.table_size(_max_poisson_mean(tm, jax.tree_util.tree_map(lambda a: a[None], model), nu[None]))
    return {k: np.asarray(v) for k, v in _draw_kernel(keys, tm, model, nu, table).items()}


@dataclass(frozen=True)
class NeymanResult:
    """A Neyman belt on a grid of the parameter of interest (:func:`neyman`).

    Attributes:
        param, grid, cl, ordering, nuisances, n_toys (``None``: exact), wall_s: the settings.
        t_obs: observed ``t(x_i)``; critical: ``c_i``, the ``cl`` quantile of the toys' ``t``.
        x_hat: observed best fit; fc, wilks: the Feldman-Cousins and Wilks intervals.
        t_toys: the toys' ``t``, ``(n_grid, n_toys)`` (``None`` for exact belts).
    """

    param: str
    grid: np.ndarray
    cl: float
    ordering: str
    nuisances: str
    n_toys: int | None
    t_obs: np.ndarray
    critical: np.ndarray
    x_hat: float
    fc: list[Interval]
    wilks: list[Interval]
    wall_s: float
    t_toys: np.ndarray | None = None

    def to_dict(self) -> dict:
        return {
            "param": self.param,
            "cl": self.cl,
            "ordering": self.ordering,
            "nuisances": self.nuisances,
            "n_toys": self.n_toys,
            "best_fit": self.x_hat,
            "fc_interval": [i.as_list() for i in self.fc],
            "wilks_interval": [i.as_list() for i in self.wilks],
            "grid": self.grid.tolist(),
            "t_obs": self.t_obs.tolist(),
            "critical": self.critical.tolist(),
            "wall_s": self.wall_s,
        }


def belt_intervals(grid, t_obs, critical, cl: float = 0.9, lower=None) -> tuple[list[Interval], list[Interval]]:
    """Feldman-Cousins (``t_obs <= critical``) and Wilks (``t_obs <= chi2_1(cl)``) intervals on a
    grid; ``lower`` is the physical lower bound of the parameter (reported as a boundary)."""
    grid, t_obs, critical = (np.asarray(a, dtype=np.float64) for a in (grid, t_obs, critical))
    bounds = (lower, None)
    # Discrete outcomes: the observed t equals the critical value exactly when the observation is
    # the last outcome the ordering accepts; the tolerance absorbs rounding between the two fits.
    fc = intervals_1d(grid, (t_obs - critical) / (1.0 + np.abs(critical)), _TIE, boundaries=bounds)
    return fc, intervals_1d(grid, t_obs, wilks_level(cl), boundaries=bounds)


def observed_t(lik, param: str, grid, *, ordering: str = "fc", base=None, profile=(), n_search: int | None = 41,
               n_newton: int = 4, linear: bool = True) -> tuple[np.ndarray, float]:
    """The observed ``t(x_i)`` on ``grid`` and the best fit, as :func:`neyman` computes them: with a
    belt from :func:`neyman`, :func:`belt_intervals` gives the interval of any observation."""
    _check_options(1, 0.9, ordering, "profiled")
    tm = generators.adapter(lik, param, base, profile)
    grid = _check_grid(tm, grid)
    t_obs, x_hat, _ = _observed(tm, grid, _grid_models(tm, jnp.asarray(grid)), _searcher(tm, grid, n_search, linear),
                                n_newton)
    return (np.where(x_hat > grid, 0.0, t_obs) if ordering == "upper" else t_obs), x_hat


def _observed(tm, grid, models, search, n_newton):
    q_grid, nuisances = _grid_fits(tm, models)
    q_grid = np.asarray(q_grid)
    q_min, x_hat = _observed_minimum(tm, search, jnp.asarray(grid[int(np.argmin(q_grid))]), n_newton)
    q_min = min(float(q_min), float(np.min(q_grid)))
    if float(np.min(q_grid)) <= q_min:
        x_hat = grid[int(np.argmin(q_grid))]
    return q_grid - q_min, float(x_hat), nuisances


def neyman(
    lik,
    param: str,
    grid,
    n_toys: int | None = 1000,
    *,
    ordering: str = "fc",
    cl: float = 0.9,
    key=0,
    base=None,
    profile=(),
    nuisances: str = "profiled",
    n_search: int | None = 41,
    n_newton: int = 4,
    chunk_size: int = TOY_CHUNK,
    keep_toys: bool = False,
    linear: bool = True,
) -> NeymanResult:
    """Neyman belt and Feldman-Cousins interval of ``param`` on ``grid`` (see the module docstring).

    Args:
        lik: a likelihood with a registered generative model (:mod:`jcevns.generators`).
        param: the parameter of interest (``"mu"`` for :mod:`jcevns.counting`).
        grid: increasing values of ``param`` (inside its physical range) that contain the
            interval and the toys' best fits (toys whose best fit lies beyond the grid get a
            too small ``t``: extend the grid well past the interval).
        n_toys: toys per grid point; ``None`` sums over every outcome instead (counting models).
        ordering: ``"fc"`` (likelihood-ratio ordering) or ``"upper"`` (one-sided).
        cl: confidence level.
        key: ``jax.random`` key or integer seed.
        base: values of the other parameters (default: the analysis' SM point).
        profile: further physics parameters minimised over at each point (L-BFGS).
        nuisances: ``"profiled"`` or ``"prior"`` (see the module docstring).
        n_search: grid points used to search the toys' global minimum (subsampled evenly).
        n_newton: Newton refinements of that minimum.
        chunk_size: toys per compiled batch.
        keep_toys: keep the toys' ``t`` in the result.
        linear: where the prediction is linear in ``x`` or ``x^2`` over the grid (checked
            numerically; signal strengths, magnetic moments), find the toys' minimum by a few
            fits and safeguarded Newton steps in that variable (:mod:`jcevns._linear`) instead of
            the grid search (``n_search``, ``n_newton`` then unused); ``False``: always the grid.

    Example:
        >>> import numpy as np
        >>> from jcevns import counting, toys
        >>> res = toys.neyman(counting.counting(0), "mu", np.linspace(0, 15, 3001), None)
        >>> abs(res.fc[0].hi - 2.44) < 0.01  # Feldman and Cousins (1998), Table IV: [0, 2.44]
        True
    """
    t0 = time.perf_counter()
    _check_options(1 if n_toys is None else n_toys, cl, ordering, nuisances)
    tm = generators.adapter(lik, param, base, profile)
    if n_toys is None and not hasattr(tm, "outcomes"):
        raise ValueError(f"n_toys=None (exact belt) needs a counting model; {type(lik).__name__} needs toys")
    grid = _check_grid(tm, grid)
    search = _searcher(tm, grid, n_search, linear)
    models = _grid_models(tm, jnp.asarray(grid))
    t_obs, x_hat, nu = _observed(tm, grid, models, search, n_newton)
    if ordering == "upper":
        t_obs = np.where(x_hat > grid, 0.0, t_obs)
    if n_toys is None:
        t, w = _exact_t(tm, grid, models, nu, search, ordering, n_newton)
        critical = _critical(t, cl, w)
        t = None
    else:
        t, _ = _toy_t(tm, grid, models, nu, search, n_toys, key, nuisances == "prior", ordering,
                      n_newton, chunk_size)
        critical = _critical(t, cl)
    fc, wilks = belt_intervals(grid, t_obs, critical, cl, tm.lower)
    return NeymanResult(param, grid, cl, ordering, nuisances, n_toys, t_obs, critical, x_hat, fc, wilks,
                        time.perf_counter() - t0, t if keep_toys else None)


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of the Wilks and Feldman-Cousins intervals at given true values (:func:`coverage`).

    ``wilks``, ``fc``: fraction of toys whose interval contains the truth; ``*_err``: binomial
    standard errors ``sqrt(p (1 - p) / n_toys)``; ``critical``: the FC ``c`` at each truth.
    """

    param: str
    true_values: np.ndarray
    cl: float
    n_toys: int
    wilks: np.ndarray
    wilks_err: np.ndarray
    fc: np.ndarray
    fc_err: np.ndarray
    critical: np.ndarray
    wall_s: float

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def coverage(
    lik,
    param: str,
    true_values,
    n_toys: int = 1000,
    *,
    grid=None,
    cl: float = 0.9,
    key=0,
    base=None,
    profile=(),
    nuisances: str = "profiled",
    ordering: str = "fc",
    n_belt_toys: int | None = None,
    n_search: int | None = 41,
    n_newton: int = 4,
    chunk_size: int = TOY_CHUNK,
    linear: bool = True,
) -> CoverageResult:
    """How often the Wilks and the Feldman-Cousins intervals contain the truth.

    At each true value: ``n_belt_toys`` toys give the FC critical value ``c``; ``n_toys``
    independent toys give ``t(x_true)``; the Wilks interval covers when ``t <= chi2_1(cl)``, the
    FC interval when ``t <= c``. Nuisances as in :func:`neyman`.

    Args:
        grid: values searched for the toys' best fit; default 101 points spanning the true
            values widened by their spread on each side (clipped to the physical range).
        n_belt_toys: toys for ``c`` (default ``n_toys``).

    The other arguments are those of :func:`neyman`.
    """
    t0 = time.perf_counter()
    _check_options(n_toys, cl, ordering, nuisances)
    tm = generators.adapter(lik, param, base, profile)
    truth = generators.check_parameter_values(tm, true_values, "true_values")
    if grid is None:
        if np.ptp(truth) == 0:
            raise ValueError("give a grid when there is only one distinct true value")
        lo, hi = truth.min() - np.ptp(truth), truth.max() + np.ptp(truth)
        grid = np.linspace(max(lo, tm.lower), min(hi, tm.upper), 101)
    search = _searcher(tm, _check_grid(tm, grid), n_search, linear)
    truth_models = _grid_models(tm, jnp.asarray(truth))
    _, nu = _grid_fits(tm, truth_models)
    key = _key(key)
    k_belt, k_cov = jax.random.split(key)
    prior = nuisances == "prior"
    args = (tm, truth, truth_models, nu, search)
    t_belt, _ = _toy_t(*args, n_belt_toys or n_toys, k_belt, prior, ordering, n_newton, chunk_size)
    t_cov, _ = _toy_t(*args, n_toys, k_cov, prior, ordering, n_newton, chunk_size)
    critical = _critical(t_belt, cl)
    wilks = np.mean(t_cov <= wilks_level(cl), axis=1)
    fc = np.mean(t_cov <= critical[:, None], axis=1)
    err = lambda p: np.sqrt(p * (1.0 - p) / n_toys)  # noqa: E731
    return CoverageResult(param, truth, cl, n_toys, wilks, err(wilks), fc, err(fc), critical,
                          time.perf_counter() - t0)

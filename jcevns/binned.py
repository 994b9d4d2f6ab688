"""A generic binned likelihood in the spirit of HistFactory (pyhf), written in JAX: evaluating
and profiling the :class:`BinnedModel` of :mod:`jcevns.binned_model` (whose names this module
re-exports: build a model with :func:`model` or :func:`chi2_model`, then evaluate it here).

Profiling (:func:`profile`): where the statistic is quadratic in the pulls (``"chi2"`` with
every expectation linear in them: each sample under at most one normalisation, shape
nuisances without curvature and not on a normalised sample) the minimum is one small linear
solve, done in the per-sample normalisation factors ``1 + sigma a`` and rescaled column by
column, so it stays exact when the signal is many orders of magnitude above the data (at large
couplings the fit drives the signal factor to ~1e-12; computing it as ``1 + sigma a`` would
lose every digit). Everywhere else a damped Newton iteration with a per-point convergence
flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from .binned_model import (  # noqa: F401  (re-exported: the model and its building blocks)
    STATISTICS,
    BinnedModel,
    NormSys,
    Sample,
    ShapeSys,
    chi2_model,
    model,
)

#: Newton iterations of :func:`profile` (each with a backtracking line search over
#: :data:`_STEP_SIZES`); a converged fit of a few pulls needs 5-8.
NEWTON_STEPS = 30
_STEP_SIZES = (1.0, 0.5, 0.25, 0.1, 0.01, 0.0)
#: Convergence: the gradient of -2 ln L with respect to the pulls below this (absolute).
GRADIENT_TOLERANCE = 1e-6


def to_paper_units(bm: BinnedModel, pulls):
    """Unit-Gaussian pulls ``a`` to the papers' convention ``a_paper = sigma a`` (width sigma)."""
    return jnp.asarray(pulls) * bm.pull_sigma


def from_paper_units(bm: BinnedModel, paper_pulls):
    """Pulls of width sigma, as the papers write them, to this module's unit-Gaussian pulls."""
    return jnp.asarray(paper_pulls) / bm.pull_sigma


def _shape_delta(slope, curvature, a):
    """Relative shift of a template: quadratic through (-1, 0, +1) inside |a| <= 1, then linear."""
    inside = jnp.clip(a, -1.0, 1.0)
    outside = a - inside
    # d/da of the quadratic at the clip point, so the continuation is C1.
    return slope * inside + curvature * inside**2 + (slope + 2.0 * curvature * inside) * outside


def _nominal(bm: BinnedModel, signal):
    return jnp.concatenate([jnp.asarray(signal)[None, :], bm.backgrounds], axis=0)  # (n_samples, n_bins)


def expected(bm: BinnedModel, signal, pulls):
    """Expected counts per bin ``(n_bins,)`` for a signal ``(n_bins,)`` and pulls ``(n_pulls,)``."""
    nominal = _nominal(bm, signal)
    norm = 1.0 + pulls[: bm.n_norm] @ bm.norm_widths  # (n_samples,)
    delta = _shape_delta(bm.shape_slope, bm.shape_curvature, pulls[:, None, None])
    shape = 1.0 + jnp.sum(delta, axis=0)  # (n_samples, n_bins)
    return jnp.sum(nominal * norm[:, None] * shape, axis=0)


def poisson_deviance(observed, mu):
    """``2 sum (mu - n + n ln(n / mu))``; ``n ln n -> 0`` at ``n = 0`` with finite gradients."""
    positive = observed > 0
    safe_n = jnp.where(positive, observed, 1.0)
    safe_mu = jnp.where(mu > 0, mu, 1.0)
    log_term = jnp.where(positive, observed * jnp.log(safe_n / safe_mu), 0.0)
    value = 2.0 * jnp.sum(mu - observed + log_term)
    # A non-positive expectation where events were seen is impossible: infinite, not a number.
    return jnp.where(jnp.any((mu <= 0) & positive), jnp.inf, value)


def _data_term(bm: BinnedModel, mu):
    if bm.statistic == "chi2":
        return jnp.sum((bm.observed - mu) ** 2 / bm.variance)
    return poisson_deviance(bm.observed, mu)


def centres(bm: BinnedModel):
    """Centres of the pull constraints ``(n_pulls,)`` (zeros unless a toy set them)."""
    return jnp.zeros(bm.n_pulls) if bm.pull_centres is None else bm.pull_centres


def _constraint(bm: BinnedModel, pulls):
    return jnp.sum((pulls - centres(bm)) ** 2)


def twice_nll(bm: BinnedModel, signal, pulls):
    """The statistic (``-2 ln L`` or chi-square) at given unit-Gaussian pulls."""
    return _data_term(bm, expected(bm, signal, pulls)) + _constraint(bm, pulls)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Profiled:
    """Result of :func:`profile`: the statistic minimised over the pulls.

    Attributes:
        value: the minimum.
        pulls: ``(n_pulls,)`` pulls at the minimum (unit Gaussians).
        converged: exact solve: the value finite; Newton: also the gradient below
            :data:`GRADIENT_TOLERANCE`.
    """

    value: jax.Array
    pulls: jax.Array
    converged: jax.Array


def _solve_small(matrix, rhs):
    """``matrix^-1 rhs`` for small symmetric positive-definite systems; 1x1 and 2x2 in closed
    form (under ``vmap`` over a million scan points a batched LAPACK solve costs more than the
    rest of the statistic)."""
    if matrix.shape == (1, 1):
        return rhs / matrix[0, 0]
    if matrix.shape == (2, 2):
        (a, b), (c, d) = matrix[0], matrix[1]
        return jnp.stack([d * rhs[0] - b * rhs[1], a * rhs[1] - c * rhs[0]]) / (a * d - b * c)
    return jnp.linalg.solve(matrix, rhs)


def _linear_solve(bm: BinnedModel, signal, variance):
    """Exact minimum of ``sum (n - mu)^2 / V + sum a^2`` for a linear model: ``(mu, pulls)``.

    The expectation is ``mu = x0 + sum_k g_k C_k``: ``g_k = 1 + sigma_k a_k`` is the factor of
    the samples under normalisation ``k`` (``C_k`` their summed nominal), ``g_j = a_j`` the
    pull of a linear shape nuisance (``C_j = sum_s slope_js nominal_s``), ``x0`` every sample
    without a normalisation. Solving for ``g`` rather than ``a`` and scaling every column of
    the augmented least-squares system ``[C / sqrt(V); diag(1 / sigma)]`` to unit norm keeps
    the solve and the value accurate when a template is ~1e12 times the data: the fitted
    signal ``g_0 C_0`` is then formed from a small, fully accurate ``g_0``.
    """
    nominal = _nominal(bm, signal)
    in_norm = jnp.sum(bm.norm_widths > 0, axis=0) > 0  # (n_samples,)
    norm_cols = (bm.norm_widths > 0).astype(nominal.dtype) @ nominal
    shape_cols = jnp.einsum("jsb,sb->jb", bm.shape_slope[bm.n_norm :], nominal)
    cols = jnp.concatenate([norm_cols, shape_cols])  # (n_pulls, n_bins)
    x0 = jnp.sum(jnp.where(in_norm[:, None], 0.0, nominal), axis=0)
    base = jnp.concatenate([jnp.ones(bm.n_norm), jnp.zeros(bm.n_pulls - bm.n_norm)])
    # The constraint (a - c)^2 centres g at 1 + sigma c (normalisations) or c (shapes).
    centre = base + bm.pull_sigma * centres(bm)
    inv_prior = 1.0 / bm.pull_sigma**2
    w = 1.0 / jnp.sqrt(variance)
    top = cols * w  # (n_pulls, n_bins)
    scale = jnp.sqrt(jnp.sum(top**2, axis=1) + inv_prior)
    top_s = top / scale[:, None]
    matrix = top_s @ top_s.T + jnp.diag(inv_prior / scale**2)
    rhs = top_s @ ((bm.observed - x0) * w) + centre * inv_prior / scale
    g = _solve_small(matrix, rhs) / scale
    mu = x0 + g @ cols
    return mu, (g - base) / bm.pull_sigma


def _newton(bm: BinnedModel, signal, start):
    f = lambda a: twice_nll(bm, signal, a)  # noqa: E731
    grad, hess = jax.grad(f), jax.hessian(f)
    steps = jnp.asarray(_STEP_SIZES)

    def newton(_, a):
        g, h = grad(a), hess(a)
        # Levenberg damping keeps the step defined where the Hessian is near singular.
        direction = jnp.linalg.solve(h + 1e-9 * jnp.eye(a.size), g)
        trials = a[None, :] - steps[:, None] * direction[None, :]
        values = jax.vmap(f)(trials)
        values = jnp.where(jnp.isfinite(values), values, jnp.inf)
        return trials[jnp.argmin(values)]

    pulls = jax.lax.stop_gradient(jax.lax.fori_loop(0, NEWTON_STEPS, newton, jax.lax.stop_gradient(start)))
    value = f(pulls)
    converged = jnp.isfinite(value) & (jnp.max(jnp.abs(grad(pulls))) < GRADIENT_TOLERANCE)
    return Profiled(value=value, pulls=pulls, converged=converged)


def profile(bm: BinnedModel, signal, init=None) -> Profiled:
    """Minimise the statistic over the pulls (jit- and vmap-friendly).

    * ``"chi2"`` on a linear model (:attr:`BinnedModel.linear`): the exact solve of
      :func:`_linear_solve`, differentiable end to end (pulls included);
    * otherwise damped Newton steps, a fixed number (:data:`NEWTON_STEPS`) so that every point
      of a vmapped scan costs the same; each step tries a few step lengths and keeps the best,
      so the value never increases. Started at ``init``, or for a linear Poisson model at the
      exact solution of its Gaussian approximation (variances ``max(n, 1)``). The value is
      differentiable in ``signal`` with the pulls held at the optimum (envelope theorem).
    """
    signal = jnp.asarray(signal)
    if bm.n_pulls == 0:
        value = twice_nll(bm, signal, jnp.zeros(0))
        return Profiled(value=value, pulls=jnp.zeros(0), converged=jnp.isfinite(value))
    if bm.linear and bm.statistic == "chi2" and init is None:
        mu, pulls = _linear_solve(bm, signal, bm.variance)
        value = _data_term(bm, mu) + _constraint(bm, pulls)
        ok = jnp.isfinite(value) & jnp.all(jnp.isfinite(pulls))
        return Profiled(value=value, pulls=pulls, converged=ok)
    if init is not None:
        start = jnp.asarray(init, dtype=jnp.float64)
    elif bm.linear:
        start = _linear_solve(bm, signal, jnp.maximum(bm.observed, 1.0))[1]
        start = jnp.where(jnp.isfinite(start), start, 0.0)
    else:
        start = jnp.zeros(bm.n_pulls)
    return _newton(bm, signal, start)


def to_pyhf(bm: BinnedModel, signal, **kwargs) -> dict:
    """A pyhf JSON workspace of ``bm`` with the signal as a sample with POI ``mu``; see
    :func:`jcevns.pyhf_export.to_pyhf` for the mapping and what differs."""
    from .pyhf_export import to_pyhf as export

    return export(bm, signal, **kwargs)

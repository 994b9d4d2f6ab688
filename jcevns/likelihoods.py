"""Test statistics of the reference analyses, with nuisance pulls profiled exactly.

* CsI 2017 (seed 003 eq. 10): twelve bins,
  ``chi2 = sum_i ((N_i - S_i (1 + a1) - B0n_i (1 + a2)) / sigma_i)^2 + (a1/s1)^2 + (a2/s2)^2``
  with ``sigma_i^2 = N_i + B0n_i + 2 Bss_i``; ``s1 = 0.28`` (old QF, Science 2017) or
  ``0.128`` (new QF), ``s2 = 0.25``. For R_n fits seed 003 footnote 4 drops the 5 %
  form-factor term from ``s1`` (removed in quadrature).
* LAr CENNS-10 (seed 000 eq. 3.1): one bin,
  ``chi2 = (N_meas - N_th (1 + a))^2 / (N_meas + N_BRN) + (a / 0.085)^2``.

Both are quadratic in the pulls, so the minimum over the pulls is a small linear solve, done
inside the jitted function (no optimiser). The ``"poisson"`` statistic is
``-2 ln L = 2 sum (mu - n + n ln(n / mu)) + sum (a_k / s_k)^2`` for the beam-on counts
(``n = N_meas + Bss`` with ``mu = S (1 + a1) + B0n (1 + a2) + Bss`` for CsI, ``n = N_meas + N_BRN``
for LAr), profiled by Newton iterations started at the chi-square solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from .analyses import Analysis
from .forward import _predict_kernel, _prepare
from .params import Params

STATISTICS = ("chi2", "poisson")

#: Signal normalisation uncertainty per analysis: seed 003 below eq. 10 (0.28 old QF, from
#: Science 2017; 0.128 new QF) and seed 000 below eq. 3.1 (8.5 %).
SIGMA_SIGNAL = {"csi2017-oldqf": 0.28, "csi2017-newqf": 0.128, "lar2020": 0.085}
#: Prompt-neutron background normalisation uncertainty, seed 003 below eq. 10.
SIGMA_BACKGROUND = 0.25
#: Form-factor share of the CsI signal uncertainty, seed 003 below eq. 10 (5 %).
FORM_FACTOR_SIGMA = 0.05

_NEWTON_STEPS = 30


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Likelihood:
    """The test statistic of one analysis.

    Build with :func:`likelihood`. Attributes are the analysis (a pytree leaf container) and
    static settings: the statistic name and the pull widths.
    """

    analysis: Analysis
    statistic: str = field(default="chi2", metadata=dict(static=True))
    sigma_pulls: tuple = field(default=(), metadata=dict(static=True))

    @property
    def pull_names(self) -> tuple[str, ...]:
        """Names of the nuisance pulls: ``("a1", "a2")`` for CsI, ``("alpha",)`` for LAr."""
        return ("a1", "a2") if self.analysis.name.startswith("csi2017") else ("alpha",)


def likelihood(
    analysis: Analysis,
    statistic: str = "chi2",
    *,
    sigma_signal: float | None = None,
    sigma_background: float = SIGMA_BACKGROUND,
    drop_form_factor_uncertainty: bool = False,
) -> Likelihood:
    """The reference test statistic of an analysis.

    Args:
        analysis: from :func:`jcevns.build`.
        statistic: ``"chi2"`` (the papers' definitions) or ``"poisson"``.
        sigma_signal: signal normalisation uncertainty (default per analysis,
            :data:`SIGMA_SIGNAL`).
        sigma_background: CsI prompt-neutron normalisation uncertainty (0.25).
        drop_form_factor_uncertainty: remove the 5 % form-factor term from ``sigma_signal`` in
            quadrature, as seed 003 does for its R_n fit (footnote 4).

    Raises:
        ValueError: unknown statistic or non-positive widths.
    """
    if not isinstance(analysis, Analysis):
        raise ValueError(f"analysis must be a jcevns.Analysis, got {type(analysis).__name__}")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    s1 = SIGMA_SIGNAL[analysis.name] if sigma_signal is None else float(sigma_signal)
    if drop_form_factor_uncertainty:
        if s1 <= FORM_FACTOR_SIGMA:
            raise ValueError(f"sigma_signal = {s1} is too small to remove a {FORM_FACTOR_SIGMA} term")
        s1 = math.sqrt(s1**2 - FORM_FACTOR_SIGMA**2)
    widths = (s1, float(sigma_background)) if analysis.name.startswith("csi2017") else (s1,)
    if not all(w > 0 for w in widths):
        raise ValueError(f"pull widths must be positive, got {widths}")
    return Likelihood(analysis=analysis, statistic=statistic, sigma_pulls=widths)


def _pull_templates(lik: Likelihood, signal):
    """``(n_obs, fixed, templates)``: observed counts, the pull-free expectation and one
    template per pull, each ``(n_bins,)``, plus the chi-square variances."""
    d = lik.analysis.data
    if lik.analysis.name.startswith("csi2017"):
        templates = jnp.stack([signal, d["b_0n"]])
        variance = d["n_meas"] + d["b_0n"] + 2.0 * d["b_ss"]
        background_fixed = d["b_ss"]
    else:
        templates = signal[None, :]
        variance = d["n_meas"] + d["n_brn"]
        background_fixed = d["n_brn"]
    return templates, variance, background_fixed


def _pull_centres(lik: Likelihood):
    """Centres of the Gaussian pull constraints: 0 for data; a toy's generated auxiliary
    measurements (``analysis.data["pull_centres"]``, see :mod:`jcevns.generators`)."""
    return lik.analysis.data.get("pull_centres", jnp.zeros(len(lik.sigma_pulls)))


def _solve_small(matrix, rhs):
    """``matrix^-1 rhs`` for the 1x1 and 2x2 positive-definite pull systems, in closed form:
    under ``vmap`` over a million scan points a batched LAPACK solve costs more than the rest of
    the statistic."""
    if matrix.shape == (1, 1):
        return rhs / matrix[0, 0]
    if matrix.shape == (2, 2):
        (a, b), (c, d) = matrix[0], matrix[1]
        det = a * d - b * c
        return jnp.stack([d * rhs[0] - b * rhs[1], a * rhs[1] - c * rhs[0]]) / det
    return jnp.linalg.solve(matrix, rhs)


def _chi2_profiled(lik: Likelihood, signal):
    """Minimum over the pulls of the Gaussian chi-square, and the pulls (closed form)."""
    templates, variance, _ = _pull_templates(lik, signal)
    n = lik.analysis.data["n_meas"]
    inv_prior = jnp.array([1.0 / s**2 for s in lik.sigma_pulls])
    residual = n - jnp.sum(templates, axis=0)
    tw = templates / variance
    matrix = tw @ templates.T + jnp.diag(inv_prior)
    rhs = tw @ residual + inv_prior * _pull_centres(lik)
    pulls = _solve_small(matrix, rhs)
    # Evaluate at the solution rather than r'Wr - a'(TWr): the latter cancels catastrophically
    # (even below zero) when the signal is many orders above the data, e.g. at large couplings.
    return _chi2_at(lik, signal, pulls), pulls


def _chi2_at(lik: Likelihood, signal, pulls):
    templates, variance, _ = _pull_templates(lik, signal)
    n = lik.analysis.data["n_meas"]
    resid = n - jnp.sum(templates * (1.0 + pulls[:, None]), axis=0)
    priors = jnp.sum(((pulls - _pull_centres(lik)) / jnp.array(lik.sigma_pulls)) ** 2)
    return jnp.sum(resid**2 / variance) + priors


def _poisson_at(lik: Likelihood, signal, pulls):
    templates, _, fixed = _pull_templates(lik, signal)
    n_obs = lik.analysis.data["n_meas"] + fixed
    mu = jnp.sum(templates * (1.0 + pulls[:, None]), axis=0) + fixed
    # n ln(n / mu) -> 0 for n = 0 (double where keeps the gradient finite).
    safe_n = jnp.where(n_obs > 0, n_obs, 1.0)
    log_term = jnp.where(n_obs > 0, n_obs * jnp.log(safe_n / mu), 0.0)
    priors = jnp.sum(((pulls - _pull_centres(lik)) / jnp.array(lik.sigma_pulls)) ** 2)
    return 2.0 * jnp.sum(mu - n_obs + log_term) + priors


def _poisson_profiled(lik: Likelihood, signal):
    _, pulls0 = _chi2_profiled(lik, signal)
    f = lambda a: _poisson_at(lik, signal, a)  # noqa: E731
    grad, hess = jax.grad(f), jax.hessian(f)

    def step(_, a):
        return a - jnp.linalg.solve(hess(a), grad(a))

    pulls = jax.lax.fori_loop(0, _NEWTON_STEPS, step, pulls0)
    # Envelope theorem: the value at the optimum does not depend on how the pulls moved, so
    # stop gradients through the iterations (cheaper, identical at convergence).
    pulls = jax.lax.stop_gradient(pulls)
    return f(pulls), pulls


def _statistic_from_signal(lik: Likelihood, signal):
    if lik.statistic == "chi2":
        return _chi2_profiled(lik, signal)
    return _poisson_profiled(lik, signal)


@jax.jit
def _profiled_kernel(params: Params, lik: Likelihood):
    return _statistic_from_signal(lik, _predict_kernel(params, lik.analysis))


@jax.jit
def _fixed_pulls_kernel(params: Params, pulls, lik: Likelihood):
    signal = _predict_kernel(params, lik.analysis)
    at = _chi2_at if lik.statistic == "chi2" else _poisson_at
    return at(lik, signal, pulls)


def profiled(params: Params, lik: Likelihood):
    """Test statistic minimised over the nuisance pulls, and the pulls at the minimum.

    Args:
        params: physics parameters (validated when concrete).
        lik: from :func:`likelihood`.

    Returns:
        ``(value, pulls)``: scalar chi-square (or -2 ln L) and the ``(n_pulls,)`` best pulls.
    """
    return _profiled_kernel(_prepare(params, lik.analysis), lik)


def statistic(params: Params, lik: Likelihood):
    """Test statistic with the pulls profiled exactly (scalar, differentiable)."""
    return profiled(params, lik)[0]


def statistic_at_pulls(params: Params, pulls, lik: Likelihood):
    """Test statistic at given pulls (not profiled), e.g. for an optimiser or a sampler.

    Args:
        pulls: ``(n_pulls,)`` array in :attr:`Likelihood.pull_names` order.
    """
    pulls = jnp.asarray(pulls, dtype=jnp.float64)
    if pulls.shape != (len(lik.sigma_pulls),):
        raise ValueError(f"pulls must have shape ({len(lik.sigma_pulls)},) for {lik.pull_names}, got {pulls.shape}")
    return _fixed_pulls_kernel(_prepare(params, lik.analysis), pulls, lik)

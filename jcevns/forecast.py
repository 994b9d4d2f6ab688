"""Forecasts: Asimov data and Fisher matrices of any likelihood, combinations included.

The Asimov data set (Cowan, Cranmer, Gross, Vitells, EPJC 71 1554 (2011), arXiv:1007.1727)
replaces the observed counts by their expectation at chosen parameters with every nuisance at
its nominal value, so the statistic's minimum (zero) sits at those parameters and its curvature
there is the expected precision. :func:`fisher` is that curvature: half the Hessian of
``-2 ln L`` (the chi-square) in the physics parameters and the nuisance pulls, one
``jax.hessian`` of the forward model, with the pulls marginalised through the Schur complement
``F = F_tt - F_ta F_aa^-1 F_at`` (equal to the Hessian of the profiled statistic at the Asimov
point). ``covariance = F^-1``; ``sigma`` its square-rooted diagonal: the expected 1 sigma of
each parameter with the others free, in the Gaussian approximation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import binned
from .combined import CombinedLikelihood
from .forward import _predict_kernel, _prepare
from .likelihoods import Likelihood, _statistic_at
from .params import SPECS, Params, with_own_radii


def asimov(lik, params: Params | None = None):
    """``lik`` with its observed counts replaced by the expectation at ``params`` (pulls zero).

    Args:
        lik: a likelihood or a combination (each component gets its own Asimov data).
        params: the true parameters (default: the analysis' reference point).

    Returns:
        A likelihood of the same kind; its statistic is zero at ``params``.
    """
    params = lik.analysis.params() if params is None else params
    if isinstance(lik, CombinedLikelihood):
        parts = tuple(asimov(c, params) for c in lik.components)
        return dataclasses.replace(lik, components=parts)
    if not isinstance(lik, Likelihood):
        raise ValueError(f"no Asimov data for a {type(lik).__name__}")
    signal = _predict_kernel(_prepare(params, lik.analysis), lik.analysis)
    bm = lik.model
    mu = binned.expected(bm, signal, jnp.zeros(bm.n_pulls))
    bm = dataclasses.replace(bm, observed=mu)
    if bm.statistic == "chi2":
        # The papers' variances are built from the observed counts: rebuild them from the
        # Asimov ones (the chi-square observes the counts with subtracted backgrounds removed).
        spec = lik.analysis.experiment.likelihood
        data = dict(lik.analysis.data) | {spec.observed: mu}
        bm = dataclasses.replace(bm, variance=sum(c * jnp.asarray(data[k]) for k, c in spec.chi2_variance))
    return dataclasses.replace(lik, model=bm)


@dataclass(frozen=True)
class Forecast:
    """Result of :func:`fisher`.

    Attributes:
        names: the parameters.
        values: their values at the Asimov point.
        fisher: ``(n, n)`` Fisher matrix with the nuisance pulls marginalised.
        covariance: its inverse.
        sigma: ``(n,)`` expected 1 sigma per parameter (the others free).
        correlation: ``(n, n)``.
    """

    names: tuple[str, ...]
    values: np.ndarray
    fisher: np.ndarray
    covariance: np.ndarray
    sigma: np.ndarray
    correlation: np.ndarray

    def to_dict(self) -> dict:
        """The ``jcevns forecast --json`` form."""
        return {
            "params": {
                n: {"value": float(v), "sigma": float(s)} for n, v, s in zip(self.names, self.values, self.sigma)
            },
            "correlation": self.correlation.tolist(),
            "covariance": self.covariance.tolist(),
        }


def fisher(lik, params: Params | None = None, names=("sin2w",), *, use_asimov: bool = True) -> Forecast:
    """Fisher matrix and covariance of ``names`` at ``params``, nuisances marginalised.

    Args:
        lik: a likelihood or a combination (:func:`jcevns.combine`).
        params: the Asimov point (default: the analysis' reference point).
        names: physics parameters (:data:`jcevns.SPECS`), e.g. ``("sin2w", "rn")``.
        use_asimov: evaluate on Asimov data at ``params`` (default); ``False`` uses the observed
            data as they are (the curvature at ``params``, meaningful at the best fit).

    Raises:
        ValueError: unknown or repeated names, or a singular Fisher matrix (a parameter the
            data do not constrain at this point, e.g. a coupling at exactly zero, which enters
            only squared).

    Example:
        >>> import jcevns
        >>> f = jcevns.fisher(jcevns.likelihood(jcevns.build("csi2017-newqf")), names=["sin2w"])
        >>> round(float(f.sigma[0]), 3)
        0.041
    """
    names, theta0, info = _information(lik, params, names, use_asimov)
    if not np.all(np.isfinite(info)) or np.any(np.linalg.eigvalsh(info) <= 1e-12 * np.max(np.abs(info))):
        raise ValueError(
            f"the Fisher matrix of {list(names)} is singular at this point: the data do not constrain every "
            "parameter here (e.g. more parameters than bins, or a coupling at exactly zero, which enters only squared)"
        )
    cov = np.linalg.inv(info)
    sigma = np.sqrt(np.diag(cov))
    return Forecast(names, np.asarray(theta0), info, cov, sigma, cov / np.outer(sigma, sigma))


def fisher_matrix(lik, params: Params | None = None, names=("sin2w",), *, use_asimov: bool = True) -> np.ndarray:
    """The Fisher matrix of :func:`fisher` (nuisances marginalised), without inverting it: it
    may be singular, e.g. for a one-bin experiment and two parameters, and still add up with
    other experiments' matrices to a regular one."""
    return _information(lik, params, names, use_asimov)[2]


def _information(lik, params, names, use_asimov):
    names = tuple(names)
    unknown = [n for n in names if n not in SPECS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(f"names must be distinct parameters from {', '.join(SPECS)}; got {list(names)}")
    params = lik.analysis.params() if params is None else params
    if use_asimov:
        lik = asimov(lik, params)
    params = with_own_radii(_prepare(params, lik.analysis), names)
    theta0 = jnp.asarray([getattr(params, n) for n in names], dtype=jnp.float64)
    n_pulls = len(lik.sigma_pulls)
    x0 = jnp.concatenate([theta0, jnp.zeros(n_pulls)])
    full = 0.5 * np.asarray(_hessian(params, lik, x0, names))
    k = len(names)
    f_tt, f_ta, f_aa = full[:k, :k], full[:k, k:], full[k:, k:]
    info = f_tt - f_ta @ np.linalg.solve(f_aa, f_ta.T) if n_pulls else f_tt
    info = 0.5 * (info + info.T)
    return names, theta0, info


@partial(jax.jit, static_argnames=("names",))
def _hessian(params: Params, lik, x0, names: tuple):
    """Hessian of the statistic in ``(names..., pulls...)`` at ``x0`` (compiled once per
    likelihood structure and names)."""

    def chi2(x):
        p = params.replace(**{n: x[i] for i, n in enumerate(names)})
        return _statistic_at(lik, _predict_kernel(p, lik.analysis), x[len(names) :])

    return jax.hessian(chi2)(x0)

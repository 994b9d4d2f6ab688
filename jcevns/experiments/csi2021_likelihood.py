"""Binned Poisson likelihood of the CsI 2021 analysis (PE x arrival time) with nuisances.

Samples (:mod:`jcevns.binned`): the CEvNS signal (from the forward model), the smooth
steady-state template, the beam-related and the neutrino-induced neutrons
(:mod:`.csi2021_backgrounds`). Gaussian-constrained nuisances:

* ``flux``: 10 % CEvNS normalisation (neutrino yield per POT of the COHERENT releases); left out
  when the CEvNS count itself is fitted (it would only rescale the fitted strength);
* ``ss_norm`` 2.1 %, ``brn_norm`` 25 %, ``nin_norm`` 36 % (the release's background uncertainties);
* ``qf0``, ``qf1``: the two systematic quenching models of the release (their +-1 sigma curves as
  shape-and-rate templates of the signal);
* ``eff``: the release's two efficiency variants as the +-1 sigma signal templates;
* ``cevns_time``: a shift of the neutrino arrival times by +-:data:`TIME_OFFSET_SIGMA_US` (the time
  zero is fitted to the NIN template; the width covers variants of that fit);
* ``brn_time``: a shift of the BRN arrival-time template by +-:data:`BRN_TIME_SIGMA_US`.

The same nuisances (with shipped templates) make the registered description's likelihood
(``jcevns.likelihood(jcevns.build("csi2021"))``). The fits here use :func:`fit` (Fisher scoring
on the signal strength and all pulls, any subset held fixed; jit- and vmap-friendly, with a
convergence flag) on a :class:`Compact` copy of the model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from .. import binned, forward
from . import csi2021 as base
from . import csi2021_backgrounds as bkg

#: Width of the CEvNS timing nuisance [us]: the time zero comes from the NIN template (0.533 us);
#: 0.1 us covers variants of that fit and neutron transit times (docs/datasets/csi2021.md).
TIME_OFFSET_SIGMA_US = 0.1
#: Width of the BRN timing nuisance [us]: events above 60 PE constrain a BRN shift only to about +-0.1 us.
BRN_TIME_SIGMA_US = 0.1
#: Iterations of :func:`fit` from a cold start, and how many of them are Fisher-scoring steps
#: before the exact Newton steps take over (quadratic convergence near the minimum).
NEWTON_STEPS = 12
FISHER_STEPS = 3
_STEPS = jnp.asarray((1.0, 0.5, 0.25, 0.1, 0.0))


@lru_cache(maxsize=8)
def shape_ratios(time_sigma: float = TIME_OFFSET_SIGMA_US, brn_time_sigma: float = BRN_TIME_SIGMA_US) -> dict:
    """``{name: (sample, up, down)}``: per-bin ratios of the +-1 sigma templates to the nominal
    ones, for the signal at the SM (quenching models, efficiency, timing) and the BRN timing."""
    nominal = base.build()
    p = nominal.params()
    ref = np.asarray(forward.predict(p, nominal))

    def ratio(var, ref):
        return np.where(ref > 0, var / np.where(ref > 0, ref, 1.0), 1.0)

    def signal(**opts):
        return ratio(base.variant_counts(p, nominal, **opts), ref)

    brn = bkg.neutron_template("brn")
    return {
        "qf0": ("cevns", signal(qf="model0_plus"), signal(qf="model0_minus")),
        "qf1": ("cevns", signal(qf="model1_plus"), signal(qf="model1_minus")),
        "eff": ("cevns", signal(efficiency="plus"), signal(efficiency="minus")),
        "cevns_time": ("cevns", signal(time_offset_us=time_sigma), signal(time_offset_us=-time_sigma)),
        "brn_time": ("brn", ratio(bkg.neutron_template("brn", brn_time_sigma), brn),
                     ratio(bkg.neutron_template("brn", -brn_time_sigma), brn)),
    }


def background_templates() -> dict:
    return {"ss": bkg.ss_template(), "brn": bkg.neutron_template("brn"), "nin": bkg.neutron_template("nin")}


def binned_model(observed=None, *, flux: bool = True, timing: bool = True, shapes: bool = True,
                 time_sigma: float = TIME_OFFSET_SIGMA_US, brn_time_sigma: float = BRN_TIME_SIGMA_US):
    """The :class:`jcevns.binned.BinnedModel` of the analysis.

    Args:
        observed: counts ``(n_PE * n_t,)``; default the coincidence data.
        flux: include the 10 % CEvNS normalisation nuisance.
        timing: include the CEvNS and BRN timing nuisances.
        shapes: include the quenching and efficiency shape nuisances.
    """
    k = base.constants()
    b = k["backgrounds"]
    obs = base.histogram("C").ravel() if observed is None else observed
    t = background_templates()
    samples = [binned.Sample("cevns"), *(binned.Sample(n, v) for n, v in t.items())]
    mods = [binned.NormSys("flux", ("cevns",), k["nu_per_pot_relative_uncertainty"])] if flux else []
    mods += [
        binned.NormSys("ss_norm", ("ss",), b["ss_relative_uncertainty"]),
        binned.NormSys("brn_norm", ("brn",), b["brn_relative_uncertainty"]),
        binned.NormSys("nin_norm", ("nin",), b["nin_relative_uncertainty"]),
    ]
    ratios = shape_ratios(float(time_sigma), float(brn_time_sigma))
    names = (("qf0", "qf1", "eff") if shapes else ()) + (("cevns_time", "brn_time") if timing else ())
    mods += [binned.ShapeSys(n, ratios[n][0], ratios[n][1], ratios[n][2]) for n in names]
    return binned.model(obs, samples, mods)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Compact:
    """A :class:`jcevns.binned.BinnedModel` with each shape nuisance stored only for the sample it
    acts on: ``shape_slope``/``shape_curvature`` ``(n_pulls, n_bins)`` and ``shape_sample``
    ``(n_pulls, n_samples)`` one-hot (zero rows for normalisation pulls). Same expectation as
    :func:`jcevns.binned.expected`, about ``n_samples`` times fewer operations."""

    observed: jax.Array
    backgrounds: jax.Array
    norm_widths: jax.Array
    shape_slope: jax.Array
    shape_curvature: jax.Array
    shape_sample: jax.Array

    @property
    def n_pulls(self) -> int:
        return self.shape_slope.shape[0]


def compact(bm: binned.BinnedModel) -> Compact:
    slope, curv = np.asarray(bm.shape_slope), np.asarray(bm.shape_curvature)
    active = (np.abs(slope) + np.abs(curv)).sum(axis=2) > 0  # (n_pulls, n_samples)
    if np.any(active.sum(axis=1) > 1):
        raise ValueError("each shape nuisance must act on one sample")
    onehot = active.astype(np.float64)
    pick = lambda a: np.einsum("js,jsb->jb", onehot, a)  # noqa: E731
    return Compact(bm.observed, bm.backgrounds, bm.norm_widths, jnp.asarray(pick(slope)), jnp.asarray(pick(curv)),
                   jnp.asarray(onehot))


def expected(cm: Compact, signal, pulls):
    """Expected counts (as :func:`jcevns.binned.expected`)."""
    nominal = jnp.concatenate([jnp.asarray(signal)[None, :], cm.backgrounds], axis=0)
    norm = 1.0 + pulls[: cm.norm_widths.shape[0]] @ cm.norm_widths
    delta = binned._shape_delta(cm.shape_slope, cm.shape_curvature, pulls[:, None])  # (n_pulls, n_bins)
    shape = 1.0 + cm.shape_sample.T @ delta
    return jnp.sum(nominal * norm[:, None] * shape, axis=0)


def twice_nll(cm: Compact, signal, pulls):
    return binned.poisson_deviance(cm.observed, expected(cm, signal, pulls)) + jnp.sum(pulls**2)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Fit:
    """Result of :func:`fit`: ``theta = (mu, pulls...)`` at the minimum of ``-2 ln L``."""

    value: jax.Array
    theta: jax.Array
    converged: jax.Array


def _objective(cm, signal):
    return lambda th: twice_nll(cm, th[0] * signal, th[1:])


def _value_and_jacobian(cm: Compact, signal, theta):
    """Expected counts ``(n_bins,)`` and their analytic Jacobian ``(1 + n_pulls, n_bins)``."""
    mu, pulls = theta[0], theta[1:]
    nominal = jnp.concatenate([mu * signal[None, :], cm.backgrounds], axis=0)  # (n_s, n_b)
    n_norm = cm.norm_widths.shape[0]
    norm = 1.0 + pulls[:n_norm] @ cm.norm_widths  # (n_s,)
    delta = binned._shape_delta(cm.shape_slope, cm.shape_curvature, pulls[:, None])
    d_delta = cm.shape_slope + 2.0 * cm.shape_curvature * jnp.clip(pulls, -1.0, 1.0)[:, None]
    shape = 1.0 + cm.shape_sample.T @ delta  # (n_s, n_b)
    shaped = nominal * shape
    expected_counts = jnp.sum(shaped * norm[:, None], axis=0)
    j_mu = signal * shape[0] * norm[0]
    j_norm = cm.norm_widths @ shaped  # (n_norm, n_b)
    j_shape = (cm.shape_sample @ (nominal * norm[:, None])) * d_delta  # zero rows for norm pulls
    j_pulls = j_shape.at[:n_norm].add(j_norm)
    return expected_counts, jnp.concatenate([j_mu[None, :], j_pulls], axis=0)


def _curvature(cm: Compact, signal, theta, r):
    """``sum_b r_b d^2 mu_b / d theta d theta^T``: the part of the Poisson Hessian that Fisher
    scoring drops, in closed form. The expectation is linear in the strength and in each
    normalisation pull and piecewise quadratic in each shape pull, so the only second derivatives
    are strength x pull, normalisation x shape, and shape x same shape (inside ``|pull| <= 1``)."""
    mu, pulls = theta[0], theta[1:]
    nominal = jnp.concatenate([mu * signal[None, :], cm.backgrounds], axis=0)  # (n_s, n_b)
    w = cm.norm_widths  # (n_norm, n_s)
    n_norm, n_p = w.shape[0], pulls.shape[0]
    norm = 1.0 + pulls[:n_norm] @ w
    onehot = cm.shape_sample  # (n_p, n_s)
    shape = 1.0 + onehot.T @ binned._shape_delta(cm.shape_slope, cm.shape_curvature, pulls[:, None])
    d_delta = cm.shape_slope + 2.0 * cm.shape_curvature * jnp.clip(pulls, -1.0, 1.0)[:, None]
    dd_delta = 2.0 * cm.shape_curvature * (jnp.abs(pulls) <= 1.0)[:, None]
    weighted = nominal * r[None, :]  # (n_s, n_b)
    mu_norm = w[:, 0] * jnp.sum(signal * r * shape[0])
    mu_shape = onehot[:, 0] * norm[0] * (d_delta @ (signal * r))
    norm_shape = w @ (onehot.T * (weighted @ d_delta.T))  # (n_norm, n_p)
    same_shape = jnp.sum(onehot * norm[None, :] * (weighted @ dd_delta.T).T, axis=1)  # (n_p,)
    upper = jnp.zeros((1 + n_p, 1 + n_p)).at[0, 1:1 + n_norm].set(mu_norm).at[0, 1:].add(mu_shape)
    upper = upper.at[1:1 + n_norm, 1:].add(norm_shape)
    idx = jnp.arange(1, 1 + n_p)
    return (upper + upper.T).at[idx, idx].add(same_shape)


def fit(cm, signal, free=None, init=None, steps: int = NEWTON_STEPS, fisher_steps: int = FISHER_STEPS) -> Fit:
    """Minimise ``-2 ln L(mu * signal, pulls)`` over the ``free`` entries of ``theta = (mu, pulls)``.

    The first ``fisher_steps`` iterations are Fisher-scoring steps (the Poisson Hessian without
    the terms proportional to the residuals ``1 - n / mu``: always positive definite, robust far
    from the minimum); the rest are Newton steps with the exact Hessian (:func:`_curvature`), which
    converge quadratically, falling back to the Fisher step wherever the exact one is not a descent
    direction. Analytic Jacobian, and a short backtracking line search that never increases the
    value. Converged: the exact gradient of the free entries below 1e-5 (absolute).

    Args:
        cm: a :class:`Compact` model (a :class:`jcevns.binned.BinnedModel` is converted).
        signal: ``(n_bins,)`` CEvNS template.
        free: boolean mask ``(1 + n_pulls,)`` (default: all free); fixed entries keep ``init``.
        init: starting ``theta`` (default ``mu = 1``, pulls 0).
        steps: iterations (static).
        fisher_steps: how many of them are Fisher-scoring steps (static).
    """
    if isinstance(cm, binned.BinnedModel):
        cm = compact(cm)
    signal = jnp.asarray(signal)
    n = 1 + cm.n_pulls
    theta0 = jnp.concatenate([jnp.ones(1), jnp.zeros(n - 1)]) if init is None else jnp.asarray(init, jnp.float64)
    mask = jnp.ones(n) if free is None else jnp.asarray(free, jnp.float64)
    prior = jnp.concatenate([jnp.zeros(1), jnp.ones(n - 1)])
    obs = cm.observed
    f = _objective(cm, signal)

    def gradient(th):
        mu_b, jac = _value_and_jacobian(cm, signal, th)
        ratio = obs / jnp.where(mu_b > 0, mu_b, 1.0)
        return 2.0 * jac @ (1.0 - ratio) + 2.0 * prior * th, jac, ratio, mu_b

    def solve(h, g):
        h = h * mask[:, None] * mask[None, :] + jnp.diag(1.0 - mask)
        return jnp.linalg.solve(h + 1e-10 * jnp.eye(n), g * mask)

    def step(k, th):
        g, jac, ratio, mu_b = gradient(th)
        fisher = 2.0 * (jac * (ratio / jnp.where(mu_b > 0, mu_b, 1.0))[None, :]) @ jac.T + 2.0 * jnp.diag(prior)
        d_fisher = solve(fisher, g)
        d_exact = solve(fisher + _curvature(cm, signal, th, 2.0 * (1.0 - ratio)), g)
        use_exact = (k >= fisher_steps) & (g @ d_exact > 0) & jnp.all(jnp.isfinite(d_exact))
        d = jnp.where(use_exact, d_exact, d_fisher)
        trials = th[None, :] - _STEPS[:, None] * d[None, :]
        vals = jax.vmap(f)(trials)
        return trials[jnp.argmin(jnp.where(jnp.isfinite(vals), vals, jnp.inf))]

    theta = jax.lax.fori_loop(0, steps, step, theta0)
    value = f(theta)
    converged = jnp.isfinite(value) & (jnp.max(jnp.abs(gradient(theta)[0] * mask)) < 1e-5)
    return Fit(value=value, theta=theta, converged=converged)


_fit_jit = jax.jit(fit, static_argnames=("steps", "fisher_steps"))


def fit_jit(cm, signal, free=None, init=None, steps: int = NEWTON_STEPS, fisher_steps: int = FISHER_STEPS) -> Fit:
    """Jitted :func:`fit` (a :class:`jcevns.binned.BinnedModel` is converted first)."""
    cm = compact(cm) if isinstance(cm, binned.BinnedModel) else cm
    return _fit_jit(cm, signal, free, init, steps=steps, fisher_steps=fisher_steps)


@jax.jit
def _profile_scan(cm: Compact, signal, index, values, theta):
    free = jnp.ones(1 + cm.n_pulls).at[index].set(0.0)
    return jax.vmap(lambda v: fit(cm, signal, free, theta.at[index].set(v)))(values)


def profile_scan(bm, signal, index: int, values, best: Fit):
    """Profiled ``-2 ln L`` with ``theta[index]`` held at each of ``values`` (vmapped; one
    compilation for every index and grid of the same length)."""
    cm = compact(bm) if isinstance(bm, binned.BinnedModel) else bm
    return _profile_scan(cm, jnp.asarray(signal), index, jnp.asarray(values, jnp.float64), best.theta)


def profile_interval(bm, signal, index: int, best: Fit, level: float = 1.0, n: int = 81) -> tuple[float, float]:
    """Where the profiled ``Delta(-2 ln L)`` in ``theta[index]`` crosses ``level``: a grid of
    ``n`` points over +-4 Gaussian widths (from the Fisher matrix at the best fit), linearly
    interpolated, then refined once by evaluating the profile at the two ends."""
    cm = compact(bm) if isinstance(bm, binned.BinnedModel) else bm
    _, jac = _value_and_jacobian(cm, jnp.asarray(signal), best.theta)
    mu_b = expected(cm, best.theta[0] * jnp.asarray(signal), best.theta[1:])
    prior = jnp.concatenate([jnp.zeros(1), jnp.ones(cm.n_pulls)])
    fisher = 2.0 * (jac * (cm.observed / mu_b**2)[None, :]) @ jac.T + 2.0 * jnp.diag(prior)
    width = float(np.sqrt(2.0 * np.linalg.inv(np.asarray(fisher))[index, index]))
    grid = float(best.theta[index]) + width * np.sqrt(level) * np.linspace(-4.0, 4.0, n)
    scan = profile_scan(cm, signal, index, grid, best)
    ends = np.array(crossing_interval(grid, np.asarray(scan.value) - float(best.value), level))
    # one refinement: the profile is near-parabolic, so rescale each end by sqrt(level / Delta)
    centre = float(best.theta[index])
    ok = np.isfinite(ends)
    probe = np.where(ok, ends, centre + width)
    delta = np.asarray(profile_scan(cm, signal, index, probe, best).value) - float(best.value)
    refined = centre + (probe - centre) * np.sqrt(level / np.maximum(delta, 1e-12))
    return tuple(float(x) for x in np.where(ok, refined, np.nan))


def crossing_interval(x, delta, level: float = 1.0) -> tuple[float, float]:
    """Where a profiled ``Delta(-2 ln L)`` curve on a grid crosses ``level`` (linear interpolation)."""
    x, delta = np.asarray(x), np.asarray(delta)
    i = int(np.argmin(delta))
    lo = hi = np.nan
    for j in range(i, 0, -1):
        if delta[j - 1] >= level > delta[j] or delta[j - 1] > level >= delta[j]:
            lo = x[j - 1] + (level - delta[j - 1]) * (x[j] - x[j - 1]) / (delta[j] - delta[j - 1])
            break
    for j in range(i, len(x) - 1):
        if delta[j] < level <= delta[j + 1]:
            hi = x[j] + (level - delta[j]) * (x[j + 1] - x[j]) / (delta[j + 1] - delta[j])
            break
    return float(lo), float(hi)


def toys(bm: binned.BinnedModel, signal, mu_true: float, n_toys: int, seed: int = 0):
    """Fit ``n_toys`` Poisson pseudo-data sets drawn at ``mu_true`` and nominal pulls (vmapped).

    Returns ``(mu_hat, converged)`` arrays."""
    cm = compact(bm)
    truth = expected(cm, mu_true * jnp.asarray(signal), jnp.zeros(cm.n_pulls))
    counts = jax.random.poisson(jax.random.PRNGKey(seed), truth, shape=(n_toys, truth.size)).astype(jnp.float64)

    def one(obs):
        r = fit(dataclasses.replace(cm, observed=obs), signal)
        return r.theta[0], r.converged

    return jax.jit(jax.vmap(one))(counts)


def time_zero_scan(pot_means_us, exp=None):
    """Profiled ``-2 ln L`` of the coincidence data (signal strength and all non-timing nuisances
    free) for each POT mean [us]: the data's own measurement of the time zero."""
    exp = base.build() if exp is None else exp
    p = exp.params()
    bm = binned_model(flux=False, timing=False)
    return np.array([float(fit_jit(bm, jnp.asarray(base.variant_counts(p, exp, pot_mean_us=float(x)))).value)
                     for x in pot_means_us])

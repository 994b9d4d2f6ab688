"""Fits of the CsI 2021 analysis: CEvNS count, significance, cross section and physics scans.

Every statistic is ``-2 ln L`` of :mod:`.csi2021_likelihood` with all nuisances profiled at each
point (vmapped damped Newton, with convergence flags). Physics scans keep the CEvNS strength at 1
and include the 10 % flux nuisance; the count fit frees the strength and drops it.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import binned, flux, forward
from ..analyses import _recoil_grid
from ..forward import recoil_spectrum
from ..params import as_float64
from . import csi2021_likelihood as lik

#: Points per vmapped batch (bounds memory of the 1e5-point planes).
BATCH = 4096


def _physics_mask(bm) -> jax.Array:
    return jnp.zeros(1 + bm.n_pulls).at[1:].set(1.0)


#: Fisher-scoring iterations per scan point (warm-started at the profiled pulls of the reference
#: point; the convergence flags report any point that needs more).
SCAN_STEPS = 20


def _run(cm, mask, init, pts, batch, signal_of, steps):
    def one(x):
        r = lik.fit(cm, signal_of(x), mask, init, steps=steps)
        return r.value, r.converged

    return jax.lax.map(one, pts, batch_size=min(batch, pts.shape[0]))


def _with(p0, names, x):
    return p0.replace(**{n: x[i] for i, n in enumerate(names)})


@functools.partial(jax.jit, static_argnames=("names", "batch", "steps"))
def _template_run(cm, tmpl, p0, names, pts, mask, init, batch, steps):
    return _run(cm, mask, init, pts, batch, lambda x: forward.predict_from_templates(_with(p0, names, x), tmpl), steps)


@functools.partial(jax.jit, static_argnames=("names", "batch", "steps"))
def _full_run(cm, analysis, p0, names, pts, mask, init, batch, steps):
    return _run(cm, mask, init, pts, batch, lambda x: forward._predict_kernel(_with(p0, names, x), analysis), steps)


def _scan(run, first_signal, bm, p0, names, points, batch, payload):
    """Profiled statistic (strength fixed at 1) warm-started at the profiled pulls of the first
    point; compiled once per analysis, parameter names, grid shape and batch."""
    cm = lik.compact(bm) if isinstance(bm, binned.BinnedModel) else bm
    pts = jnp.asarray(np.atleast_2d(np.asarray(points, dtype=np.float64).T).T)
    mask = _physics_mask(cm)
    start = lik.fit_jit(cm, first_signal(_with(p0, names, pts[0])), mask)
    value, ok = run(cm, payload, p0, names, pts, mask, start.theta, min(batch, pts.shape[0]), SCAN_STEPS)
    return np.asarray(value), np.asarray(ok)


def template_scan(exp, bm, names: tuple[str, ...], points, base_params=None, batch: int = BATCH):
    """Profiled statistic over ``points`` ``(n, len(names))`` of parameters that leave the recoil
    shape alone (sin2w, NSI, magnetic moments, charge radii, couplings): event templates."""
    p0 = as_float64(exp.params() if base_params is None else base_params)
    tmpl = forward.event_templates(p0, exp)
    return _scan(_template_run, lambda p: forward.predict_from_templates(p, tmpl), bm, p0, tuple(names), points,
                 batch, tmpl)


def full_scan(exp, bm, names: tuple[str, ...], points, base_params=None, batch: int = 256):
    """As :func:`template_scan` for any parameter (``rn``, mediator masses): full predictions."""
    p0 = as_float64(exp.params() if base_params is None else base_params)
    return _scan(_full_run, lambda p: forward.predict(p, exp), bm, p0, tuple(names), points, batch, exp)


def strength_fit(bm, signal) -> dict:
    """Best-fit strength, its profile-likelihood 1 sigma and the significance against zero."""
    cm = lik.compact(bm)
    best = lik.fit_jit(cm, jnp.asarray(signal))
    lo, hi = lik.profile_interval(cm, signal, 0, best)
    zero = lik.fit_jit(cm, jnp.asarray(signal), jnp.ones(1 + cm.n_pulls).at[0].set(0.0), best.theta.at[0].set(0.0))
    d0 = max(float(zero.value - best.value), 0.0)
    return {
        "mu": float(best.theta[0]),
        "mu_1sigma": [lo, hi],
        "pulls": dict(zip(bm.pull_names, np.asarray(best.theta[1:]).tolist())),
        "twice_nll": float(best.value),
        "significance_sigma": float(np.sqrt(d0)),
        "converged": bool(best.converged) and bool(zero.converged),
        "best": best,
    }


def component_counts(bm, signal, fit: dict) -> dict:
    """Fitted events per sample in the ROI with profile-likelihood 1 sigma errors:
    ``{"cevns": [value, error], "ss": ..., "brn": ..., "nin": ...}`` (a background's error is
    its normalisation pull's profile interval times its fitted count's sensitivity to it)."""
    cm = lik.compact(bm)
    best = fit["best"]
    pulls = best.theta[1:]
    sig = jnp.asarray(signal)

    def count(k):
        keep = (jnp.arange(1 + cm.backgrounds.shape[0]) == k).astype(jnp.float64)
        only = dataclasses.replace(cm, backgrounds=cm.backgrounds * keep[1:, None])
        return float(jnp.sum(lik.expected(only, best.theta[0] * sig * keep[0], pulls)))

    # CEvNS: the count at the best fit (shape pulls included) scales with the strength
    value = count(0)
    lo, hi = fit["mu_1sigma"]
    out = {"cevns": [value, 0.5 * (hi - lo) * value / fit["mu"]]}
    for k, name in enumerate(bm.sample_names[1:], start=1):
        value = count(k)
        j = bm.pull_names.index(f"{name}_norm")
        width = float(cm.norm_widths[j, k])
        lo, hi = lik.profile_interval(cm, signal, 1 + j, best)
        out[name] = [value, 0.5 * (hi - lo) * width * value / (1.0 + width * float(pulls[j]))]
    return out


def flux_averaged_xsec_1e40(exp, params=None) -> float:
    """SM flux-averaged CEvNS cross section per CsI nucleus (Cs and I averaged by number)
    [1e-40 cm^2]: all recoils, no detector response, the three SNS flavours with equal weight."""
    an = exp
    p = an.params() if params is None else params
    t_max = float(max(flux.t_max(52.9, n.mass_mev) for n in an.detector.nuclei))
    det = dataclasses.replace(an.detector, t_edges_mev=tuple(np.geomspace(1e-9, t_max, 40)), breakpoints_mev=())
    nodes, weights, _, moments = _recoil_grid(det, an.config)
    full = dataclasses.replace(an, t_nodes=jnp.asarray(nodes), bin_matrix=jnp.asarray(weights[None, :]),
                               moments=jnp.asarray(moments), bin_factors=jnp.ones((3, 1, 1)), data={})
    events = float(jnp.sum(recoil_spectrum(p, full) @ full.bin_matrix.T))
    e = an.config.exposure
    fluence = 3 * flux.normalisation_per_cm2(e.nu_per_pot, e.n_pot, e.distance_m)
    return events / (sum(an.detector.n_targets) * fluence) / 1e-40

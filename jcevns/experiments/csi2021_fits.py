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
from jax.sharding import PartitionSpec

from .. import binned, flux, forward, sharding
from ..analyses import _recoil_grid
from ..forward import recoil_spectrum
from ..params import as_float64
from . import csi2021_likelihood as lik

#: Points per vmapped batch (bounds memory of the 1e5-point planes).
BATCH = 128


def _physics_mask(bm) -> jax.Array:
    return jnp.zeros(1 + bm.n_pulls).at[1:].set(1.0)


#: Iterations per scan point, warm-started at the profiled pulls of the reference point: two
#: Fisher-scoring steps, then exact Newton steps. Points that have not converged are refitted
#: with :data:`RETRY_STEPS`; the convergence flags report any point that still has not.
SCAN_STEPS = 5
SCAN_FISHER_STEPS = 2
RETRY_STEPS = 30


def _run(cm, mask, init, pts, batch, signal_of, steps):
    def one(x):
        r = lik.fit(cm, signal_of(x), mask, init, steps=steps, fisher_steps=min(SCAN_FISHER_STEPS, steps))
        return r.value, r.converged

    def local(p):
        return jax.lax.map(one, p, batch_size=min(batch, p.shape[0]))

    if sharding.device_count() == 1:
        return local(pts)
    # each device maps over its own slice of the points (the model is replicated)
    spec = PartitionSpec(sharding.AXIS)
    return jax.shard_map(local, mesh=sharding.mesh(), in_specs=spec, out_specs=(spec, spec), check_vma=False)(pts)


def _with(p0, names, x):
    return p0.replace(**{n: x[i] for i, n in enumerate(names)})


@functools.partial(jax.jit, static_argnames=("names", "batch", "steps"))
def _template_run(pts, cm, tmpl, p0, mask, init, names, batch, steps):
    return _run(cm, mask, init, pts, batch, lambda x: forward.predict_from_templates(_with(p0, names, x), tmpl), steps)


@functools.partial(jax.jit, static_argnames=("names", "batch", "steps"))
def _full_run(pts, cm, analysis, p0, mask, init, names, batch, steps):
    return _run(cm, mask, init, pts, batch, lambda x: forward._predict_kernel(_with(p0, names, x), analysis), steps)


def _scan(run, first_signal, bm, p0, names, points, batch, payload):
    """Profiled statistic (strength fixed at 1) warm-started at the profiled pulls of the first
    point; compiled once per analysis, parameter names, grid shape and batch."""
    cm = lik.compact(bm) if isinstance(bm, binned.BinnedModel) else bm
    pts = jnp.asarray(np.atleast_2d(np.asarray(points, dtype=np.float64).T).T)
    mask = _physics_mask(cm)
    start = lik.fit_jit(cm, first_signal(_with(p0, names, pts[0])), mask)

    def call(x, steps):  # spread over every device when there are several (jcevns.sharding)
        kernel = functools.partial(run, names=names, batch=min(batch, x.shape[0]), steps=steps)
        return sharding.run_batched(kernel, x, cm, payload, p0, mask, start.theta)

    value, ok = (np.array(a) for a in call(pts, SCAN_STEPS))
    redo = np.flatnonzero(~ok)
    if redo.size:  # the few slow points: refit with more steps (padded to a power of two: few compilations)
        size = 1 << int(np.ceil(np.log2(redo.size)))
        idx = np.concatenate([redo, np.full(size - redo.size, redo[0])])
        v2, ok2 = call(pts[idx], RETRY_STEPS)
        value[redo], ok[redo] = v2[: redo.size], ok2[: redo.size]
    return value, ok


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

"""The forward model: expected CEvNS events per analysis bin.

:func:`predict` is the one jitted kernel; likelihoods, profiling, scans, posteriors and the
command line all compose it. Its cost is one pass over the recoil nodes: the neutrino-energy
integral is already folded into the analysis' flux moments (:mod:`jcevns.flux`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .analyses import Analysis
from .cross_sections import coefficients
from .params import Params, as_float64, validate


def recoil_spectrum(params: Params, analysis: Analysis):
    """Expected events per MeV of nuclear recoil at the analysis' recoil nodes, per flavour.

    Summed over isotopes, before the detector response. Shape ``(3 flavours, n_nodes)``,
    flavour order :data:`jcevns.flux.FLAVOURS`; units events / MeV.
    """
    opts = analysis.config.physics
    total = 0.0
    for i, nucleus in enumerate(analysis.detector.nuclei):
        coef = coefficients(params, nucleus, i, analysis.t_nodes, opts)  # (3, 3, n)
        total = total + jnp.sum(coef * analysis.moments[i], axis=1)
    return total


def _per_flavour(params: Params, analysis: Analysis):
    return recoil_spectrum(params, analysis) @ analysis.bin_matrix.T


_TRACES = {"predict": 0}


@jax.jit
def _predict_kernel(params: Params, analysis: Analysis):
    _TRACES["predict"] += 1  # counted at trace time only (tests assert no retracing)
    return jnp.sum(_per_flavour(params, analysis), axis=0)


_per_flavour_kernel = jax.jit(_per_flavour)


def _prepare(params: Params, analysis: Analysis) -> Params:
    if not isinstance(analysis, Analysis):
        raise ValueError(f"analysis must be a jcevns.Analysis (from jcevns.build), got {type(analysis).__name__}")
    if isinstance(params, Params) and (params.sin2w is None or params.rn is None):
        params = params.replace(
            sin2w=analysis.sin2w_ref if params.sin2w is None else params.sin2w,
            rn=analysis.rn_ref if params.rn is None else params.rn,
        )
    validate(params, rn_lower=analysis.rn_lower)
    return as_float64(params)


def predict(params: Params, analysis: Analysis):
    """Expected CEvNS events in each analysis bin.

    Args:
        params: physics parameters (:class:`~jcevns.Params`; ``None`` entries take the
            analysis' reference values). Concrete values are range-checked before any jit work.
        analysis: an :class:`~jcevns.Analysis` from :func:`jcevns.build`.

    Returns:
        Array ``(n_bins,)`` of expected events (float64). Differentiable in every parameter.

    Example:
        >>> import jcevns
        >>> an = jcevns.build("csi2017-oldqf")
        >>> round(float(jcevns.predict(an.params(), an).sum()))
        173
    """
    return _predict_kernel(_prepare(params, analysis), analysis)


def predict_per_flavour(params: Params, analysis: Analysis):
    """Expected events per flavour and bin, shape ``(3, n_bins)`` (order nu_mu, nu_mu-bar, nu_e)."""
    return _per_flavour_kernel(_prepare(params, analysis), analysis)

"""Full predictions for scans of nuclear radii: one form factor per compressed node and point.

A change of a neutron radius (``rn``, or a nucleus' own ``rn_ar``, ``rn_cs``, ``rn_i``...)
reshapes the recoil spectrum, so :class:`~jcevns.forward.EventTemplates` built at one radius do
not apply: every point of an R_n plane needs its own pass over the recoil nodes. Everything in
that pass but the form factors (and the mediator propagators, fixed here) is independent of the
point: the flux-folded kinematics times the bin matrix (:func:`jcevns.forward._fold_parts`) are
computed once, and a point costs the form factors at the nodes and a contraction
(:func:`jcevns.forward._templates_from_parts`).

The form factors are smooth (analytic) functions of the recoil energy ``T`` over the whole
recoil range, while the quadrature needs many nodes for the kinks of the flux and the detector
response, which sit in the fixed folds. So the varying factors are interpolated from ``m``
Chebyshev points in ``T`` (barycentric Lagrange interpolation, Berrut and Trefethen, SIAM Rev. 46
(2004) 501), and the interpolation matrix is folded into the fixed parts once:
``sum_n W_n f(T_n) ~= sum_j (sum_n W_n L_j(T_n)) f(t_j)``. ``m`` is the smallest of
:data:`SIZES` whose templates equal the full node sum to :data:`TOLERANCE` (relative to each
template's largest entry) at :data:`N_PROBES` radii spanning the scanned range; where none does
(e.g. very light mediators, whose propagators vary fast at small ``T``), the full node set is kept,
which is exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .forward import TEMPLATE_FIXED, _fold_parts, _is_combined, _templates_from_parts, predict_from_templates
from .params import PARAMETER_NAMES, RADIUS_NAMES, Params

#: Numbers of Chebyshev points tried, in order.
SIZES = (8, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128)
#: Largest accepted deviation of the compressed templates from the full node sum, relative to
#: each template's largest entry (the scan's statistic needs 1e-6; tests check 1e-10 against
#: :func:`jcevns.predict`).
TOLERANCE = 1e-12
#: Radii at which the compression is checked, evenly spanning the scanned range.
N_PROBES = 9


def _chebyshev_matrix(t: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev points of the first kind on ``[min t, max t]`` and the ``(n, m)`` matrix of
    their Lagrange basis functions at ``t`` (barycentric form)."""
    a, b = float(np.min(t)), float(np.max(t))
    theta = np.pi * (np.arange(m) + 0.5) / m
    nodes = 0.5 * (a + b) + 0.5 * (b - a) * np.cos(theta)
    weights = (-1.0) ** np.arange(m) * np.sin(theta)
    diff = t[:, None] - nodes[None, :]
    exact = diff == 0.0
    diff = np.where(exact, 1.0, diff)
    terms = weights[None, :] / diff
    matrix = terms / terms.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    matrix[hit] = exact[hit].astype(np.float64)
    return nodes, matrix


def _compress(parts, m: int):
    out = []
    for t, *folds in parts:
        nodes, matrix = _chebyshev_matrix(np.asarray(t), m)
        out.append((jnp.asarray(nodes), *(jnp.asarray(np.asarray(f) @ matrix) for f in folds)))
    return tuple(out)


@jax.jit
def _probe_templates(params: Params, analysis, parts):
    return jax.vmap(lambda p: _templates_from_parts(p, analysis, parts))(params)


def reshaping_parts(analysis, base: Params, radii: dict):
    """Fixed parts of the predictions at radii in the ranges of ``radii`` (``{name: values}``,
    names from :data:`jcevns.params.RADIUS_NAMES`), the other parameters of ``base`` held
    fixed as far as the spectrum shape goes (mediator masses), or ``None`` for a combination.

    Returns:
        A tuple per isotope of ``(nodes, weak, magnetic, scalar)`` for
        :func:`jcevns.forward._templates_from_parts`.
    """
    if _is_combined(analysis):
        return None
    exact = tuple(tuple(np.asarray(x) for x in part) for part in _fold_parts(analysis))
    n_nodes = int(np.asarray(analysis.t_nodes).size)
    probes = {}
    for name, values in radii.items():
        lo, hi = float(np.min(values)), float(np.max(values))
        probes[name] = jnp.asarray(np.linspace(lo, hi, N_PROBES))
    leaves = {n: jnp.broadcast_to(jnp.asarray(getattr(base, n), dtype=jnp.float64), (N_PROBES,))
              for n in PARAMETER_NAMES}
    params = Params(**(leaves | probes))
    ref = _probe_templates(params, analysis, exact)
    ref_leaves = [np.asarray(x) for x in (ref.weak, ref.magnetic, ref.scalar)]
    for m in SIZES:
        if m >= n_nodes:
            break
        comp = _compress(exact, m)
        test = _probe_templates(params, analysis, comp)
        err = max(float(np.max(np.abs(np.asarray(x) - r))) / max(float(np.max(np.abs(r))), 1e-300)
                  for x, r in zip((test.weak, test.magnetic, test.scalar), ref_leaves))
        if err <= TOLERANCE:
            return comp
    return tuple(tuple(jnp.asarray(x) for x in part) for part in exact)


def applies(analysis, varied) -> bool:
    """Whether the scanned ``varied`` names reshape the spectrum only through nuclear radii (so
    that :func:`reshaping_parts` serves them)."""
    fixed = set(varied) & set(TEMPLATE_FIXED)
    return bool(fixed) and fixed <= set(RADIUS_NAMES) and not _is_combined(analysis)


def predict_reshaped(params: Params, analysis, parts):
    """Events per bin ``(n_bins,)`` at ``params`` from :func:`reshaping_parts` (jit/vmap
    friendly; out-of-range parameters give NaN as in :func:`jcevns.predict`)."""
    return predict_from_templates(params, _templates_from_parts(params, analysis, parts))

"""The forward model: expected CEvNS events per analysis bin.

:func:`predict` is the one jitted kernel; likelihoods, profiling, scans, posteriors and the
command line all compose it. Its cost is one pass over the recoil nodes: the neutrino-energy
integral is already folded into the analysis' flux moments (:mod:`jcevns.flux`).

:func:`event_templates` is the same model rearranged for many evaluations. At fixed ``rn`` and
mediator masses the form factors and propagators are fixed functions of ``T``, and every other
parameter enters through per-flavour charges that multiply them (:mod:`jcevns.cross_sections`):
the counts are an exact quadratic form in ``(Z F_p, N F_n, Z' propagator)`` weighted by those
charges. One pass over the recoil nodes gives the eight templates of that form per flavour and
bin; after it, :func:`predict_from_templates` costs a few hundred flops for any ``sin2w``, NSI
epsilons, magnetic moments, charge radii and mediator couplings. Scans, profiles and samplers
that leave ``rn``, ``zprime_m`` and ``scalar_m`` alone use it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from . import form_factors
from .analyses import Analysis
from .cross_sections import (
    PhysicsOptions,
    coefficients,
    flavour_charges,
    kinematic_factors,
    nuclear_factors,
    scalar_nucleon_charges,
    zprime_strength,
)
from .params import (
    RADIUS_NAMES,
    Params,
    as_float64,
    check_origin,
    checkify_ranges,
    is_concrete,
    mask_out_of_range,
    validate,
)

#: Parameters held fixed by :class:`EventTemplates` (they shape the recoil spectrum itself).
TEMPLATE_FIXED = ("rn", "zprime_m", "scalar_m", *RADIUS_NAMES[1:])


def _checked(params: Params, opts: PhysicsOptions) -> Params:
    """Kernel entry: NaN for every leaf when a (traced) parameter is outside its valid range
    (:func:`~jcevns.params.mask_out_of_range`); the identity inside it. Concrete values were
    already refused by :func:`_prepare`, so this only matters under ``jit``/``vmap``/``grad``."""
    return mask_out_of_range(params, form_factors.helm_min_rms_radius(opts.helm_skin_fm) if opts.uses_rn else None)


def check_ranges(params: Params, analysis: Analysis) -> None:
    """Inside ``jax.experimental.checkify.checkify``: an error naming any parameter outside its
    valid range on ``analysis`` (instead of the NaN the kernels return).

    Examples:
        >>> import jax, jcevns
        >>> from jax.experimental import checkify
        >>> an = jcevns.build("lar2020")
        >>> def f(rn):
        ...     p = an.params().replace(rn=rn)
        ...     jcevns.check_ranges(p, an)
        ...     return jcevns.predict(p, an)
        >>> err, counts = checkify.checkify(jax.jit(f))(0.5)
        >>> err.get().split(" (")[0]
        'parameter rn = 0.5 is outside [1.55885, 15]'
    """
    checkify_ranges(params, analysis.rn_lower)


def recoil_spectrum(params: Params, analysis: Analysis):
    """Expected events per MeV of nuclear recoil at the analysis' recoil nodes, per flavour.

    Summed over isotopes, before the detector response. Shape ``(3 flavours, n_nodes)``,
    flavour order :data:`jcevns.flux.FLAVOURS`; units events / MeV. ``None`` entries of
    ``params`` take the analysis' reference values, as in :func:`predict`. Concrete parameters
    are validated (and compiled once); traced ones outside their valid ranges give NaN.
    """
    if is_concrete(params):
        return _spectrum_kernel(_prepare(params, analysis), analysis)
    return _recoil_spectrum(params, analysis)


def _recoil_spectrum(params: Params, analysis: Analysis):
    opts = analysis.config.physics
    params = _checked(params, opts)
    total = 0.0
    for i, nucleus in enumerate(analysis.detector.nuclei):
        coef = coefficients(params, nucleus, i, analysis.t_nodes, opts)  # (3, 3, n)
        total = total + jnp.sum(coef * analysis.moments[i], axis=1)
    return total


_spectrum_kernel = jax.jit(_recoil_spectrum)


def contract_bins(per_energy_bin, bin_factors):
    """Events per flavour in the full binning, ``(..., 3, n_e * n_x)`` (energy slowest), from events
    per flavour and energy bin ``(..., 3, n_e)`` and the analysis' ``bin_factors`` ``(3, n_e, n_x)``.

    With the default factors (ones, ``n_x = 1``) the values are unchanged bit for bit."""
    full = per_energy_bin[..., None] * bin_factors
    return full.reshape(full.shape[:-2] + (-1,))


def _per_flavour(params: Params, analysis: Analysis):
    if _is_combined(analysis):  # jcevns.combined: every component's bins, in order
        return jnp.concatenate([_per_flavour(params, a) for a in analysis.components], axis=1)
    return contract_bins(_recoil_spectrum(params, analysis) @ analysis.bin_matrix.T, analysis.bin_factors)


def _is_combined(analysis) -> bool:
    return not isinstance(analysis, Analysis) and hasattr(analysis, "components")


_TRACES = {"predict": 0}


@jax.jit
def _predict_kernel(params: Params, analysis: Analysis):
    _TRACES["predict"] += 1  # counted at trace time only (tests assert no retracing)
    return jnp.sum(_per_flavour(params, analysis), axis=0)


_per_flavour_kernel = jax.jit(_per_flavour)


def _prepare(params: Params, analysis: Analysis) -> Params:
    if not isinstance(analysis, Analysis) and not _is_combined(analysis):
        raise ValueError(f"analysis must be a jcevns.Analysis (from jcevns.build), got {type(analysis).__name__}")
    if isinstance(params, Params) and (params.sin2w is None or params.rn is None):
        params = params.replace(
            sin2w=analysis.sin2w_ref if params.sin2w is None else params.sin2w,
            rn=analysis.rn_ref if params.rn is None else params.rn,
        )
    for one in analysis.components if _is_combined(analysis) else (analysis,):
        validate(params, rn_lower=one.rn_lower)
    check_references(params, analysis)
    return as_float64(params)


def check_references(params: Params, analysis: Analysis) -> None:
    """Refuse ``params`` whose ``sin2w``/``rn`` were filled from another analysis' reference values
    (:func:`~jcevns.params.check_origin`)."""
    check_origin(params, analysis.name, {"sin2w": analysis.sin2w_ref, "rn": analysis.rn_ref})


def predict(params: Params, analysis: Analysis):
    """Expected CEvNS events in each analysis bin.

    Args:
        params: physics parameters (:class:`~jcevns.Params`; ``None`` entries take the
            analysis' reference values). Concrete values are range-checked before any jit work.
        analysis: an :class:`~jcevns.Analysis` from :func:`jcevns.build`.

    Returns:
        Array ``(n_bins,)`` of expected events (float64). Differentiable in every parameter.

    Examples:
        >>> import jcevns
        >>> an = jcevns.build("csi2017-oldqf")
        >>> round(float(jcevns.predict(an.params(), an).sum()))
        174
    """
    return _predict_kernel(_prepare(params, analysis), analysis)


def predict_per_flavour(params: Params, analysis: Analysis):
    """Expected events per flavour and bin, shape ``(3, n_bins)`` (order nu_mu, nu_mu-bar, nu_e)."""
    return _per_flavour_kernel(_prepare(params, analysis), analysis)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class EventTemplates:
    """Events per flavour and bin as an exact quadratic form in the per-flavour charges.

    With ``X_p = Z F_p``, ``X_n = N F_n``, ``P = 1 / (q^2 + M_Z'^2)`` and ``S = X_p + X_n``
    (recoil-dependent, summed over isotopes with the flux moments and the bin matrix), the
    weak counts of flavour ``a`` are

        sum_pp T_pp + 2 sum_pn T_pn + sum_nn T_nn + 2 z (d_p T_Pp + d_n T_Pn) + z^2 T_PP

    with ``T_xy = <X_x X_y>``, ``T_Px = <P X_x S>``, ``T_PP = <P^2 S^2>``, diagonal charges
    ``d`` and ``sum_xy = d_x d_y + sum_channels fc_x fc_y``
    (:func:`~jcevns.cross_sections.flavour_charges`), and ``z`` the Z' strength. The magnetic
    and scalar counts are ``mu_a^2 T_mu`` and ``g_phi^4 T_phi``.

    Attributes:
        weak: ``(6, 3 flavours, n_bins)``: ``T_pp, T_pn, T_nn, T_Pp, T_Pn, T_PP``.
        magnetic: ``(3, n_bins)`` per unit squared moment [(1e-10 mu_B)^-2].
        scalar: ``(3, n_bins)`` per unit ``g^4``.
        fixed: ``(3,)`` the values of :data:`TEMPLATE_FIXED` the templates were built at.
        physics: the analysis' physics options (static).
    """

    weak: jax.Array
    magnetic: jax.Array
    scalar: jax.Array
    fixed: jax.Array
    physics: PhysicsOptions = dataclasses.field(metadata=dict(static=True))


def _fold_parts(analysis: Analysis):
    """Per isotope: the recoil nodes and the flux-folded kinematics of each interaction
    (:func:`~jcevns.cross_sections.kinematic_factors`) times the bin matrix,
    ``(t (n,), weak, magnetic, scalar)`` with folds ``(3 flavours, n_bins, n)``. Independent of
    every parameter: only the form factors and propagators at the nodes change with them."""
    opts = analysis.config.physics
    parts = []
    for i, nucleus in enumerate(analysis.detector.nuclei):
        t = analysis.t_nodes
        moments = analysis.moments[i]  # (3 flavours, 3 powers, n)
        # flux-folded kinematics per flavour and node, times the bin matrix: (3, n_bins, n)
        fold = lambda k: jnp.sum(k[None] * moments, axis=1)[:, None, :] * analysis.bin_matrix[None]  # noqa: E731
        parts.append((t, *(fold(k) for k in kinematic_factors(nucleus, t, opts))))
    return tuple(parts)


def _templates_from_parts(params: Params, analysis: Analysis, parts) -> EventTemplates:
    """:class:`EventTemplates` at ``params`` from :func:`_fold_parts` (or any node set and folds
    that integrate the same spectrum, e.g. the compressed ones of :mod:`jcevns.reshaping`)."""
    opts = analysis.config.physics
    params = _checked(params, opts)
    sp, sn = scalar_nucleon_charges(opts)
    weak = magnetic = scalar = 0.0
    for i, (nucleus, (t, f_weak, f_mag, f_scalar)) in enumerate(zip(analysis.detector.nuclei, parts)):
        q2, xp, xn = nuclear_factors(params, nucleus, i, t, opts)
        prop = 1.0 / (q2 + params.zprime_m**2)
        total = xp + xn
        basis = jnp.stack([xp * xp, xp * xn, xn * xn, prop * xp * total, prop * xn * total, (prop * total) ** 2])
        weak = weak + jnp.einsum("kn,fbn->kfb", basis, f_weak)
        magnetic = magnetic + jnp.sum(f_mag * xp**2, axis=-1)
        phi = ((sp * xp + sn * xn) / (q2 + params.scalar_m**2)) ** 2
        scalar = scalar + jnp.sum(f_scalar * phi, axis=-1)
    fixed = jnp.stack([jnp.asarray(getattr(params, n), dtype=jnp.float64) for n in TEMPLATE_FIXED])
    # the non-energy observables: the same per-flavour contraction as the full prediction
    weak, magnetic, scalar = (contract_bins(x, analysis.bin_factors) for x in (weak, magnetic, scalar))
    return EventTemplates(weak=weak, magnetic=magnetic, scalar=scalar, fixed=fixed, physics=opts)


def _templates(params: Params, analysis: Analysis) -> EventTemplates:
    if _is_combined(analysis):  # a tuple of templates, one per component
        return tuple(_templates(params, a) for a in analysis.components)
    return _templates_from_parts(params, analysis, _fold_parts(analysis))


_templates_kernel = jax.jit(_templates)


def event_templates(params: Params, analysis: Analysis) -> EventTemplates:
    """:class:`EventTemplates` of ``analysis`` at the ``rn``, ``zprime_m`` and ``scalar_m`` of
    ``params`` (validated; the other values of ``params`` do not matter)."""
    return _templates_kernel(_prepare(params, analysis), analysis)


def templates_per_flavour(params: Params, templates: EventTemplates):
    """Events per flavour and bin ``(3, n_bins)`` from templates (jit/vmap friendly, no checks).

    Exact for every parameter except :data:`TEMPLATE_FIXED`, whose values are those the
    templates were built at (the values in ``params`` are ignored).
    """
    if isinstance(templates, tuple):  # a combination (jcevns.combined)
        return jnp.concatenate([templates_per_flavour(params, t) for t in templates], axis=1)
    params = _checked(params, templates.physics)
    diag, fc, mu2 = flavour_charges(params, templates.physics)
    d_p, d_n = diag[:, 0], diag[:, 1]
    s_pp = d_p**2 + jnp.sum(fc[:, :, 0] ** 2, axis=1)
    s_pn = d_p * d_n + jnp.sum(fc[:, :, 0] * fc[:, :, 1], axis=1)
    s_nn = d_n**2 + jnp.sum(fc[:, :, 1] ** 2, axis=1)
    z = zprime_strength(params, templates.physics)
    weights = jnp.stack([s_pp, 2.0 * s_pn, s_nn, 2.0 * z * d_p, 2.0 * z * d_n, jnp.broadcast_to(z**2, d_p.shape)])
    return (
        jnp.einsum("kf,kfb->fb", weights, templates.weak)
        + mu2[:, None] * templates.magnetic
        + params.scalar_g**4 * templates.scalar
    )


def predict_from_templates(params: Params, templates: EventTemplates):
    """Events per bin ``(n_bins,)`` from templates; see :func:`templates_per_flavour`."""
    return jnp.sum(templates_per_flavour(params, templates), axis=0)


def expected_counts(params: Params, analysis: Analysis, templates: EventTemplates | None = None):
    """Events per bin inside jitted code: from ``templates`` when given (exact while ``rn`` and
    the mediator masses keep the values the templates were built at), else a full prediction."""
    if templates is None:
        return _predict_kernel(params, analysis)
    return predict_from_templates(params, templates)


def templates_if_exact(params: Params, analysis: Analysis, varied) -> EventTemplates | None:
    """Templates at ``params`` (concrete; validated) if none of the ``varied`` parameter names
    reshapes the spectrum (:data:`TEMPLATE_FIXED`), else ``None``."""
    if set(varied) & set(TEMPLATE_FIXED):
        return None
    return _templates_kernel(_prepare(params, analysis), analysis)

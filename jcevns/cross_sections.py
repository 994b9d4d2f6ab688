"""CEvNS differential cross sections dsigma/dT in the SM and beyond.

Every ingredient is written in one form: at fixed nuclear recoil ``T``,

    dsigma/dT (E, T) = c0(T) + c1(T) / E + c2(T) / E^2        [cm^2 / MeV]

for each neutrino flavour, so the neutrino-energy integral is a sum of flux moments
(:func:`jcevns.flux.moments`). :func:`coefficients` returns ``(c0, c1, c2)``.

Ingredients (all combinable in one :class:`~jcevns.params.Params`):

* weak: ``G_F^2 m / pi * W(T) * (1 [- T/E] - m T / (2 E^2))`` (Papoulias 2020 eq. 3; Miranda et al. 2020
  eq. 2.1 includes the ``-T/E`` term), with ``W = Q_a^2 + sum_b Q_ab^2`` where
  ``Q_a = Z F_p g_p,a + N F_n g_n,a`` (Miranda et al. 2020 eq. 2.2). ``g_p,a`` and ``g_n,a`` carry
  the SM couplings (:mod:`jcevns.couplings`), the flavour-diagonal vector NSI
  (Papoulias 2020 eq. 14, Miranda et al. 2020 eq. 3.5), the charge-radius shift of ``sin^2 theta_W``
  (Papoulias 2020 eq. 17, Miranda et al. 2020 eq. 3.8) and the light vector Z' (Papoulias 2020 eqs. 18-19,
  Miranda et al. 2020 eq. 3.11). ``Q_ab`` are the flavour-changing NSI charges.
* magnetic moment: ``pi alpha^2 mu^2 Z^2 / m_e^2 (1/T - 1/E) F_p^2`` (Papoulias 2020 eq. 15,
  Miranda et al. 2020 eq. 3.6), per flavour.
* light scalar: ``m^2 (g^2 Q_phi)^2 T / (4 pi E^2 (2 m T + M^2)^2)`` (Papoulias 2020 eqs. 20-21;
  Miranda et al. 2020 eq. 3.12 with its dimension typo corrected, see docs/conventions.md), no interference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp

from . import constants as c
from . import couplings, form_factors
from .flux import FLAVOURS
from .nuclei import Nucleus
from .params import NEUTRON_RADIUS_PARAMETERS, Params

_CM2 = c.HBARC_MEV_CM**2  # MeV^-2 -> cm^2

#: Allowed values of the physics options.
CHOICES = {
    "couplings": ("radiative", "tree"),
    "form_factor": ("klein-nystrand", "helm"),
    "charge_radius_convention": ("standard", "printed"),
    "fc_nsi": ("incoherent", "as_printed"),
    "zprime_couplings": ("universal", "b-l"),
    "scalar_charge": ("papoulias2020", "sigma_terms"),
}


@dataclass(frozen=True)
class PhysicsOptions:
    """Static choices of the physics model (hashable; part of the jit cache key).

    Attributes:
        couplings: ``"radiative"`` (Papoulias 2020 eqs. 4-5) or ``"tree"`` (Miranda et al. 2020 eq. 2.3).
        recoil_term: include the ``-T/E`` term of Miranda et al. 2020 eq. 2.1 (Papoulias 2020 eq. 3 omits it).
        form_factor: ``"klein-nystrand"`` (Papoulias 2020 eq. 6) or ``"helm"`` (Miranda et al. 2020 eq. 2.4).
        kn_radius_coeff_fm: Klein-Nystrand ``R_A = coeff * A^(1/3)`` [fm]; 1.23 printed in
            Papoulias 2020, 1.2 in Klein & Nystrand (see docs/conventions.md).
        kn_yukawa_range_fm: Klein-Nystrand ``a_k`` [fm].
        helm_skin_fm: Helm surface thickness ``s`` [fm].
        proton_rms_radius_fm: Helm proton rms radius per isotope [fm]; ``None`` uses the
            parameter ``rn`` for protons too (one nuclear form factor, as Papoulias 2020 does).
        charge_radius_convention: ``"standard"`` shift ``sqrt2 pi alpha / (6 G_F) <r^2>``
            (Vogel-Engel; reproduces the published intervals) or ``"printed"`` (twice that,
            Papoulias 2020 eq. 17 / Miranda et al. 2020 eq. 3.8 as printed).
        fc_nsi: ``"incoherent"``: flavour-changing charges add in quadrature,
            ``|Q_aa|^2 + sum_b |Q_ab|^2`` (Barranco et al., JHEP 12 (2005) 021);
            ``"as_printed"``: added linearly inside ``Q`` (Papoulias 2020 eq. 14, Miranda et al. 2020 eq. 3.5).
        zprime_couplings: ``"universal"`` quark couplings, ``g_nu g_q = g^2`` (per-nucleon
            charge ``3 g^2``) or ``"b-l"`` (``g_q = g/3``, ``g_nu = -g``: per-nucleon ``-g^2``).
        scalar_charge: ``"papoulias2020"``: ``Q_phi / g^2 = 14 A + 1.1 Z`` (Papoulias 2020 fn. 6) or
            ``"sigma_terms"``: Miranda et al. 2020 eq. 3.13 with the sigma terms printed there and PDG
            quark masses.
    """

    couplings: str = "radiative"
    recoil_term: bool = False
    form_factor: str = "klein-nystrand"
    kn_radius_coeff_fm: float = 1.2
    kn_yukawa_range_fm: float = 0.7
    helm_skin_fm: float = 0.9
    proton_rms_radius_fm: tuple | None = None
    charge_radius_convention: str = "standard"
    fc_nsi: str = "incoherent"
    zprime_couplings: str = "universal"
    scalar_charge: str = "papoulias2020"

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"option {name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("kn_radius_coeff_fm", "kn_yukawa_range_fm", "helm_skin_fm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"option {name} must be a positive number of fm, got {value!r}")
        radii = self.proton_rms_radius_fm
        if radii is not None:
            # the Helm form needs R_0^2 = 5/3 (R^2 - 3 s^2) > 0, the same limit as the parameter rn
            limit = form_factors.helm_min_rms_radius(self.helm_skin_fm)
            valid = isinstance(radii, tuple) and radii and all(isinstance(r, (int, float)) for r in radii)
            if not (valid and all(limit < r <= 15.0 for r in radii)):
                raise ValueError(
                    f"option proton_rms_radius_fm must be a tuple of radii in ({limit:.4g}, 15] fm (Helm limit "
                    f"sqrt(3) s for helm_skin_fm = {self.helm_skin_fm:g} fm), one per isotope, got {radii!r}"
                )

    @property
    def uses_rn(self) -> bool:
        """Whether the parameter ``rn`` enters the model (only through the Helm form factor)."""
        return self.form_factor == "helm"

    @property
    def charge_radius_coeff(self) -> float:
        """Shift of ``sin^2 theta_W`` per 1e-32 cm^2 of ``<r^2>`` (dimensionless)."""
        factor = 0.5 if self.charge_radius_convention == "standard" else 1.0
        return factor * c.CHARGE_RADIUS_COEFF_PRINTED * c.R2_UNIT_MEV2


def neutron_radius(params: Params, nucleus: Nucleus):
    """The nucleus' own radius parameter (``rn_cs``, ``rn_ar``, ...) where set (non-zero), else
    ``rn`` [fm] (:data:`jcevns.params.NEUTRON_RADIUS_PARAMETERS`)."""
    name = NEUTRON_RADIUS_PARAMETERS.get(nucleus.z)
    if name is None:
        return params.rn
    own = getattr(params, name)
    return jnp.where(own > 0, own, params.rn)


def form_factor_pair(params: Params, nucleus: Nucleus, iso_index: int, q_fm, opts: PhysicsOptions):
    """Proton and neutron form factors ``(F_p, F_n)`` at momentum transfer ``q`` [fm^-1]."""
    if opts.form_factor == "klein-nystrand":
        f = form_factors.klein_nystrand(
            q_fm, opts.kn_radius_coeff_fm * nucleus.a ** (1.0 / 3.0), opts.kn_yukawa_range_fm
        )
        return f, f
    f_n = form_factors.helm(q_fm, neutron_radius(params, nucleus), opts.helm_skin_fm)
    if opts.proton_rms_radius_fm is None:
        return f_n, f_n
    f_p = form_factors.helm(q_fm, opts.proton_rms_radius_fm[iso_index], opts.helm_skin_fm)
    return f_p, f_n


def scalar_nucleon_charges(opts: PhysicsOptions) -> tuple[float, float]:
    """``(per proton, per neutron)`` scalar charge in units of ``g_q`` (universal quarks)."""
    if opts.scalar_charge == "papoulias2020":
        # 14 A + 1.1 Z = 15.1 Z + 14 N (Papoulias 2020 footnote 6).
        return 15.1, 14.0
    # Miranda et al. 2020 eq. 3.13 with g_u = g_d.
    per_p = c.M_PROTON * (c.F_TU_PROTON / c.M_UP_QUARK + c.F_TD_PROTON / c.M_DOWN_QUARK)
    per_n = c.M_NEUTRON * (c.F_TU_NEUTRON / c.M_UP_QUARK + c.F_TD_NEUTRON / c.M_DOWN_QUARK)
    return per_p, per_n


# (u, d) parameters of the flavour-changing NSI seen by each flavour, in FLAVOURS order:
# nu_mu and nu_mu-bar see e-mu and mu-tau; nu_e sees e-mu and e-tau.
_FC_NSI = {
    "nu_mu": (("eps_emu_u", "eps_emu_d"), ("eps_mutau_u", "eps_mutau_d")),
    "nu_mu_bar": (("eps_emu_u", "eps_emu_d"), ("eps_mutau_u", "eps_mutau_d")),
    "nu_e": (("eps_emu_u", "eps_emu_d"), ("eps_etau_u", "eps_etau_d")),
}
_DIAG_NSI = {
    "nu_mu": ("eps_mumu_u", "eps_mumu_d"),
    "nu_mu_bar": ("eps_mumu_u", "eps_mumu_d"),
    "nu_e": ("eps_ee_u", "eps_ee_d"),
}
_CHARGE_RADIUS = {"nu_mu": "r2_numu", "nu_mu_bar": "r2_numubar", "nu_e": "r2_nue"}
_MAGNETIC_MOMENT = {"nu_mu": "mu_nu_mu", "nu_mu_bar": "mu_nu_mubar", "nu_e": "mu_nu_e"}


def _nsi_nucleon(eps_u, eps_d):
    """Per-proton and per-neutron charge of a vector NSI pair: ``(2u + d, u + 2d)``."""
    return 2.0 * eps_u + eps_d, eps_u + 2.0 * eps_d


def flavour_charges(params: Params, opts: PhysicsOptions):
    """Per-nucleon vector charges seen by each flavour, before form factors and the Z'.

    Returns:
        ``(diag, fc, mu2)`` in flavour order :data:`jcevns.flux.FLAVOURS`.
        ``diag`` ``(3, 2)``: (proton, neutron) charge of the flavour-diagonal amplitude: the
        SM couplings at the charge-radius-shifted ``sin^2 theta_W`` plus the diagonal NSI
        (and the flavour-changing NSI too for ``fc_nsi="as_printed"``, which adds them
        linearly inside ``Q``). ``fc`` ``(3, 2 channels, 2)``: flavour-changing charges, added
        in quadrature for ``fc_nsi="incoherent"`` (zeros for ``"as_printed"``). ``mu2``
        ``(3,)``: squared magnetic moment [(1e-10 mu_B)^2], ``mu_nu^2 + mu_a^2``.
    """
    diag, fc, mu2 = [], [], []
    for flavour in FLAVOURS:
        sin2w = params.sin2w + opts.charge_radius_coeff * getattr(params, _CHARGE_RADIUS[flavour])
        g_p, g_n = couplings.nucleon_couplings(opts.couplings, sin2w)
        dp, dn = _nsi_nucleon(*(getattr(params, k) for k in _DIAG_NSI[flavour]))
        channels = jnp.stack(
            [jnp.stack(_nsi_nucleon(getattr(params, u), getattr(params, d))) for u, d in _FC_NSI[flavour]]
        )
        charge = jnp.stack([g_p + dp, g_n + dn])
        if opts.fc_nsi == "as_printed":
            charge, channels = charge + jnp.sum(channels, axis=0), jnp.zeros_like(channels)
        diag.append(charge)
        fc.append(channels)
        mu2.append(params.mu_nu**2 + getattr(params, _MAGNETIC_MOMENT[flavour]) ** 2)
    return jnp.stack(diag), jnp.stack(fc), jnp.stack(mu2)


def zprime_strength(params: Params, opts: PhysicsOptions):
    """Z' per-nucleon charge times the propagator numerator, ``c g^2 / (sqrt2 G_F)`` [MeV^2]:
    the Z' adds ``zprime_strength / (q^2 + M^2)`` to both nucleon charges (Papoulias 2020 eq. 19,
    Miranda et al. 2020 eq. 3.11; ``c = 3`` universal, ``-1`` for B-L)."""
    zcharge = 3.0 if opts.zprime_couplings == "universal" else -1.0
    return zcharge * params.zprime_g**2 / (math.sqrt(2.0) * c.G_FERMI)


def nuclear_factors(params: Params, nucleus: Nucleus, iso_index: int, t_recoil, opts: PhysicsOptions):
    """``(q^2 [MeV^2], Z F_p, N F_n)`` at recoil energies ``T`` [MeV], each ``(n,)``."""
    t = jnp.asarray(t_recoil)
    q2_mev2 = 2.0 * nucleus.mass_mev * t
    f_p, f_n = form_factor_pair(params, nucleus, iso_index, jnp.sqrt(q2_mev2) / c.HBARC_MEV_FM, opts)
    return q2_mev2, float(nucleus.z) * f_p, float(nucleus.n) * f_n


def kinematic_factors(nucleus: Nucleus, t_recoil, opts: PhysicsOptions):
    """Energy dependence of each interaction: ``(weak, magnetic, scalar)``, each ``(3, n)`` rows
    multiplying ``(1, 1/E, 1/E^2)``, so that at fixed ``T``

    * weak: ``dsigma/dT = W(T) * weak`` with ``W`` the squared weak charge (Papoulias 2020 eq. 3;
      Miranda et al. 2020 eq. 2.1 adds ``-T/E``, option ``recoil_term``);
    * magnetic: ``dsigma/dT = mu^2 (Z F_p)^2 * magnetic`` (Papoulias 2020 eq. 15, Miranda et al. 2020 eq. 3.6);
    * scalar: ``dsigma/dT = (g^2 Q_phi / (q^2 + M^2))^2 * scalar`` (Papoulias 2020 eqs. 20-21, Miranda et al. 2020
      eq. 3.12 with its dimension typo corrected, see docs/conventions.md).

    Units cm^2 MeV^(k-1) per unit of the squared charge.
    """
    t = jnp.asarray(t_recoil)
    m = nucleus.mass_mev
    zero, one = jnp.zeros_like(t), jnp.ones_like(t)
    weak = c.G_FERMI**2 * m / math.pi * _CM2 * jnp.stack([one, -t if opts.recoil_term else zero, -m * t / 2.0])
    magnetic = math.pi * c.ALPHA_EM**2 / c.M_ELECTRON**2 * _CM2 * c.MU_NU_UNIT**2 * jnp.stack([1.0 / t, -one, zero])
    scalar = m**2 / (4.0 * math.pi) * _CM2 * jnp.stack([zero, zero, t])
    return weak, magnetic, scalar


def coefficients(params: Params, nucleus: Nucleus, iso_index: int, t_recoil, opts: PhysicsOptions):
    """Coefficients of ``dsigma/dT = c0 + c1/E + c2/E^2`` per flavour.

    Args:
        params: resolved :class:`Params` (no ``None``), scalar leaves.
        nucleus: target isotope.
        iso_index: index of the isotope in the detector (selects its proton radius).
        t_recoil: nuclear recoil energies T [MeV], shape ``(n,)``, all > 0.
        opts: static physics options.

    Returns:
        Array ``(3 flavours, 3, n)``: ``c_k`` in cm^2 MeV^(k-1), flavour order
        :data:`jcevns.flux.FLAVOURS`.
    """
    q2, xp, xn = nuclear_factors(params, nucleus, iso_index, t_recoil, opts)
    diag, fc, mu2 = flavour_charges(params, opts)
    zeta = zprime_strength(params, opts) / (q2 + params.zprime_m**2)  # (n,)
    q_diag = xp * (diag[:, :1] + zeta) + xn * (diag[:, 1:] + zeta)  # (3 flavours, n)
    q_fc = xp * fc[:, :, :1] + xn * fc[:, :, 1:]  # (3 flavours, 2 channels, n)
    w = q_diag**2 + jnp.sum(q_fc**2, axis=1)
    sp, sn = scalar_nucleon_charges(opts)
    scalar = (params.scalar_g**2 * (sp * xp + sn * xn) / (q2 + params.scalar_m**2)) ** 2  # (n,)
    k_weak, k_mag, k_scalar = kinematic_factors(nucleus, t_recoil, opts)
    return w[:, None, :] * k_weak + (mu2[:, None] * xp**2)[:, None, :] * k_mag + scalar * k_scalar


def dsigma_dt(params: Params, nucleus: Nucleus, e_nu, t_recoil, opts: PhysicsOptions, iso_index: int = 0):
    """``dsigma/dT`` [cm^2/MeV] per flavour at neutrino energy ``E`` and recoil ``T`` [MeV].

    No kinematic cut is applied: callers integrate only over ``E >= E_min(T)``.

    Returns:
        Array ``(3 flavours, *broadcast(E, T).shape)``.

    Raises:
        ValueError: ``params.sin2w`` is ``None``, or ``params.rn`` is ``None`` with a Helm form
            factor: without an analysis there is no reference value to take (use
            ``analysis.params()`` or set them).
    """
    if params.sin2w is None or (opts.uses_rn and params.rn is None):
        missing = "sin2w" if params.sin2w is None else "rn"
        raise ValueError(
            f"params.{missing} is None: dsigma_dt has no analysis to take a reference value from; "
            f"set it, e.g. Params({missing}=...), or start from analysis.params()"
        )
    e = jnp.asarray(e_nu)
    t = jnp.asarray(t_recoil)
    e, t = jnp.broadcast_arrays(e, t)
    coef = coefficients(params, nucleus, iso_index, t.ravel(), opts).reshape((3, 3) + t.shape)
    return coef[:, 0] + coef[:, 1] / e + coef[:, 2] / e**2

"""A straightforward scipy implementation of the same physics, for the benchmarks only.

This is how COHERENT fits are typically done in private scripts today, and it is the
yardstick ``benchmarks/run.py`` times jcevns against, in the same run, on the same machine:

* the counts per bin by nested ``scipy.integrate.quad``: for every analysis bin an outer
  ``quad`` over the nuclear recoil T (split at the kinematic end points and the response
  breakpoints) of ``response(T) * sum_flavour int f_a(E) dsigma/dT(E, T) dE``, the inner
  ``quad`` over the neutrino energy for the two delayed Michel spectra and the prompt nu_mu line
  done analytically (it is a delta function). Relative tolerance 1e-8, no caching, no
  vectorisation: one Python integrand call per (E, T) node;
* the profiled chi-square of Papoulias 2020 eq. 10 (CsI) or Miranda et al. 2020 eq. 3.1 (LAr) by
  ``scipy.optimize.minimize`` (BFGS, numerical gradient) over the nuisance pulls.

Physics (plain floats, transcribed from the papers; it shares no physics code with jcevns):
Standard Model (tree or radiative couplings), Klein-Nystrand or Helm form factors, a light
vector Z' (universal or B-L quark couplings) and flavour-diagonal vector NSI. Other parameters
must be at their SM values. What it takes from the package is only plumbing: physical
constants, the detector description (isotopes, targets, bin edges in recoil, response,
breakpoints), the analysis options, the exposure and the measured data.

It is deliberately *not* part of the ``jcevns`` package. :func:`jcevns.validation.reference_counts`
is a second, independent quad implementation (tighter tolerance 1e-10, with a per-T cache);
``run.py`` times it too.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, optimize

from jcevns import constants as c
from jcevns.flux import normalisation_per_cm2

EPSREL = 1e-8

_CM2 = c.HBARC_MEV_CM**2
_E_LINE = (c.M_PION_CHARGED**2 - c.M_MUON**2) / (2.0 * c.M_PION_CHARGED)
_E_MAX = c.M_MUON / 2.0
# Papoulias 2020 eq. 2: f(E) = p E^2 / m^3 (q - E / m) for nu_mu-bar (64, 3/4) and nu_e (192, 1/2)
_MICHEL = {"nu_mu_bar": (64.0, 0.75), "nu_e": (192.0, 0.5)}
_FLAVOURS = ("nu_mu", "nu_mu_bar", "nu_e")
_SUPPORTED = {"sin2w", "rn", "zprime_g", "zprime_m", "scalar_m", "eps_ee_u", "eps_ee_d", "eps_mumu_u", "eps_mumu_d"}


def _couplings(scheme, s2):
    if scheme == "tree":
        return 0.5 - 2.0 * s2, -0.5
    # Papoulias 2020 eqs. 4-5 (PDG radiative corrections)
    rho, kappa = 1.0082, 0.9972
    gu = rho * (0.5 - 4.0 / 3.0 * kappa * s2) - 0.0031 + 3.7e-5 / 2.0
    gd = rho * (-0.5 + 2.0 / 3.0 * kappa * s2) - 0.0025 + 3.7e-5
    return 2.0 * gu + gd, gu + 2.0 * gd


def _j1x(x):
    if x < 1e-3:
        return 1.0 - x * x / 10.0
    return 3.0 * (math.sin(x) - x * math.cos(x)) / x**3


def _form_factors(opts, nucleus, iso, rn, q_fm):
    if opts.form_factor == "klein-nystrand":
        f = _j1x(q_fm * opts.kn_radius_coeff_fm * nucleus.a ** (1 / 3)) / (1.0 + (q_fm * opts.kn_yukawa_range_fm) ** 2)
        return f, f

    def helm(rms):
        s = opts.helm_skin_fm
        return _j1x(q_fm * math.sqrt(5.0 / 3.0 * (rms * rms - 3.0 * s * s))) * math.exp(-0.5 * (q_fm * s) ** 2)

    fn = helm(rn)
    fp = fn if opts.proton_rms_radius_fm is None else helm(opts.proton_rms_radius_fm[iso])
    return fp, fn


def counts(params, analysis) -> np.ndarray:
    """Expected CEvNS events per analysis bin by nested ``scipy.integrate.quad``.

    Args:
        params: a resolved ``jcevns.Params`` (``analysis.params(...)``), scalar values.
        analysis: a ``jcevns.Analysis``.

    Returns:
        ``(n_bins,)`` events, summed over flavours and isotopes.
    """
    p = {k: float(v) for k, v in params.to_dict().items()}
    bad = [k for k, v in p.items() if k not in _SUPPORTED and v != 0.0]
    if bad:
        raise ValueError(f"the scipy baseline implements SM, Z' and diagonal NSI only; got non-zero {bad}")
    opts = analysis.config.physics
    exp = analysis.config.exposure
    det = analysis.detector
    norm = normalisation_per_cm2(exp.nu_per_pot, exp.n_pot, exp.distance_m)
    kz = 3.0 if opts.zprime_couplings == "universal" else -1.0
    zp_num = kz * p["zprime_g"] ** 2 / (math.sqrt(2.0) * c.G_FERMI)
    gp, gn = _couplings(opts.couplings, p["sin2w"])
    nsi = {
        "nu_mu": (2 * p["eps_mumu_u"] + p["eps_mumu_d"], p["eps_mumu_u"] + 2 * p["eps_mumu_d"]),
        "nu_e": (2 * p["eps_ee_u"] + p["eps_ee_d"], p["eps_ee_u"] + 2 * p["eps_ee_d"]),
    }
    nsi["nu_mu_bar"] = nsi["nu_mu"]
    edges = [float(x) for x in det.t_edges_mev]
    out = np.zeros(len(edges) - 1)
    for iso, (nuc, n_targets) in enumerate(zip(det.nuclei, det.n_targets)):
        m, z, n = nuc.mass_mev, float(nuc.z), float(nuc.a - nuc.z)
        pref = n_targets * norm * c.G_FERMI**2 * m / math.pi * _CM2  # events per (MeV * Q^2)

        def qw2(flavour, t):
            q2 = 2.0 * m * t
            fp, fn = _form_factors(opts, nuc, iso, p["rn"], math.sqrt(q2) / c.HBARC_MEV_FM)
            zp = zp_num / (q2 + p["zprime_m"] ** 2)
            dp, dn = nsi[flavour]
            return (z * fp * (gp + dp + zp) + n * fn * (gn + dn + zp)) ** 2

        def dsigma(flavour, e, t):  # events per MeV per unit flux, times 1/pref
            kin = 1.0 - (t / e if opts.recoil_term else 0.0) - m * t / (2.0 * e * e)
            return qw2(flavour, t) * kin

        def rate(t):  # dN/dT [events / MeV] before the response
            emin = 0.5 * (t + math.sqrt(t * t + 2.0 * m * t))
            total = dsigma("nu_mu", _E_LINE, t) if _E_LINE >= emin else 0.0
            if emin < _E_MAX:
                for flavour in ("nu_mu_bar", "nu_e"):
                    pp, qq = _MICHEL[flavour]
                    f = lambda e, fl=flavour: pp * e * e / c.M_MUON**3 * (qq - e / c.M_MUON) * dsigma(fl, e, t)  # noqa: E731
                    total += integrate.quad(f, emin, _E_MAX, epsabs=0.0, epsrel=EPSREL, limit=200)[0]
            return pref * total

        kinks = list(det.breakpoints_mev) + [2 * e * e / (m + 2 * e) for e in (_E_LINE, _E_MAX)]
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
            pts = sorted(x for x in kinks if lo < x < hi)
            pieces = [lo] + pts + [hi]
            for a, b in zip(pieces[:-1], pieces[1:]):
                f = lambda t: float(det.response(np.float64(t))) * rate(t)  # noqa: E731
                out[i] += integrate.quad(f, a, b, epsabs=0.0, epsrel=EPSREL, limit=200)[0]
    return out


def chi2_profiled(signal, analysis, sigma_pulls):
    """Profiled chi-square by ``scipy.optimize.minimize`` over the pulls.

    CsI (Papoulias 2020 eq. 10): ``sum_i ((N_i - S_i (1 + a1) - B0n_i (1 + a2)) / sigma_i)^2
    + (a1/s1)^2 + (a2/s2)^2``, ``sigma_i^2 = N_i + B0n_i + 2 Bss_i``. LAr (Miranda et al. 2020 eq. 3.1):
    ``(N - S (1 + a))^2 / (N + B) + (a / s)^2``.

    Returns:
        ``(chi2, pulls)``.
    """
    d = {k: np.asarray(v, dtype=np.float64) for k, v in analysis.data.items()}
    s = np.asarray(signal, dtype=np.float64)
    widths = np.asarray(sigma_pulls, dtype=np.float64)
    if analysis.name.startswith("csi2017"):
        var = d["n_meas"] + d["b_0n"] + 2.0 * d["b_ss"]

        def f(a):
            r = d["n_meas"] - s * (1.0 + a[0]) - d["b_0n"] * (1.0 + a[1])
            return float(np.sum(r * r / var) + np.sum((a / widths) ** 2))

        x0 = np.zeros(2)
    else:
        var = d["n_meas"] + d["n_brn"]

        def f(a):
            r = d["n_meas"] - s * (1.0 + a[0])
            return float(np.sum(r * r / var) + (a[0] / widths[0]) ** 2)

        x0 = np.zeros(1)
    res = optimize.minimize(f, x0)
    return float(res.fun), res.x


def profiled_point(params, analysis, sigma_pulls):
    """One scan point the scipy way: counts by nested quad, then minimize over the pulls."""
    return chi2_profiled(counts(params, analysis), analysis, sigma_pulls)


def time_points(points, analysis, sigma_pulls, which: str = "chi2"):
    """Seconds per point for a list of resolved Params (``which`` = ``"counts"`` or ``"chi2"``)."""
    out = []
    for p in points:
        t0 = time.perf_counter()
        if which == "counts":
            counts(p, analysis)
        else:
            profiled_point(p, analysis, sigma_pulls)
        out.append(time.perf_counter() - t0)
    return out

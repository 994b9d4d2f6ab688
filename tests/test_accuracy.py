"""Accuracy of the fixed Gauss-Legendre grid against the independent adaptive-quadrature
reference (:mod:`jcevns.validation`), and checks of the reference itself.

The fast tests cover the SM for every analysis and preset and every BSM self-test point for
one CsI analysis and for LAr; ``pytest -m slow`` runs the full self-test for both presets.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from scipy import integrate

import jcevns
from jcevns import constants as c
from jcevns import validation as v
from jcevns.analyses import Exposure, kinematic_breakpoints
from jcevns.cross_sections import PhysicsOptions
from jcevns.detectors import Detector
from jcevns.nuclei import AR40

#: Experiments with the reference presets (calibrated, printed); the others have their own tests.
REFERENCE = tuple(n for n in jcevns.ANALYSES if set(jcevns.PRESETS) <= set(jcevns.experiments.get(n).presets))

TOL = 1e-6
BSM_POINTS = [p for p in v.SELFTEST_POINTS if p != "sm"]


# --- fixed grid vs reference --------------------------------------------------------------
@pytest.mark.parametrize("preset", jcevns.PRESETS)
@pytest.mark.parametrize("name", REFERENCE)
def test_sm_grid_matches_reference(name, preset):
    an, p = v.point_analysis(name, preset, "sm")
    if an.detector.smearing is not None:
        pytest.skip("the quadrature reference covers detectors without smearing")
    res = v.compare(p, an)
    assert res["reference"].shape == (3, an.n_bins)
    assert res["max_rel_error"] <= TOL, res


@pytest.mark.parametrize("point", BSM_POINTS)
@pytest.mark.parametrize("name", ["csi2017-oldqf", "lar2020"])
def test_bsm_grid_matches_reference(name, point):
    an, p = v.point_analysis(name, "calibrated", point)
    res = v.compare(p, an)
    assert res["max_rel_error_total"] <= TOL, res
    assert res["max_rel_error_per_flavour"] <= TOL, res


@pytest.mark.parametrize("point", ["nsi_fc_as_printed", "charge_radius", "scalar"])
def test_bsm_grid_matches_reference_newqf_printed(point):
    # the other CsI quenching model and the printed preset (KN 1.23, printed charge radius)
    an, p = v.point_analysis("csi2017-newqf", "printed", point)
    assert v.compare(p, an)["max_rel_error"] <= TOL


@pytest.mark.parametrize("name", REFERENCE)
def test_selftest_points_are_sensitive(name):
    """Every BSM point moves the total by >= 5 %, so agreement there tests that ingredient."""
    an, p = v.point_analysis(name, "calibrated", "sm")
    sm = float(jcevns.predict(p, an).sum())
    for point in BSM_POINTS:
        an, p = v.point_analysis(name, "calibrated", point)
        effect = float(jcevns.predict(p, an).sum()) / sm - 1.0
        assert abs(effect) >= 0.05, (point, effect)


def test_coarse_grid_is_detected():
    """With 2 nodes per panel the CsI grid is wrong by ~1e-4 and ``compare`` says so. (The LAr
    bin is cut into ~60 panels at the efficiency knots, so even 2 nodes per panel give ~4e-8
    there: the comparison still resolves that, far below the tolerance.)"""
    an = jcevns.build("csi2017-oldqf", n_nodes=2)
    res = v.compare(an.params(), an)
    assert res["max_rel_error"] > TOL, res["max_rel_error"]
    an = jcevns.build("lar2020", n_nodes=2)
    assert 1e-9 < v.compare(an.params(), an)["max_rel_error"] < TOL
    rows, ok = v.run_selftest(analyses=["lar2020"], points=["sm", "scalar"])
    assert ok and len(rows) == 2 and {r["point"] for r in rows} == {"sm", "scalar"}
    assert all(set(r) == {"analysis", "point", "max_rel_error", "seconds"} for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("preset", jcevns.PRESETS)
def test_full_selftest(preset):
    rows, ok = v.run_selftest(preset=preset)
    assert ok, [r for r in rows if r["max_rel_error"] > TOL]


# --- the reference itself ----------------------------------------------------------------
@pytest.mark.parametrize("flavour", ["nu_mu_bar", "nu_e"])
def test_michel_moments_closed_form(flavour):
    """int_{E0}^{m/2} f(E) E^-k dE by quad equals the hand-integrated polynomial, and the
    spectra are normalised to one neutrino."""
    p, q = {"nu_mu_bar": (64.0, 0.75), "nu_e": (192.0, 0.5)}[flavour]
    m = c.M_MUON
    hi = m / 2

    def closed(k, e0):
        # f(E) E^-k = p/m^3 (q E^(2-k) - E^(3-k)/m)
        prim = lambda e: p / m**3 * (q * e ** (3 - k) / (3 - k) - e ** (4 - k) / ((4 - k) * m))  # noqa: E731
        return prim(hi) - prim(e0)

    assert integrate.quad(lambda e: v.michel(flavour, e), 0.0, hi, epsabs=0, epsrel=1e-13)[0] == pytest.approx(
        1.0, rel=1e-12
    )
    e0s = np.array([0.0, 5.0, 20.0, 40.0, 52.0])
    grid_moments = np.asarray(jcevns.flux.moments(e0s))[jcevns.FLAVOURS.index(flavour)]
    for k in range(3):
        for j, e0 in enumerate(e0s):
            num = integrate.quad(lambda e: v.michel(flavour, e) * e**-k, e0, hi, epsabs=0, epsrel=1e-13)[0]
            assert num == pytest.approx(closed(k, e0), rel=1e-11)
            assert grid_moments[k, j] == pytest.approx(closed(k, e0), rel=1e-11)


def _point_like_analysis(edges, response=lambda t: np.ones_like(np.asarray(t, dtype=float)), **physics):
    """A one-isotope (Ar40) stand-in analysis with n_targets = 1, r N_POT = 1, L = 1 m and a
    form factor that is 1 to ~1e-14 (Klein-Nystrand with a 1e-7 fm radius)."""
    opts = dict(form_factor="klein-nystrand", kn_radius_coeff_fm=1e-7, kn_yukawa_range_fm=1e-7)
    det = Detector(
        name="test",
        nuclei=(AR40,),
        n_targets=(1.0,),
        t_edges_mev=tuple(edges),
        observable="T",
        obs_edges=tuple(edges),
        response=response,
    )
    config = types.SimpleNamespace(physics=PhysicsOptions(**(opts | physics)), exposure=Exposure(1.0, 1.0, 1.0))
    return types.SimpleNamespace(detector=det, config=config)


@pytest.mark.parametrize("recoil_term", [True, False])
def test_reference_against_hand_integrated_cross_section(recoil_term):
    """F = 1 and unit response: the T integral of dsigma/dT is elementary,

        weak:   W' [(b - a) - (b^2 - a^2)/(2E) [recoil] - m (b^2 - a^2)/(4 E^2)]
        MM:     M' [ln(b/a) - (b - a)/E]
        scalar: S'/E^2 [ln u + M^2/u]_{u(a)}^{u(b)} / (4 m^2),  u = 2 m T + M^2

    with b = min(T_hi, T_max(E)); the prompt line then needs no integral at all and the delayed
    spectra one 1D integral over E (the order of integration swapped)."""
    m, z, n = AR40.mass_mev, AR40.z, AR40.a - AR40.z
    e_line, e_max = c.E_NU_PROMPT, c.M_MUON / 2
    t_line = v.t_max(e_line, m)
    t_end = v.t_max(e_max, m)
    edges = [0.002, 0.5 * t_line, 0.5 * (t_line + t_end)]  # the line ends inside the second bin
    an = _point_like_analysis(edges, recoil_term=recoil_term, couplings="tree", scalar_charge="papoulias2020")
    vals = dict(sin2w=0.2312, rn=3.4, mu_nu=30.0, mu_nu_mu=20.0, mu_nu_e=40.0, scalar_g=3e-5, scalar_m=20.0)
    params = jcevns.Params(**vals)
    ref = v.reference_counts(params, an)

    cm2 = c.HBARC_MEV_CM**2
    w = (z * (0.5 - 2 * vals["sin2w"]) - 0.5 * n) ** 2 * c.G_FERMI**2 * m / math.pi * cm2
    qs = vals["scalar_g"] ** 2 * (15.1 * z + 14.0 * n)
    s_pref = m**2 * qs**2 / (4 * math.pi) * cm2
    big_m2 = vals["scalar_m"] ** 2
    mu2 = {"nu_mu": 30.0**2 + 20.0**2, "nu_mu_bar": 30.0**2, "nu_e": 30.0**2 + 40.0**2}

    def sigma(flavour, e, a, hi):
        b = min(hi, v.t_max(e, m))
        if b <= a:
            return 0.0
        weak = w * ((b - a) - ((b * b - a * a) / (2 * e) if recoil_term else 0.0) - m * (b * b - a * a) / (4 * e * e))
        mm = (
            math.pi * c.ALPHA_EM**2 * z**2 / c.M_ELECTRON**2 * 1e-20 * mu2[flavour] * cm2
            * (math.log(b / a) - (b - a) / e)
        )
        prim = lambda t: (math.log(2 * m * t + big_m2) + big_m2 / (2 * m * t + big_m2)) / (4 * m * m)  # noqa: E731
        scalar = s_pref / (e * e) * (prim(b) - prim(a))
        return weak + mm + scalar

    norm = 1.0 / (4 * math.pi * 100.0**2)
    expected = np.zeros((3, 2))
    for i, (a, hi) in enumerate(zip(edges[:-1], edges[1:])):
        expected[0, i] = sigma("nu_mu", e_line, a, hi)
        for j, flavour in ((1, "nu_mu_bar"), (2, "nu_e")):
            expected[j, i] = integrate.quad(
                lambda e: v.michel(flavour, e) * sigma(flavour, e, a, hi),
                v.e_min(a, m), e_max, points=[v.e_min(hi, m)], epsabs=0, epsrel=1e-12,
            )[0]
    np.testing.assert_allclose(ref, norm * expected, rtol=1e-9)
    # the scalar and MM terms are not negligible here, so the check covers them
    assert np.all(expected[:, 0] > 0)


def test_reference_pieces_match_papers():
    """Spot values of the transcribed couplings, charge-radius shift and form factors."""
    gp, gn = v.couplings_radiative(0.2382)
    qw_cs = 55 * gp + 78 * gn
    assert qw_cs == pytest.approx(-39.0, abs=0.1)  # conventions notes: Q_W(Cs) ~ -39.0
    assert 53 * gp + 74 * gn == pytest.approx(-37.0, abs=0.1)  # Q_W(I) ~ -37.0
    assert v.couplings_tree(0.25) == (0.0, -0.5)
    # sqrt2 pi alpha / (3 G_F) * 1e-32 cm^2, printed; half for the standard convention
    printed = v.charge_radius_shift_per_unit("printed")
    assert printed == pytest.approx(0.0238, rel=0.01)
    assert v.charge_radius_shift_per_unit("standard") == pytest.approx(printed / 2, rel=1e-15)
    # 3 j1(x)/x from scipy's spherical Bessel function, both branches
    from scipy.special import spherical_jn

    for x in (1e-3, 0.019, 0.021, 0.5, 3.0, 7.0):
        assert v.three_j1_over_x(x) == pytest.approx(3 * spherical_jn(1, x) / x, rel=1e-12, abs=1e-15)
    # Helm: rms radius of the distribution is the parameter (F = 1 - q^2 R^2 / 6 + ...)
    q = 1e-3
    assert (1 - v.helm(q, 4.0, 0.9)) / q**2 == pytest.approx(4.0**2 / 6, rel=1e-5)


def test_reference_breakpoints_and_chunking(monkeypatch):
    """The reference's own kinematic breakpoints equal the package's, and splitting the LAr
    bin into more chunks than needed does not change the result beyond the quad tolerance."""
    an, p = v.point_analysis("lar2020", "calibrated", "sm")
    assert sorted(v._breakpoints(an.detector)) == pytest.approx(sorted(kinematic_breakpoints(an.detector)), rel=1e-14)
    base = v.reference_counts(p, an)
    monkeypatch.setattr(v, "MAX_POINTS", 3)
    np.testing.assert_allclose(v.reference_counts(p, an), base, rtol=1e-9)


def test_reference_is_independent_of_the_model(monkeypatch):
    """The reference keeps working with every physics function of the model disabled."""
    from jcevns import couplings, cross_sections, flux, form_factors, forward

    def boom(*args, **kwargs):
        raise AssertionError("the reference must not use the model's physics code")

    for mod, names in (
        (cross_sections, ("coefficients", "dsigma_dt", "form_factor_pair")),
        (form_factors, ("helm", "klein_nystrand", "j1_ratio_of_x2")),
        (flux, ("moments", "spectrum", "e_min", "t_max")),
        (couplings, ("tree_level", "radiative", "nucleon_couplings")),
        (forward, ("predict", "predict_per_flavour", "recoil_spectrum")),
    ):
        for name in names:
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, boom)
    an, p = v.point_analysis("csi2017-oldqf", "calibrated", "magnetic_moment")
    ref = v.reference_counts(p, an)
    assert np.all(np.isfinite(ref)) and ref.sum() > 0

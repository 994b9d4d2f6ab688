"""The CsI 2017 detector mapping, the public cross-section and spectrum functions at default
parameters, exclusion curves on a grid that starts at g = 0, and option variants that no other
test builds. Reference numbers are computed here by hand or with numpy/scipy, independently of
the package code."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.special import spherical_jn

import jcevns
from jcevns.cross_sections import PhysicsOptions
from jcevns.detectors import csi2017
from jcevns.intervals import exclusion_curve
from jcevns.nuclei import AR40

RELEASE_YAML = Path(jcevns.__file__).resolve().parent / "data" / "releases" / "coherent-csi-2017" / (
    "coherent_parameters.yaml"
)
OLD = csi2017.CsIOptions(qf="constant")
NEW = csi2017.CsIOptions(qf="polynomial")
# COHERENT's quenching polynomial, E_ee = sum c_k T^k [MeV] (arXiv:2110.07730 ancillary file)
NEW_QF = (0.0554628, 4.30681, -111.707, 840.384)


# --- CsI detector mapping ---------------------------------------------------------------------
def test_photoelectrons_by_hand():
    # constant QF: 13.348 PE/keVee x 0.0878 x 10 keVnr (Science 2017 release values)
    assert csi2017.photoelectrons(0.010, OLD) == pytest.approx(13.348 * 0.0878 * 10.0, rel=1e-14)
    # polynomial QF at 10 keVnr: E_ee = 0.88200584 keVee, evaluated term by term
    e_ee_kev = (0.0554628 * 1e-2 + 4.30681 * 1e-4 - 111.707 * 1e-6 + 840.384 * 1e-8) * 1e3
    assert e_ee_kev == pytest.approx(0.88200584, abs=1e-8)
    assert csi2017.photoelectrons(0.010, NEW) == pytest.approx(13.348 * e_ee_kev, rel=1e-13)


@pytest.mark.parametrize("n_pe", [5.0, 6.0, 11.0, 20.0, 30.0])
def test_brentq_inversion_against_closed_form_and_polynomial_roots(n_pe):
    # constant QF: T = n / (L_Y QF) exactly
    assert csi2017.recoil_for_photoelectrons(n_pe, OLD) == pytest.approx(n_pe / (13.348e3 * 0.0878), rel=1e-13)
    # polynomial QF: the real root in (0, 60 keV) of L_Y * 1e3 * E_ee(T) - n, by numpy.roots
    coeffs = [13.348e3 * c for c in reversed(NEW_QF)] + [-n_pe]
    roots = np.roots(coeffs)
    real = [r.real for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < 0.06]
    assert len(real) == 1
    assert csi2017.recoil_for_photoelectrons(n_pe, NEW) == pytest.approx(real[0], rel=1e-11)


def test_detector_bin_edges_are_the_inverted_pe_edges():
    an = jcevns.build("csi2017-newqf")
    for pe, t in zip(an.bin_edges, an.detector.t_edges_mev):
        coeffs = [13.348e3 * c for c in reversed(NEW_QF)] + [-pe]
        root = min(r.real for r in np.roots(coeffs) if abs(r.imag) < 1e-12 and r.real > 0)
        assert t == pytest.approx(root, rel=1e-11)


def test_acceptance_against_the_release_formula():
    """Papoulias eqs. 8-9 with a, k, x0 read from the release's coherent_parameters.yaml."""
    text = RELEASE_YAML.read_text()
    params = yaml.safe_load(text)
    flat = repr(params)
    for value in ("0.6655", "0.4942", "10.8507"):
        assert value in flat  # the release carries the three acceptance constants
    a, k, x0 = 0.6655, 0.4942, 10.8507
    x = np.array([0.0, 4.99, 5.0, 5.5, 5.99, 6.0, 10.8507, 20.0, 49.0])
    step = np.array([0, 0, 0.5, 0.5, 0.5, 1, 1, 1, 1])
    expected = a / (1 + np.exp(-k * (x - x0))) * step
    np.testing.assert_allclose(csi2017.acceptance(x), expected, rtol=1e-14, atol=0)
    assert csi2017.acceptance(10.8507) == pytest.approx(0.6655 / 2, rel=1e-14)
    assert csi2017.acceptance(1e3) == pytest.approx(0.6655, rel=1e-14)


# --- public dsigma_dt / recoil_spectrum --------------------------------------------------------
G_F = 1.1663788e-11  # MeV^-2 (PDG 2022)
HBARC_CM = 1.973269804e-11  # MeV cm (CODATA 2018)
M_AR40 = 39.9623831237 * 931.49410242 - 18 * 0.51099895000  # MeV, AME2020 atomic mass - electrons


def _helm(q_fm, rms, s=0.9):
    r0 = math.sqrt(5.0 / 3.0 * (rms**2 - 3 * s**2))
    x = q_fm * r0
    return 3 * spherical_jn(1, x) / x * math.exp(-(q_fm**2) * s**2 / 2)


@pytest.mark.parametrize("e_nu, t", [(29.79, 0.010), (45.0, 0.040), (52.0, 0.100)])
def test_dsigma_dt_against_miranda_eq_2_1(e_nu, t):
    """Miranda et al., JHEP 05 (2020) 130, eqs. 2.1-2.4 (tree couplings, Helm with R_p = 3.14 fm,
    R_n = 3.36 fm, s = 0.9 fm), written out here with scipy's spherical Bessel function."""
    opts = PhysicsOptions(couplings="tree", recoil_term=True, form_factor="helm", proton_rms_radius_fm=(3.14,))
    p = jcevns.Params(sin2w=0.2312, rn=3.36)
    got = np.asarray(jcevns.dsigma_dt(p, AR40, e_nu, t, opts))
    q_fm = math.sqrt(2 * M_AR40 * t + t * t) / 197.3269804
    qw = (0.5 - 2 * 0.2312) * 18 * _helm(q_fm, 3.14) - 0.5 * 22 * _helm(q_fm, 3.36)
    kin = 2 - 2 * t / e_nu - M_AR40 * t / e_nu**2
    expected = G_F**2 * M_AR40 / (2 * math.pi) * qw**2 * kin * HBARC_CM**2
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=2e-4)  # Q^2 = 2mT vs 2mT + T^2, constants' digits


def test_dsigma_dt_with_default_params_asks_for_sin2w():
    with pytest.raises(ValueError, match="sin2w"):
        jcevns.dsigma_dt(jcevns.Params(), AR40, 30.0, 0.02, PhysicsOptions())
    with pytest.raises(ValueError, match="rn"):
        jcevns.dsigma_dt(jcevns.Params(sin2w=0.23), AR40, 30.0, 0.02, PhysicsOptions(form_factor="helm"))
    # Klein-Nystrand does not use rn: sin2w alone is enough
    v = np.asarray(jcevns.dsigma_dt(jcevns.Params(sin2w=0.23), AR40, 30.0, 0.02, PhysicsOptions()))
    assert np.all(np.isfinite(v)) and np.all(v > 0)


@pytest.mark.parametrize("name", ["csi2017-oldqf", "lar2020"])
def test_recoil_spectrum_with_default_params(name):
    an = jcevns.build(name)
    got = np.asarray(jcevns.recoil_spectrum(jcevns.Params(), an))
    ref = np.asarray(jcevns.recoil_spectrum(an.params(), an))
    np.testing.assert_array_equal(got, ref)
    assert got.shape == (3, an.t_nodes.shape[0]) and np.all(got >= 0) and np.all(got.sum(axis=1) > 0)
    with pytest.raises(ValueError, match="sin2w"):
        jcevns.recoil_spectrum(an.params(sin2w=1.5), an)


def test_recoil_spectrum_prompt_line_edge():
    """The prompt nu_mu line at (m_pi^2 - m_mu^2) / (2 m_pi) = 29.79 MeV (PDG masses) cannot recoil
    an argon nucleus above T_max = 2 E^2 / (m + 2 E); above it only the delayed flavours remain."""
    an = jcevns.build("lar2020")
    spec = np.asarray(jcevns.recoil_spectrum(an.params(), an))
    m_pi, m_mu = 139.57039, 105.6583755
    e_line = (m_pi**2 - m_mu**2) / (2 * m_pi)
    t_max = 2 * e_line**2 / (M_AR40 + 2 * e_line)
    t = np.asarray(an.t_nodes)
    assert np.all(spec[0, t > t_max * (1 + 1e-9)] == 0)
    assert np.all(spec[0, t < t_max * (1 - 1e-9)] > 0)
    assert np.all(spec[1:, t > t_max] > 0)


# --- exclusion_curve on a grid with g = 0 -------------------------------------------------------
def test_exclusion_curve_grid_starting_at_zero():
    g = np.concatenate([[0.0], np.logspace(-4, 0, 401)])
    masses = np.array([1.0, 10.0, 100.0])
    g0 = np.array([1e-3, 1e-2, 2e-5])  # the last crossing lies between g = 0 and the first node
    delta = 10.0 * (g[None, :] / g0[:, None]) ** 4
    with np.errstate(all="raise"):
        out = exclusion_curve(masses, g, delta, level=4.61)
    np.testing.assert_allclose(out[:2], g0[:2] * 0.461**0.25, rtol=1e-2)
    # between 0 and 1e-4 the curve is interpolated linearly in g: 4.61 = 10 * t * (1e-4 / 2e-5)^4
    t = 4.61 / (10.0 * (1e-4 / 2e-5) ** 4)
    assert out[2] == pytest.approx(t * 1e-4, rel=1e-12)
    assert np.all(np.isfinite(out))


# --- option variants ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "variant", ["plus_1sigma_model0", "minus_1sigma_model0", "plus_1sigma_model1", "minus_1sigma_model1"]
)
def test_quenching_one_sigma_variants(variant):
    """The release's +-1 sigma quenching curves: the 6 PE edge moves to the root of the variant's
    polynomial, and the SM total moves by a few per cent, up where the variant gives more light
    near threshold than the nominal curve and down where it gives less (model 1's "plus" curve
    is below the nominal one at 6 keVnr)."""
    nominal = jcevns.build("csi2017-newqf")
    an = jcevns.build("csi2017-newqf", qf_polynomial=variant)
    assert an.options()["qf_polynomial"] == variant
    coeffs = jcevns.data.load("csi2017_detector")["qf_polynomial"][variant]
    root = min(r.real for r in np.roots([13.348e3 * c for c in reversed(coeffs)] + [-6.0])
               if abs(r.imag) < 1e-12 and r.real > 0)
    assert an.detector.t_edges_mev[0] == pytest.approx(root, rel=1e-11)
    t = nominal.detector.t_edges_mev[0]
    def e_ee(cs):
        return sum(c * t ** (k + 1) for k, c in enumerate(cs))

    direction = 1 if e_ee(coeffs) > e_ee(NEW_QF) else -1
    assert np.sign(t - an.detector.t_edges_mev[0]) == direction
    ratio = float(jcevns.predict(an.params(), an).sum() / jcevns.predict(nominal.params(), nominal).sum())
    assert 0.005 < direction * (ratio - 1.0) < 0.04  # a 2-3 % effect


def test_data_bin_6_8_digitized():
    """The digitised Science figure has 8 events in the 6-8 PE bin where the release has 9."""
    release = jcevns.build("csi2017-newqf")
    digit = jcevns.build("csi2017-newqf", data_bin_6_8="digitized")
    n_r, n_d = np.asarray(release.data["n_meas"]), np.asarray(digit.data["n_meas"])
    assert (n_r[0], n_d[0]) == (9.0, 8.0)
    np.testing.assert_array_equal(n_r[1:], n_d[1:])
    # the chi-square at fixed pulls changes only in bin 0, by the hand-computed amount
    p = release.params()
    s = np.asarray(jcevns.predict(p, release))
    b0n, bss = np.asarray(release.data["b_0n"]), np.asarray(release.data["b_ss"])
    lik_r, lik_d = jcevns.likelihood(release), jcevns.likelihood(digit)
    pulls = np.array([0.0, 0.0])
    got = float(jcevns.statistic_at_pulls(p, pulls, lik_d) - jcevns.statistic_at_pulls(p, pulls, lik_r))
    expected = (8 - s[0] - b0n[0]) ** 2 / (8 + b0n[0] + 2 * bss[0]) - (9 - s[0] - b0n[0]) ** 2 / (
        9 + b0n[0] + 2 * bss[0]
    )
    assert got == pytest.approx(expected, rel=1e-12)
    # and the best-fit sin2w moves by about 0.001 (Papoulias, PRD 102 113004 uses one of the two)
    grid = np.linspace(0.19, 0.23, 4001)
    best = [jcevns.scan(lik, {"sin2w": grid}).argmin()["sin2w"] for lik in (lik_r, lik_d)]
    assert 1e-4 < abs(best[1] - best[0]) < 3e-3

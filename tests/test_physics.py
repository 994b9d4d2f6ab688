"""Physics building blocks against closed forms, scipy and the papers' printed numbers."""

import math

import jax
import numpy as np
import pytest
from scipy import integrate, special

from jcevns import constants as c
from jcevns import couplings, flux, form_factors
from jcevns.nuclei import AR40, CS133, I127, targets_per_kg


# --- form factors ------------------------------------------------------------------
@pytest.mark.parametrize("x", [1e-6, 1e-3, 0.05, 0.2, 0.22360679, 0.3, 1.0, 3.0, 4.4934, 7.0, 20.0])
def test_j1_ratio_matches_scipy(x):
    expected = 3.0 * special.spherical_jn(1, x) / x
    got = float(form_factors.j1_ratio_of_x2(x * x))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_form_factors_are_one_at_zero_momentum_with_finite_gradient():
    for f in (
        lambda q: form_factors.helm(q, 4.8, 0.9),
        lambda q: form_factors.klein_nystrand(q, 1.2 * 133 ** (1 / 3), 0.7),
    ):
        assert float(f(0.0)) == 1.0
        g = jax.grad(f)(0.0)
        assert np.isfinite(g) and g == 0.0
        # F(q) ~ 1 - q^2 <r^2> / 6 at small q: the slope of F in q^2 is finite and negative.
        d2 = jax.grad(jax.grad(f))(0.0)
        assert np.isfinite(d2) and d2 < 0


def test_helm_small_q_gives_its_rms_radius():
    # F = 1 - q^2 R^2 / 6 + O(q^4) defines the rms radius R.
    r = 3.36
    q = 1e-3
    f = float(form_factors.helm(q, r, 0.9))
    assert (1.0 - f) * 6.0 / q**2 == pytest.approx(r**2, rel=1e-5)


def test_klein_nystrand_rms_radius():
    # <r^2> = 3/5 R_A^2 + 6 a_k^2 for the Klein-Nystrand (hard sphere x Yukawa) density.
    ra, ak, q = 6.0, 0.7, 1e-3
    f = float(form_factors.klein_nystrand(q, ra, ak))
    assert (1.0 - f) * 6.0 / q**2 == pytest.approx(0.6 * ra**2 + 6 * ak**2, rel=1e-5)


def test_helm_value_and_gradient_finite_at_the_boundary():
    s = 0.9
    r_min = form_factors.helm_min_rms_radius(s)
    assert r_min == pytest.approx(math.sqrt(3) * 0.9)
    f = lambda r: form_factors.helm(0.5, r, s)  # noqa: E731
    value, grad = jax.value_and_grad(f)(r_min)
    assert value == pytest.approx(math.exp(-0.5 * 0.25 * s * s), rel=1e-12)  # R_0 = 0: pure Gaussian
    assert np.isfinite(grad)


def test_helm_matches_closed_form():
    q, r, s = 0.7, 4.8, 0.9
    r0 = math.sqrt(5 / 3 * (r * r - 3 * s * s))
    x = q * r0
    expected = 3 * (math.sin(x) - x * math.cos(x)) / x**3 * math.exp(-0.5 * (q * s) ** 2)
    assert float(form_factors.helm(q, r, s)) == pytest.approx(expected, rel=1e-13)


# --- flux ------------------------------------------------------------------------
def test_prompt_energy():
    assert c.E_NU_PROMPT == pytest.approx(29.79, abs=0.01)  # notes: 29.79 MeV


@pytest.mark.parametrize("flavour", ["nu_mu_bar", "nu_e"])
def test_michel_spectra_are_normalised(flavour):
    total, _ = integrate.quad(lambda e: float(flux.spectrum(flavour, e)), 0, c.E_NU_MAX_DELAYED, epsrel=1e-12)
    assert total == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("e_min", [0.0, 5.0, 29.0, 40.0, 52.0, 60.0])
def test_flux_moments_against_quad(e_min):
    m = np.asarray(flux.moments(e_min))
    assert m.shape == (3, 3)
    for i, flavour in enumerate(flux.FLAVOURS):
        for k in range(3):
            if flavour == "nu_mu":
                expected = c.E_NU_PROMPT**-k if e_min < c.E_NU_PROMPT else 0.0
            else:
                lo = min(e_min, c.E_NU_MAX_DELAYED)
                expected = integrate.quad(
                    lambda e: float(flux.spectrum(flavour, e)) * e**-k if e > 0 else 0.0,
                    lo,
                    c.E_NU_MAX_DELAYED,
                    epsrel=1e-13,
                )[0]
            assert m[i, k] == pytest.approx(expected, rel=1e-12, abs=1e-16)


def test_kinematics_inverse():
    for m in (CS133.mass_mev, AR40.mass_mev):
        for e in (10.0, c.E_NU_PROMPT, 52.0):
            assert float(flux.e_min(flux.t_max(e, m), m)) == pytest.approx(e, rel=1e-12)


def test_flux_normalisation_csi():
    # Papoulias 2020 eq. 2: r N_POT / (4 pi L^2) with r = 0.08, 1.76e23 POT, 19.3 m.
    expected = 0.08 * 1.76e23 / (4 * math.pi * 1930.0**2)
    assert flux.normalisation_per_cm2(0.08, 1.76e23, 19.3) == pytest.approx(expected, rel=1e-15)


# --- couplings and nuclei ----------------------------------------------------------
def test_weak_charges_with_radiative_corrections():
    # Expected (docs/conventions.md): Q_W(Cs) ~ -39.0 and Q_W(I) ~ -37.0 with s_Z^2 = 0.2382 (Papoulias 2020 eqs. 4-5).
    g_p, g_n = couplings.radiative(0.2382)
    assert g_p * 55 + g_n * 78 == pytest.approx(-39.0, abs=0.06)
    assert g_p * 53 + g_n * 74 == pytest.approx(-37.0, abs=0.06)


def test_tree_level_couplings():
    g_p, g_n = couplings.tree_level(0.2312)
    assert g_p == pytest.approx(0.5 - 2 * 0.2312)
    assert g_n == -0.5


def test_unknown_coupling_scheme_raises():
    with pytest.raises(ValueError, match="couplings must be one of"):
        couplings.nucleon_couplings("oneloop", 0.23)


def test_targets_per_kg_csi():
    cs, i = targets_per_kg(((CS133, 1), (I127, 1)))
    assert cs == i
    assert cs == pytest.approx(1e3 / (132.905 + 126.904) * 6.02214076e23, rel=1e-5)


def test_charge_radius_coefficient():
    # sqrt(2) pi alpha / (3 G_F) in units of 1e-32 cm^2: about 0.0238 per unit as printed.
    from jcevns.cross_sections import PhysicsOptions

    printed = PhysicsOptions(charge_radius_convention="printed").charge_radius_coeff
    standard = PhysicsOptions(charge_radius_convention="standard").charge_radius_coeff
    g_f = 1.1663787e-5 * 1e-6  # MeV^-2
    expected = math.sqrt(2) * math.pi / 137.036 / (3 * g_f) * 1e-32 / (197.3269804e-13) ** 2
    assert printed == pytest.approx(expected, rel=1e-12)
    assert standard == pytest.approx(printed / 2, rel=1e-15)

"""The binned model's chi-square statistic against the two papers' formulas, written out here.

CsI 2017: Papoulias, PRD 102 113004 (2020), arXiv:1907.11644, eq. 10; LAr: Miranda et al.,
JHEP 05 (2020) 130, arXiv:2003.12050, eq. 3.1. The papers write pulls of width sigma, the
binned model unit Gaussians (``a_paper = sigma a``).
"""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

import jcevns
from jcevns import binned

S1_NEWQF, S2 = 0.128, 0.25  # Papoulias 2020 below eq. 10
S_LAR = 0.085  # Miranda et al. 2020 below eq. 3.1


@pytest.fixture(scope="module")
def csi():
    an = jcevns.build("csi2017-newqf")
    d = {k: np.asarray(v) for k, v in an.data.items()}
    bm = binned.chi2_model(
        d["n_meas"],
        d["n_meas"] + d["b_0n"] + 2 * d["b_ss"],
        signal_sigma=S1_NEWQF,
        signal_pull="a1",
        backgrounds=[("b_0n", d["b_0n"], S2, "a2")],
    )
    return an, d, bm


def _csi_paper_chi2(d, signal, a1, a2):
    """Papoulias 2020 eq. 10, pulls of widths 0.128 and 0.25."""
    resid = d["n_meas"] - signal * (1 + a1) - d["b_0n"] * (1 + a2)
    sigma2 = d["n_meas"] + d["b_0n"] + 2 * d["b_ss"]
    return np.sum(resid**2 / sigma2) + (a1 / S1_NEWQF) ** 2 + (a2 / S2) ** 2


def _csi_exact_minimum(d, signal):
    """Minimum of eq. 10 over (a1, a2) in exact rational arithmetic on the float64 inputs."""
    n, b, s = ([Fraction(float(x)) for x in d[k]] for k in ("n_meas", "b_0n", "signal"))
    v = [Fraction(float(x)) for x in d["n_meas"] + d["b_0n"] + 2 * d["b_ss"]]
    s1, s2 = Fraction(S1_NEWQF), Fraction(S2)
    r = [ni - si - bi for ni, si, bi in zip(n, s, b)]
    m11 = sum(si * si / vi for si, vi in zip(s, v)) + 1 / s1**2
    m12 = sum(si * bi / vi for si, bi, vi in zip(s, b, v))
    m22 = sum(bi * bi / vi for bi, vi in zip(b, v)) + 1 / s2**2
    r1 = sum(si * ri / vi for si, ri, vi in zip(s, r, v))
    r2 = sum(bi * ri / vi for bi, ri, vi in zip(b, r, v))
    det = m11 * m22 - m12 * m12
    a1, a2 = (m22 * r1 - m12 * r2) / det, (m11 * r2 - m12 * r1) / det
    chi2 = sum((ri - si * a1 - bi * a2) ** 2 / vi for ri, si, bi, vi in zip(r, s, b, v))
    return float(chi2 + (a1 / s1) ** 2 + (a2 / s2) ** 2)


@pytest.mark.parametrize("pulls", [(0.0, 0.0), (0.1, -0.2), (-0.3, 0.4)])
def test_csi_chi2_equals_paper_formula(csi, pulls):
    an, d, bm = csi
    signal = np.asarray(jcevns.predict(an.params(), an))
    unit = binned.from_paper_units(bm, jnp.asarray(pulls))
    got = float(binned.twice_nll(bm, signal, unit))
    assert got == pytest.approx(_csi_paper_chi2(d, signal, *pulls), rel=1e-12)


def test_csi_profiled_chi2_equals_minimised_paper_formula(csi):
    an, d, bm = csi
    signal = np.asarray(jcevns.predict(an.params(sin2w=0.21), an))
    res = binned.profile(bm, signal)
    ref = minimize(lambda a: _csi_paper_chi2(d, signal, *a), np.zeros(2), method="Nelder-Mead",
                   options=dict(xatol=1e-12, fatol=1e-14))
    assert bool(res.converged)
    assert float(res.value) == pytest.approx(ref.fun, rel=1e-9)
    np.testing.assert_allclose(np.asarray(binned.to_paper_units(bm, res.pulls)), ref.x, atol=1e-6)
    assert float(res.value) == pytest.approx(_csi_exact_minimum(d | {"signal": signal}, signal), rel=1e-12)


@pytest.mark.parametrize("g", [1.0, 10.0])
def test_csi_profiled_chi2_exact_at_huge_signal(csi, g):
    """At a light Z' with g = 1 or 10 the signal is 1e16-1e20 times the data; the profiled value
    must still equal the exact minimum (the signal factor is solved for, not 1 + sigma a)."""
    an, d, bm = csi
    signal = np.asarray(jcevns.predict(an.params(zprime_g=g, zprime_m=1e-3), an))
    assert signal.sum() > 1e15 * d["n_meas"].sum()
    res = binned.profile(bm, signal)
    assert bool(res.converged)
    assert float(res.value) == pytest.approx(_csi_exact_minimum(d | {"signal": signal}, signal), rel=1e-6)


def test_lar_chi2_equals_paper_formula():
    an = jcevns.build("lar2020")
    n, brn = float(an.data["n_meas"][0]), float(an.data["n_brn"][0])
    bm = binned.chi2_model([n], [n + brn], signal_sigma=S_LAR, signal_pull="alpha")
    for sin2w in (0.2, 0.25, 0.3):
        nth = float(jcevns.predict(an.params(sin2w=sin2w), an)[0])
        # Miranda et al. eq. 3.1 minimised over alpha by hand (one-dimensional quadratic).
        alpha = nth * (n - nth) / (n + brn) / (nth**2 / (n + brn) + 1 / S_LAR**2)
        chi2 = (n - nth * (1 + alpha)) ** 2 / (n + brn) + (alpha / S_LAR) ** 2
        res = binned.profile(bm, jnp.array([nth]))
        assert float(res.value) == pytest.approx(chi2, rel=1e-12)
        assert float(binned.to_paper_units(bm, res.pulls)[0]) == pytest.approx(alpha, rel=1e-10)
        assert float(binned.twice_nll(bm, jnp.array([nth]), jnp.array([0.3]))) == pytest.approx(
            (n - nth * (1 + 0.3 * S_LAR)) ** 2 / (n + brn) + 0.09, rel=1e-12
        )


def test_profiled_chi2_value_and_pulls_gradients_match_finite_differences(csi):
    an, d, bm = csi
    signal = jnp.asarray(jcevns.predict(an.params(), an))
    value = jax.jit(lambda s: binned.profile(bm, signal * s).value)
    pull0 = jax.jit(lambda s: binned.profile(bm, signal * s).pulls[0])
    h = 1e-5
    for f in (value, pull0):
        fd = (float(f(1.2 + h)) - float(f(1.2 - h))) / (2 * h)
        assert float(jax.grad(f)(1.2)) == pytest.approx(fd, rel=1e-6)


def test_paper_units_round_trip(csi):
    _, _, bm = csi
    a = jnp.array([0.3, -1.1])
    np.testing.assert_allclose(np.asarray(binned.to_paper_units(bm, a)), [0.3 * S1_NEWQF, -1.1 * S2], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(binned.from_paper_units(bm, binned.to_paper_units(bm, a))), a, rtol=1e-15)


def test_nonlinear_chi2_uses_newton_and_matches_scipy():
    """A shape nuisance with curvature makes the chi-square non-quadratic in the pulls."""
    obs, sig, bkg = np.array([12.0, 7.0, 3.0]), np.array([5.0, 3.0, 1.0]), np.array([6.0, 5.0, 1.5])
    up, down = np.array([1.3, 1.1, 0.9]), np.array([0.9, 0.95, 1.2])
    bm = binned.model(
        obs,
        [binned.Sample("cevns"), binned.Sample("bkg", bkg)],
        [binned.NormSys("flux", ("cevns",), 0.1), binned.ShapeSys("shape", "bkg", up, down)],
        statistic="chi2",
        variance=obs + 1.0,
    )
    assert not bm.linear

    def ref(a):
        ratio = 1 + a[1] * (up - down) / 2 + a[1] ** 2 * ((up + down) / 2 - 1)  # |a| < 1 at the optimum
        return np.sum((obs - sig * (1 + 0.1 * a[0]) - bkg * ratio) ** 2 / (obs + 1)) + a @ a

    res = jax.jit(binned.profile)(bm, jnp.asarray(sig))
    best = minimize(ref, np.zeros(2), method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-13))
    assert bool(res.converged) and np.all(np.abs(best.x) < 1)
    assert float(res.value) == pytest.approx(best.fun, rel=1e-8)


def test_convergence_flag_false_for_impossible_point():
    bm = binned.model(np.array([3.0, 4.0]), [binned.Sample("cevns")], [binned.NormSys("n", ("cevns",), 0.1)],
                      statistic="chi2", variance=np.array([3.0, 4.0]))
    res = binned.profile(bm, jnp.array([jnp.nan, 1.0]))
    assert not bool(res.converged)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(statistic="gauss"), "statistic must be one of"),
        (dict(statistic="chi2"), "variance is required"),
        (dict(statistic="chi2", variance=[1.0, 0.0, 1.0, 1.0]), "variance must be finite and positive"),
        (dict(statistic="chi2", variance=[1.0, 1.0]), "variance must be a 1D array of 4"),
        (dict(variance=[1.0, 1.0, 1.0, 1.0]), "only to statistic='chi2'"),
    ],
)
def test_chi2_model_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        binned.model([1.0, 2.0, 3.0, 4.0], [binned.Sample("cevns")], **kwargs)

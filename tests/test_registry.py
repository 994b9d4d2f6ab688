"""Experiment registry and descriptions: multi-dimensional bins, registration, look-ups."""

import dataclasses

import numpy as np
import pytest

import jcevns
from jcevns import experiments
from jcevns.experiments import Observable

# Per-flavour arrival-time fractions in two time bins (rows: nu_mu, nu_mu-bar, nu_e); the prompt
# flavour is mostly early, the delayed ones mostly late (a hand-made example, rows sum to 1).
FRACTIONS = np.array([[0.9, 0.1], [0.3, 0.7], [0.25, 0.75]])


@pytest.fixture(scope="module")
def two_d():
    base = experiments.get("csi2017-oldqf")
    n_e = 12

    def data(opts):
        return {k: np.repeat(v, 2) / 2 for k, v in base.data(opts).items()}

    exp = dataclasses.replace(
        base,
        name="csi2017-oldqf-time",
        observables=(Observable("time", "us", (0.0, 1.0, 6.0)),),
        bin_factors=lambda opts: np.repeat(FRACTIONS[:, None, :], n_e, axis=1),
        data=data,
    )
    return jcevns.build("csi2017-oldqf"), jcevns.build(exp)


def test_default_bin_factors_are_ones():
    an = jcevns.build("lar2020")
    assert an.bin_factors.shape == (3, 1, 1) and np.all(np.asarray(an.bin_factors) == 1.0)
    assert an.n_bins == 1


def test_bin_factors_contraction(two_d):
    one, two = two_d
    p = one.params(sin2w=0.21, eps_ee_u=0.1, mu_nu=5.0)
    flav1 = np.asarray(jcevns.predict_per_flavour(p, one))  # (3, 12)
    flav2 = np.asarray(jcevns.predict_per_flavour(p, two))  # (3, 24)
    assert two.n_bins == 24 and flav2.shape == (3, 24)
    # counts[e * n_x + x] = per_flavour[f, e] * fraction[f, x], energy slowest
    expected = (flav1[:, :, None] * FRACTIONS[:, None, :]).reshape(3, 24)
    np.testing.assert_allclose(flav2, expected, rtol=1e-14)
    total = np.asarray(jcevns.predict(p, two))
    np.testing.assert_allclose(total, expected.sum(axis=0), rtol=1e-14)
    # each flavour's fractions sum to one: summing over time recovers the energy-only counts
    np.testing.assert_allclose(total.reshape(12, 2).sum(axis=1), np.asarray(jcevns.predict(p, one)), rtol=1e-13)
    # the prompt/delayed split differs between time bins (the time information is not trivial)
    assert total[0] / total[1] != pytest.approx(flav1[:, 0].sum() / flav1[:, 0].sum())


def test_templates_follow_the_same_contraction(two_d):
    _, two = two_d
    p = two.params(sin2w=0.25, eps_mumu_d=-0.05, zprime_g=1e-4, zprime_m=30.0, scalar_g=1e-5, scalar_m=20.0)
    templates = jcevns.event_templates(p, two)
    np.testing.assert_allclose(
        np.asarray(jcevns.predict_from_templates(p, templates)), np.asarray(jcevns.predict(p, two)), rtol=1e-10
    )


def test_registry_lookups():
    assert set(jcevns.ANALYSES) >= {"csi2017-oldqf", "csi2017-newqf", "lar2020"}
    assert experiments.get("lar2020").target == "LAr"
    with pytest.raises(ValueError, match="unknown analysis 'nope'"):
        jcevns.build("nope")
    with pytest.raises(ValueError, match="already registered"):
        experiments.register(dataclasses.replace(experiments.get("lar2020")))
    with pytest.raises(ValueError, match="data 'n_meas' must have 24 bins"):
        base = experiments.get("csi2017-oldqf")
        jcevns.build(dataclasses.replace(base, observables=(Observable("t", "us", (0.0, 1.0, 2.0)),),
                                         bin_factors=lambda o: np.ones((3, 12, 2))))


def test_likelihood_on_two_dimensional_bins(two_d):
    one, two = two_d
    lik = jcevns.likelihood(two)
    value, pulls = jcevns.profiled(two.params(), lik)
    assert np.isfinite(float(value)) and pulls.shape == (2,)
    # Papoulias eq. (10) by hand on the 24 (energy x time) bins, at given pulls
    a = np.array([0.1, -0.2])
    d = {k: np.asarray(v) for k, v in two.data.items()}
    s = np.asarray(jcevns.predict(two.params(), two))
    resid = d["n_meas"] - s * (1 + a[0]) - d["b_0n"] * (1 + a[1])
    hand = np.sum(resid**2 / (d["n_meas"] + d["b_0n"] + 2 * d["b_ss"]))
    hand += (a[0] / 0.28) ** 2 + (a[1] / 0.25) ** 2
    assert float(jcevns.statistic_at_pulls(two.params(), a, lik)) == pytest.approx(hand, rel=1e-12)


@pytest.mark.parametrize("name", ["csi2017-newqf", "lar2020"])
def test_reference_likelihoods_are_the_papers_formulas(name):
    """Papoulias eq. (10) and Miranda et al. eq. (3.1), written out by hand, against the generic
    binned likelihood built from the descriptions (chi2 and Poisson, at given pulls)."""
    from scipy.optimize import minimize

    an = jcevns.build(name)
    p = an.params(sin2w=0.27)
    s = np.asarray(jcevns.predict(p, an))
    d = {k: np.asarray(v) for k, v in an.data.items()}
    if name == "lar2020":
        def chi2(a):
            return np.sum((d["n_meas"] - s * (1 + a[0])) ** 2 / (d["n_meas"] + d["n_brn"])) + (a[0] / 0.085) ** 2
        n_pulls = 1
    else:
        def chi2(a):
            r = d["n_meas"] - s * (1 + a[0]) - d["b_0n"] * (1 + a[1])
            return np.sum(r**2 / (d["n_meas"] + d["b_0n"] + 2 * d["b_ss"])) + (a[0] / 0.128) ** 2 + (a[1] / 0.25) ** 2
        n_pulls = 2
    lik = jcevns.likelihood(an)
    a = np.linspace(-0.1, 0.2, n_pulls)
    assert float(jcevns.statistic_at_pulls(p, a, lik)) == pytest.approx(chi2(a), rel=1e-12)
    best = minimize(chi2, np.zeros(n_pulls), method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12))
    value, pulls = jcevns.profiled(p, lik)
    assert float(value) == pytest.approx(best.fun, rel=1e-8)
    np.testing.assert_allclose(np.asarray(pulls), best.x, atol=1e-5)

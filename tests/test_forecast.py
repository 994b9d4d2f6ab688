"""Asimov data and Fisher forecasts, against profile likelihoods and exact identities."""

import dataclasses

import numpy as np
import pytest

import jcevns
from jcevns.forecast import asimov, fisher_matrix
from jcevns.intervals import intervals_1d


@pytest.fixture(scope="module")
def csi():
    return jcevns.likelihood(jcevns.build("csi2017-newqf"))


def test_asimov_statistic_is_zero_at_the_true_point(csi):
    p = csi.analysis.params(sin2w=0.25)
    assert float(jcevns.statistic(p, asimov(csi, p))) == pytest.approx(0.0, abs=1e-20)
    assert float(jcevns.statistic(p.replace(sin2w=0.3), asimov(csi, p))) > 0.5


def test_fisher_sigma_matches_asimov_profile_interval(csi):
    """Near-Gaussian case (CsI sin2w, pulls profiled): the Delta chi2 = 1 half width of the
    Asimov profile likelihood and the Fisher 1 sigma agree within 5 %."""
    p = csi.analysis.params()
    f = jcevns.fisher(csi, p, ["sin2w"])
    grid = np.linspace(p.sin2w - 0.12, p.sin2w + 0.12, 481)
    scan = jcevns.scan(asimov(csi, p), {"sin2w": grid})
    (iv,) = intervals_1d(grid, scan.delta, level=1.0)
    assert f.sigma[0] == pytest.approx((iv.hi - iv.lo) / 2, rel=0.05)


def test_schur_complement_equals_curvature_of_profiled_statistic(csi):
    p = csi.analysis.params()
    f = jcevns.fisher(csi, p, ["sin2w"])
    lik = asimov(csi, p)
    h = 2e-4
    stat = [float(jcevns.statistic(p.replace(sin2w=p.sin2w + k * h), lik)) for k in (-1, 0, 1)]
    curvature = (stat[0] - 2 * stat[1] + stat[2]) / h**2
    assert f.fisher[0, 0] == pytest.approx(curvature / 2, rel=1e-4)


def test_fisher_of_a_combination_is_the_sum(csi):
    lar = jcevns.likelihood(jcevns.build("lar2020"))
    both = jcevns.combine(csi, lar)
    p = both.analysis.params(eps_ee_u=0.05)
    names = ["sin2w", "eps_ee_u"]
    total = jcevns.fisher(both, p, names).fisher
    parts = fisher_matrix(csi, p, names) + fisher_matrix(lar, p, names)  # LAr alone (one bin): rank 1
    np.testing.assert_allclose(total, parts, rtol=1e-9)


def test_copy_of_itself_equals_twice_the_exposure():
    """LAr (Poisson, systematics negligible): an Asimov experiment combined with a copy of
    itself carries the information of one with twice the protons on target and background."""
    an = jcevns.build("lar2020")
    an2 = jcevns.build("lar2020", n_pot=2 * an.config.exposure.n_pot)
    an2 = dataclasses.replace(an2, data=dict(an2.data) | {"n_brn": 2 * an2.data["n_brn"]})
    one, two = (jcevns.likelihood(a, "poisson", sigma_signal=1e-7) for a in (an, an2))
    p = an.params()
    both = jcevns.combine(asimov(one, p), asimov(one, p))
    f_both = jcevns.fisher(both, p, ["sin2w"], use_asimov=False)
    f_two = jcevns.fisher(two, p, ["sin2w"])
    assert f_both.fisher[0, 0] == pytest.approx(f_two.fisher[0, 0], rel=1e-6)
    q = p.replace(sin2w=0.3)
    assert float(jcevns.statistic(q, both)) == pytest.approx(float(jcevns.statistic(q, asimov(two, p))), rel=1e-6)


def test_fisher_rejects_unconstrained_parameters(csi):
    with pytest.raises(ValueError, match="singular"):
        jcevns.fisher(csi, csi.analysis.params(), ["zprime_g"])
    with pytest.raises(ValueError, match="distinct parameters"):
        jcevns.fisher(csi, csi.analysis.params(), ["sin2w", "sin2w"])


def test_per_nucleus_radius_at_its_fallback_is_forecast_like_rn():
    """rn_ar = 0 means "use rn": the forecast of rn_ar there is the forecast of rn."""
    lar = jcevns.likelihood(jcevns.build("lar2020"))
    p = lar.analysis.params()
    assert float(p.rn_ar) == 0.0
    own = jcevns.fisher(lar, p, ["rn_ar"])
    one = jcevns.fisher(lar, p, ["rn"])
    assert own.sigma[0] == pytest.approx(one.sigma[0], rel=1e-10)

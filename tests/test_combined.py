"""Combined likelihoods (shared physics, separate nuisances) and per-nucleus neutron radii."""

import jax
import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

import jcevns
from jcevns.combined import combine


@pytest.fixture(scope="module")
def liks():
    return {
        "csi": jcevns.likelihood(jcevns.build("csi2017-newqf")),
        "lar": jcevns.likelihood(jcevns.build("lar2020")),
        "lar_poisson": jcevns.likelihood(jcevns.build("lar2020"), "poisson"),
    }


@pytest.mark.parametrize("values", [dict(sin2w=0.24), dict(sin2w=0.2, eps_ee_u=0.1, eps_ee_d=-0.05)])
def test_combination_is_the_sum_of_statistics(liks, values):
    both = combine(liks["csi"], liks["lar_poisson"])
    p = both.analysis.params(**values)
    value, pulls = jcevns.profiled(p, both)
    va, pa = jcevns.profiled(p, liks["csi"])
    vb, pb = jcevns.profiled(p, liks["lar_poisson"])
    assert float(value) == pytest.approx(float(va) + float(vb), rel=1e-12)
    np.testing.assert_allclose(np.asarray(pulls), np.concatenate([pa, pb]), rtol=1e-12)
    assert both.pull_names == ("csi2017-newqf:a1", "csi2017-newqf:a2", "lar2020:alpha")
    at = jcevns.statistic_at_pulls(p, np.asarray(pulls), both)
    assert float(at) == pytest.approx(float(value), rel=1e-12)


@pytest.mark.slow
def test_profile_and_scan_of_a_combination_match_the_summed_function(liks):
    both = combine(liks["csi"], liks["lar"])
    base = both.analysis.params()

    def total(s):
        return sum(float(jcevns.statistic(base.replace(sin2w=s), lik)) for lik in (liks["csi"], liks["lar"]))

    ref = minimize_scalar(total, bounds=(0.1, 0.4), method="bounded", options=dict(xatol=1e-10))
    res = jcevns.profile(both, base, ["sin2w"])
    assert bool(res.converged)
    assert float(res.x[0]) == pytest.approx(ref.x, abs=1e-6)
    assert float(res.value) == pytest.approx(ref.fun, rel=1e-9)
    grid = np.linspace(0.15, 0.35, 5)
    scan = jcevns.scan(both, {"sin2w": grid})
    np.testing.assert_allclose(scan.values, [total(s) for s in grid], rtol=1e-10)
    # 2D plane on the event-template fast path and the mediator plane agree with the sum too
    plane = jcevns.scan(both, {"eps_ee_u": np.array([-0.2, 0.3]), "eps_ee_d": np.array([0.1])})
    for i, u in enumerate([-0.2, 0.3]):
        p = base.replace(eps_ee_u=u, eps_ee_d=0.1)
        want = sum(float(jcevns.statistic(p, lik)) for lik in (liks["csi"], liks["lar"]))
        assert plane.values[i, 0] == pytest.approx(want, rel=1e-9)
    med = jcevns.scan(both, {"zprime_m": np.array([30.0]), "zprime_g": np.array([1e-4])})
    p = base.replace(zprime_m=30.0, zprime_g=1e-4)
    assert med.values[0, 0] == pytest.approx(sum(float(jcevns.statistic(p, lik)) for lik in liks.values()
                                                 if lik is not liks["lar_poisson"]), rel=1e-6)


def test_each_nucleus_keeps_its_reference_radius_in_a_combination():
    csi = jcevns.likelihood(jcevns.build("csi2017-newqf", form_factor="helm"))
    lar = jcevns.likelihood(jcevns.build("lar2020"))
    both = combine(lar, csi)
    p = both.analysis.params(sin2w=0.23)
    assert float(p.rn) == lar.analysis.rn_ref
    assert float(p.rn_cs) == float(p.rn_i) == pytest.approx(csi.analysis.rn_ref)
    value = float(jcevns.statistic(p, both))
    want = sum(float(jcevns.statistic(lik.analysis.params(sin2w=0.23), lik)) for lik in (lar, csi))
    assert value == pytest.approx(want, rel=1e-12)


def test_csi_fit_with_equal_per_nucleus_radii_equals_the_rn_fit():
    """A CsI fit that moves rn_cs = rn_i together equals today's fit of the one radius rn."""
    lik = jcevns.likelihood(jcevns.build("csi2017-newqf", form_factor="helm"), drop_form_factor_uncertainty=True)
    an = lik.analysis
    for r in (4.6, 5.5):
        one = float(jcevns.statistic(an.params(rn=r), lik))
        own = float(jcevns.statistic(an.params(rn=3.0, rn_cs=r, rn_i=r), lik))
        assert own == pytest.approx(one, rel=1e-13)
    res = jcevns.profile(lik, an.params(rn=5.0), ["rn"])
    tied = jax.jit(lambda r: jcevns.likelihoods._profiled_kernel(an.params(rn=3.0).replace(rn_cs=r, rn_i=r), lik)[0])
    ref = minimize_scalar(lambda r: float(tied(r)), bounds=(4.0, 7.0), method="bounded", options=dict(xatol=1e-9))
    assert bool(res.converged)
    assert ref.x == pytest.approx(float(res.x[0]), abs=1e-5)
    assert ref.fun == pytest.approx(float(res.value), rel=1e-10)
    # different radii for the two nuclei are a different model
    assert float(jcevns.statistic(an.params(rn_cs=4.6, rn_i=5.5), lik)) != pytest.approx(
        float(jcevns.statistic(an.params(rn=4.6), lik)), rel=1e-3)
    with pytest.raises(ValueError, match="rn_cs .* below the Helm limit"):
        an.params(rn_cs=1.0)


def test_shared_flux_matches_a_direct_minimisation(liks):
    """Two one-bin LAr chi-squares with a common flux factor (1 + f), written out by hand."""
    lar = liks["lar"]
    lar_copy = jcevns.likelihood(jcevns.build("lar2020", n_pot=2 * lar.analysis.config.exposure.n_pot))
    both = combine(lar, lar_copy, shared_flux=0.05)
    assert both.pull_names == ("lar2020#1:alpha", "lar2020#2:alpha", "sns_flux")
    p = both.analysis.params(sin2w=0.28)
    n1, n2 = (np.asarray(jcevns.predict(p, lik.analysis))[0] for lik in (lar, lar_copy))
    d = lar.analysis.data
    meas, var = float(d["n_meas"][0]), float(d["n_meas"][0] + d["n_brn"][0])
    s_rest = np.sqrt(0.085**2 - 0.05**2)

    def chi2(x):
        f, a1, a2 = x
        return ((meas - n1 * (1 + f) * (1 + a1)) ** 2 + (meas - n2 * (1 + f) * (1 + a2)) ** 2) / var + (
            (f / 0.05) ** 2 + (a1 / s_rest) ** 2 + (a2 / s_rest) ** 2)

    ref = minimize(chi2, np.zeros(3), method="Nelder-Mead", options=dict(xatol=1e-12, fatol=1e-14, maxiter=20000))
    value, pulls = jcevns.profiled(p, both)
    assert float(value) == pytest.approx(ref.fun, rel=1e-8)
    np.testing.assert_allclose(np.asarray(pulls), [ref.x[1], ref.x[2], ref.x[0]], atol=1e-6)
    with pytest.raises(ValueError, match="shared_flux must be in"):
        combine(lar, lar_copy, shared_flux=0.1)


def test_combine_rejects_bad_input(liks):
    with pytest.raises(ValueError, match="at least two"):
        combine(liks["lar"])
    with pytest.raises(ValueError, match="jcevns likelihoods"):
        combine(liks["lar"], "csi2017-newqf")


@pytest.mark.slow
def test_posterior_of_a_combination(liks):
    """NUTS on a combination (pulls sampled): the sin2w median lies inside the combined profile
    interval, and every experiment's pulls are sampled separately."""
    from jcevns import bayes

    both = combine(liks["csi"], liks["lar"])
    res = bayes.sample(both, ["sin2w"], chains=2, warmup=300, samples=400, progress=False)
    assert set(res.nuisance) == {"csi2017-newqf:a1", "csi2017-newqf:a2", "lar2020:alpha"}
    grid = np.linspace(0.1, 0.4, 121)
    scan = jcevns.scan(both, {"sin2w": grid})
    (iv,) = jcevns.intervals_1d(grid, scan.delta)
    assert iv.lo < res.summary["sin2w"]["q50"] < iv.hi
    assert res.divergences == 0


def test_per_nucleus_radius_gradients_match_finite_differences():
    an = jcevns.build("csi2017-newqf", form_factor="helm")
    p0 = an.params(rn_cs=4.9, rn_i=5.3)
    grad = jax.grad(lambda p: jcevns.predict(p, an).sum())(p0)
    f = jax.jit(lambda p: jcevns.forward._predict_kernel(p, an).sum())
    assert float(grad.rn) == 0.0  # both nuclei have their own radius: rn is unused
    for name in ("rn_cs", "rn_i"):
        x, h = float(getattr(p0, name)), 1e-4
        fd = (float(f(p0.replace(**{name: x + h}))) - float(f(p0.replace(**{name: x - h})))) / (2 * h)
        assert float(getattr(grad, name)) == pytest.approx(fd, rel=1e-6)

"""CsI 2021 likelihood: model algebra, gradients, profile convergence, toys, physics scans."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jcevns
from jcevns import binned
from jcevns.experiments import csi2021 as m
from jcevns.experiments import csi2021_fits as fits
from jcevns.experiments import csi2021_likelihood as lik


@pytest.fixture(scope="module")
def setup():
    exp = m.build()
    signal = jnp.asarray(jcevns.predict(exp.params(), exp))
    bm = lik.binned_model(flux=False)
    return exp, signal, bm, lik.compact(bm)


def test_compact_model_and_analytic_jacobian(setup):
    _, signal, bm, cm = setup
    theta = jnp.concatenate([jnp.array([0.9]), jnp.linspace(-1.7, 1.4, cm.n_pulls)])
    np.testing.assert_allclose(lik.expected(cm, 0.9 * signal, theta[1:]), binned.expected(bm, 0.9 * signal, theta[1:]),
                               rtol=1e-13)
    counts, jac = lik._value_and_jacobian(cm, signal, theta)
    ref = jax.jacfwd(lambda t: binned.expected(bm, t[0] * signal, t[1:]))(theta)
    np.testing.assert_allclose(jac, ref.T, rtol=1e-10, atol=1e-10)


def test_likelihood_gradients_match_finite_differences(setup):
    exp, _, _, cm = setup
    p = exp.params()
    theta = jnp.concatenate([jnp.ones(1), 0.3 * jnp.ones(cm.n_pulls)])

    def f(sin2w, th):
        return lik.twice_nll(cm, th[0] * jcevns.forward._predict_kernel(p.replace(sin2w=sin2w), exp), th[1:])

    g_s, g_t = jax.grad(f, argnums=(0, 1))(0.24, theta)
    h = 1e-6
    fd = (f(0.24 + h, theta) - f(0.24 - h, theta)) / (2 * h)
    assert float(g_s) == pytest.approx(float(fd), rel=1e-6)
    for i in (0, 3, cm.n_pulls):
        e = jnp.zeros_like(theta).at[i].set(h)
        fd = (f(0.24, theta + e) - f(0.24, theta - e)) / (2 * h)
        assert float(g_t[i]) == pytest.approx(float(fd), rel=1e-6)


@pytest.mark.parametrize("mu", [1.0, 0.0, 2.0])
def test_profile_converges_at_sm_zero_and_twice(setup, mu):
    _, signal, _, cm = setup
    free = jnp.ones(1 + cm.n_pulls).at[0].set(0.0)
    r = lik.fit_jit(cm, signal, free, jnp.zeros(1 + cm.n_pulls).at[0].set(mu))
    assert bool(r.converged)
    assert float(r.theta[0]) == mu
    # the minimum really is a minimum: every pull moved by +-0.05 raises -2 ln L
    for i in range(1, 1 + cm.n_pulls):
        for s in (-0.05, 0.05):
            assert float(lik.twice_nll(cm, mu * signal, r.theta[1:].at[i - 1].add(s))) > float(r.value)


def test_toys_unbiased(setup):
    # known injected signal (SM, mu = 1); 300 vmapped pseudo-experiments from the full model.
    # The maximum-likelihood strength is unbiased to a tenth of its statistical spread.
    _, signal, bm, _ = setup
    mu_hat, ok = lik.toys(bm, signal, 1.0, 300, seed=3)
    mu_hat = np.asarray(mu_hat)
    assert np.mean(np.asarray(ok)) > 0.97
    spread = mu_hat.std()
    assert 0.07 < spread < 0.13  # ~0.1: the profile-likelihood 1 sigma of the data fit
    assert abs(mu_hat.mean() - 1.0) < 0.1 * spread + 3 * spread / np.sqrt(mu_hat.size)


def test_strength_fit_and_significance(setup):
    exp, signal, bm, _ = setup
    fit = fits.strength_fit(bm, signal)
    assert fit["converged"]
    lo, hi = fit["mu_1sigma"]
    assert lo < fit["mu"] < hi
    # Delta(-2 ln L) = 1 at the interval ends, by direct evaluation of the profile
    scan = lik.profile_scan(bm, signal, 0, [lo, hi], fit["best"])
    np.testing.assert_allclose(np.asarray(scan.value) - fit["twice_nll"], 1.0, atol=2e-4)
    assert fit["significance_sigma"] > 5
    counts = fits.component_counts(bm, signal, fit)
    assert set(counts) == {"cevns", "ss", "brn", "nin"}
    total = sum(v[0] for v in counts.values())
    assert total == pytest.approx(float(np.sum(lik.expected(lik.compact(bm), fit["mu"] * signal,
                                                             fit["best"].theta[1:]))), rel=1e-10)


def test_flux_averaged_cross_section_matches_direct_integral(setup):
    # independent check: scipy quad over T and E_nu of the SM cross section times the flux, per nucleus
    from scipy import integrate

    from jcevns import cross_sections, flux
    from jcevns.nuclei import CS133, I127

    exp = setup[0]
    p = exp.params()
    an = exp
    xs = fits.flux_averaged_xsec_1e40(exp)
    total = 0.0
    for i, nuc in enumerate((CS133, I127)):
        def rate(t):
            coef = np.asarray(cross_sections.coefficients(p, nuc, i, jnp.array([t]), an.config.physics))[:, :, 0]
            mom = np.asarray(flux.moments(flux.e_min(np.array([t]), nuc.mass_mev)))[:, :, 0]
            return float(np.sum(coef * mom))
        t_max = float(flux.t_max(52.9, nuc.mass_mev))
        total += 0.5 * integrate.quad(rate, 0.0, t_max, limit=200, epsabs=0, epsrel=1e-9,
                                      points=[float(flux.t_max(29.79, nuc.mass_mev))])[0]
    assert xs == pytest.approx(total / 3 / 1e-40, rel=1e-6)


def test_physics_scan_profiles_converge(setup):
    exp, _, _, _ = setup
    bm = lik.binned_model(flux=True)
    grid = np.linspace(0.15, 0.35, 64)
    values, ok = fits.template_scan(exp, bm, ("sin2w",), grid)
    assert ok.all()
    best = grid[np.argmin(values)]
    assert 0.15 < best < 0.35
    # the templates path agrees with full predictions at a few points
    full, ok2 = fits.full_scan(exp, bm, ("sin2w",), grid[::16])
    assert ok2.all()
    np.testing.assert_allclose(full, values[::16], rtol=1e-9)


def test_exact_hessian_matches_autodiff(setup):
    """The closed-form second derivatives that turn Fisher scoring into Newton's method, at a
    point with shape pulls inside and outside |pull| <= 1 and an off-nominal strength."""
    _, signal, _, cm = setup
    theta = jnp.concatenate([jnp.array([1.3]), jnp.linspace(-1.6, 1.2, cm.n_pulls)])
    ref = jax.hessian(lambda t: lik.twice_nll(cm, t[0] * signal, t[1:]))(theta)
    counts, jac = lik._value_and_jacobian(cm, signal, theta)
    ratio = cm.observed / counts
    prior = jnp.concatenate([jnp.zeros(1), jnp.ones(cm.n_pulls)])
    ours = (2.0 * (jac * (ratio / counts)[None, :]) @ jac.T + 2.0 * jnp.diag(prior)
            + lik._curvature(cm, signal, theta, 2.0 * (1.0 - ratio)))
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-9 * float(jnp.max(jnp.abs(ref))))


def test_nsi_scan_points_match_independent_minimiser(setup):
    """The scan's warm-started six-step fits reach the minimum that scipy's L-BFGS-B finds from
    a cold start, far from the reference point (strength fixed at 1, all nine pulls free). At a
    point with 23 times the SM signal the local minimiser stalls on the way; the scan must not be
    worse than it."""
    from scipy import optimize

    exp, _, _, _ = setup
    bm = lik.binned_model(flux=True)
    cm = lik.compact(bm)
    pts = np.array([[0.0, 0.0], [0.5, -0.4], [-0.5, 0.8], [0.3, 0.25], [0.9, 0.9]])
    values, ok = fits.template_scan(exp, bm, ("eps_ee_u", "eps_ee_d"), pts)
    assert ok.all()
    p = exp.params()
    for (u, d), v in zip(pts, values):
        sig = jcevns.predict(p.replace(eps_ee_u=float(u), eps_ee_d=float(d)), exp)
        f = jax.jit(jax.value_and_grad(lambda q: lik.twice_nll(cm, sig, q)))
        res = optimize.minimize(lambda q: tuple(np.asarray(a, float) for a in f(jnp.asarray(q))), np.zeros(cm.n_pulls),
                                jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 2000})
        if u < 0.9:
            assert v == pytest.approx(res.fun, abs=1e-6)
        else:
            assert v <= res.fun + 1e-6

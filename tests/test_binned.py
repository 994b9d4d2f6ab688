"""The generic binned likelihood against hand calculations and an independent scipy fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import poisson

import jcevns
from jcevns import binned

OBS = np.array([12.0, 7.0, 0.0, 3.0])
SIGNAL = np.array([5.0, 3.0, 0.5, 1.0])
BKG = np.array([6.0, 5.0, 1.0, 1.5])
UP = np.array([1.2, 1.1, 0.9, 1.0])
DOWN = np.array([0.85, 0.95, 1.05, 1.0])


def _model():
    return binned.model(
        OBS,
        [binned.Sample("cevns"), binned.Sample("bkg", BKG)],
        [binned.NormSys("flux", ("cevns",), 0.1), binned.ShapeSys("bkg_shape", "bkg", UP, DOWN)],
    )


def _reference_twice_nll(a):
    """-2 ln L written out by hand, with scipy's Poisson pmf (saturated model subtracted)."""
    flux, shape = a
    if abs(shape) <= 1:
        ratio = 1 + shape * (UP - DOWN) / 2 + shape**2 * ((UP + DOWN) / 2 - 1)
    else:
        edge = np.sign(shape)
        at_edge = 1 + edge * (UP - DOWN) / 2 + ((UP + DOWN) / 2 - 1)
        ratio = at_edge + (shape - edge) * ((UP - DOWN) / 2 + 2 * edge * ((UP + DOWN) / 2 - 1))
    mu = SIGNAL * (1 + 0.1 * flux) + BKG * ratio
    saturated = poisson.logpmf(OBS, np.where(OBS > 0, OBS, 1.0)) * (OBS > 0)
    return -2 * np.sum(poisson.logpmf(OBS, mu) - saturated) + flux**2 + shape**2


@pytest.mark.parametrize("pulls", [(0.0, 0.0), (0.7, -0.4), (-1.3, 1.8), (2.0, -2.5)])
def test_twice_nll_matches_hand_calculation(pulls):
    got = float(binned.twice_nll(_model(), jnp.asarray(SIGNAL), jnp.asarray(pulls)))
    assert got == pytest.approx(_reference_twice_nll(np.array(pulls)), rel=1e-12)


def test_profile_matches_scipy_minimiser():
    res = jax.jit(binned.profile)(_model(), jnp.asarray(SIGNAL))
    ref = minimize(_reference_twice_nll, np.zeros(2), method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12))
    assert bool(res.converged)
    assert float(res.value) == pytest.approx(ref.fun, rel=1e-8)
    np.testing.assert_allclose(np.asarray(res.pulls), ref.x, atol=1e-5)


def test_profiled_gradient_matches_finite_differences():
    bm = _model()
    f = jax.jit(lambda s: binned.profile(bm, SIGNAL * s).value)
    g = float(jax.jit(jax.grad(f))(1.3))
    h = 1e-5
    fd = (float(f(1.3 + h)) - float(f(1.3 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-6)


def test_profile_vmaps_with_convergence_flags():
    bm = _model()
    scales = jnp.array([0.0, 1.0, 2.0, 5.0])
    res = jax.jit(jax.vmap(lambda s: binned.profile(bm, SIGNAL * s)))(scales)
    assert res.value.shape == (4,) and bool(jnp.all(res.converged))


def test_poisson_profile_equals_reference_csi_poisson_statistic():
    """The CsI 2017 beam-on Poisson statistic of jcevns.likelihoods (n = N + B_ss,
    mu = S (1 + a1) + B_0n (1 + a2) + B_ss, pulls of widths 0.128 and 0.25) as a binned model."""
    an = jcevns.build("csi2017-newqf")
    lik = jcevns.likelihood(an, "poisson")
    d = an.data
    bm = binned.model(
        d["n_meas"] + d["b_ss"],
        [binned.Sample("cevns"), binned.Sample("b_0n", d["b_0n"]), binned.Sample("b_ss", d["b_ss"])],
        [binned.NormSys("a1", ("cevns",), 0.128), binned.NormSys("a2", ("b_0n",), 0.25)],
    )
    for sin2w in (0.2, 0.3):
        p = an.params(sin2w=sin2w)
        res = jax.jit(binned.profile)(bm, jcevns.predict(p, an))
        value, pulls = jcevns.profiled(p, lik)
        assert bool(res.converged)
        assert float(res.value) == pytest.approx(float(value), rel=1e-10)
        np.testing.assert_allclose(np.asarray(binned.to_paper_units(bm, res.pulls)), np.asarray(pulls), atol=1e-8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(observed=[1.0, -1.0, 0.0, 0.0]), "non-negative"),
        (dict(samples=[binned.Sample("bkg", BKG)]), "exactly one sample"),
        (dict(modifiers=[binned.NormSys("x", ("nope",), 0.1)]), "unknown sample 'nope'"),
        (dict(modifiers=[binned.NormSys("x", ("cevns",), -0.1)]), "sigma must be positive"),
        (dict(samples=[binned.Sample("cevns"), binned.Sample("bkg", BKG[:2])]), "nominal must be 4"),
    ],
)
def test_model_rejects_bad_input(kwargs, match):
    args = dict(observed=OBS, samples=[binned.Sample("cevns"), binned.Sample("bkg", BKG)], modifiers=())
    with pytest.raises(ValueError, match=match):
        binned.model(**(args | kwargs))

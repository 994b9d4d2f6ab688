"""SNS arrival-time model: closed-form EMG CDFs against scipy quadrature of the convolutions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from jcevns import timing

MEAN, SIGMA = 0.44, 0.15  # release LArParametersAnlA.yaml, snsPOTTraceTiming [us]


def _convolved_cdf(t, delayed):
    """Independent reference: P(T_pot + T_pi (+ T_mu) < t) by scipy quadrature."""
    tau_pi, tau_mu = timing.TAU_PION_US, timing.TAU_MUON_US
    if not delayed:
        f = lambda u: stats.expon.pdf(u, scale=tau_pi) * stats.norm.cdf(t - u, MEAN, SIGMA)  # noqa: E731
        return integrate.quad(f, 0, 50 * tau_pi, limit=200)[0]

    def decay(u):  # density of T_pi + T_mu (textbook hypoexponential)
        return (np.exp(-u / tau_mu) - np.exp(-u / tau_pi)) / (tau_mu - tau_pi)

    f = lambda u: decay(u) * stats.norm.cdf(t - u, MEAN, SIGMA)  # noqa: E731
    return integrate.quad(f, 0, 40 * tau_mu, points=[0.1, 1, 5], limit=400)[0]


@pytest.mark.parametrize("flavour", [0, 1, 2])
@pytest.mark.parametrize("t", [-0.1, 0.5, 1.2, 4.9])
def test_cdf_matches_numerical_convolution(flavour, t):
    ref = _convolved_cdf(t, timing.DELAYED[flavour])
    got = float(timing.arrival_time_cdf(t, flavour, MEAN, SIGMA))
    assert got == pytest.approx(ref, abs=1e-8)


@pytest.mark.parametrize("flavour", [0, 1, 2])
def test_normalised_and_finite_in_far_tails(flavour):
    t = jnp.array([-1e3, -30.0, -5.0, 200.0, 1e4])
    cdf = timing.arrival_time_cdf(t, flavour, MEAN, SIGMA)
    assert np.all(np.isfinite(cdf))
    assert float(cdf[0]) == 0.0 and float(cdf[1]) < 1e-300
    assert float(cdf[-1]) == pytest.approx(1.0, abs=1e-14)
    frac = jax.jit(timing.bin_fractions)(jnp.linspace(-10, 200, 4000), MEAN, SIGMA)
    np.testing.assert_allclose(np.sum(frac, axis=1), 1.0, atol=1e-12)
    assert np.all(np.asarray(frac) >= -1e-15)
    # The density integrates to one too (Simpson's rule on a fine grid).
    x = np.linspace(-3.0, 60.0, 200_001)
    pdf = np.asarray(timing.arrival_time_pdf(x, flavour, MEAN, SIGMA))
    assert integrate.simpson(pdf, x=x) == pytest.approx(1.0, abs=1e-8)


def test_means_are_pulse_plus_lifetimes():
    # Prompt: pulse mean + pion lifetime 26.03 ns; delayed: + muon lifetime 2.197 us (PDG 2022).
    x = np.linspace(-3.0, 80.0, 400_001)
    for flavour, shift in ((0, 0.026033), (1, 0.026033 + 2.1969811)):
        mean = integrate.simpson(x * np.asarray(timing.arrival_time_pdf(x, flavour, MEAN, SIGMA)), x=x)
        assert mean == pytest.approx(MEAN + shift, abs=1e-7)


def test_delayed_tail_decays_with_muon_lifetime():
    pdf = [float(timing.arrival_time_pdf(t, 2, MEAN, SIGMA)) for t in (6.0, 8.0)]
    assert pdf[1] / pdf[0] == pytest.approx(np.exp(-2.0 / 2.1969811), rel=1e-10)
    # Nearly all prompt neutrinos arrive within 1.5 us; 86.7 % of the delayed ones before 4.9 us.
    fr = timing.bin_fractions(jnp.array([-0.1, 1.5, 4.9]), MEAN, SIGMA)
    assert float(fr[0, 0]) == pytest.approx(1.0, abs=1e-4)
    assert float(fr[1].sum()) == pytest.approx(0.8668, abs=2e-4)


def test_offset_shifts_the_distribution():
    a = timing.arrival_time_cdf(1.0, 1, MEAN, SIGMA, offset_us=0.2)
    b = timing.arrival_time_cdf(0.8, 1, MEAN, SIGMA)
    assert float(a) == pytest.approx(float(b), rel=1e-14)


@pytest.mark.parametrize("flavour", [0, 1])
def test_gradients_match_finite_differences(flavour):
    edges = jnp.array([-0.1, 0.4, 0.9, 2.0, 4.9])

    def f(x):
        return jnp.sum(timing.bin_fractions(edges, x[0], x[1], x[2])[flavour] * jnp.arange(1.0, 5.0))

    f = jax.jit(f)
    x = jnp.array([MEAN, SIGMA, 0.05])
    g = jax.jit(jax.grad(f))(x)
    h = 1e-6
    fd = [(f(x.at[i].add(h)) - f(x.at[i].add(-h))) / (2 * h) for i in range(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    assert np.all(np.isfinite(jax.grad(lambda s: timing.arrival_time_cdf(-40.0, flavour, MEAN, s))(SIGMA)))


def test_bad_input():
    with pytest.raises(ValueError, match="flavour_index"):
        timing.arrival_time_cdf(1.0, 3, MEAN, SIGMA)
    assert np.isnan(float(timing.arrival_time_cdf(1.0, 0, MEAN, 0.0)))
    assert np.isnan(float(jax.jit(lambda s: timing.arrival_time_cdf(1.0, 1, MEAN, s))(-0.1)))

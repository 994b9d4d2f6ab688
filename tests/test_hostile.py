"""Hostile input: every public entry point either raises a clear error naming the argument
(``ValueError`` in Python, exit code 2 and one sentence for the command line) or returns a
verified correct result; out-of-range values under jit give NaN, never a plausible number."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jcevns
from jcevns.likelihoods import SIGMA_SIGNAL


@pytest.fixture(scope="module")
def csi():
    return jcevns.build("csi2017-oldqf")


@pytest.fixture(scope="module")
def lar():
    return jcevns.build("lar2020")


# --- profiled statistic at large couplings ------------------------------------------------


@pytest.mark.parametrize("statistic", ["chi2", "poisson"])
@pytest.mark.parametrize("g", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("mass", [1e-3, 1e4])
def test_statistic_and_mediator_scan_agree(csi, statistic, g, mass):
    """The direct statistic and the mediator-plane scan (three predictions per mass) profile the
    same counts: they agree to 1e-6 even where the signal is 1e23 events (g = 10, M = 1 keV)."""
    lik = jcevns.likelihood(csi, statistic)
    direct = float(jcevns.statistic(csi.params(zprime_m=mass, zprime_g=g), lik))
    plane = jcevns.scan(lik, {"zprime_m": np.array([mass]), "zprime_g": np.array([g])}).values[0, 0]
    assert np.isfinite(direct) and direct == pytest.approx(plane, rel=1e-6)


def test_chi2_limit_of_a_huge_signal(csi, lar):
    """When the signal exceeds the data by ~1e20 the best signal multiplier m1 is ~1e-20, so the
    chi-square tends to the signal prior 1/s1^2 plus a fit with a free signal normalisation
    (LAr: one bin, fitted exactly; CsI: a 2x2 least-squares problem solved here in numpy)."""
    lik = jcevns.likelihood(lar)
    value = float(jcevns.statistic(lar.params(zprime_m=1e-3, zprime_g=10.0), lik))
    assert value == pytest.approx(1.0 / SIGMA_SIGNAL["lar2020"] ** 2, rel=1e-9)
    lik = jcevns.likelihood(csi)
    p = csi.params(zprime_m=1e-3, zprime_g=10.0)
    shape = np.asarray(jcevns.predict(p, csi))
    assert shape.sum() > 1e20
    shape = shape / shape.sum()
    d = {k: np.asarray(v) for k, v in csi.data.items()}
    w = 1.0 / (d["n_meas"] + d["b_0n"] + 2.0 * d["b_ss"])
    p2 = 1.0 / 0.25**2
    # minimise sum w (n - c shape - m2 b)^2 + p2 (m2 - 1)^2 over (c, m2)
    t = np.stack([shape, d["b_0n"]])
    c, m2 = np.linalg.solve((t * w) @ t.T + np.diag([0.0, p2]), (t * w) @ d["n_meas"] + np.array([0.0, p2]))
    expected = np.sum(w * (d["n_meas"] - c * shape - m2 * d["b_0n"]) ** 2) + p2 * (m2 - 1) ** 2 + 1 / 0.28**2
    assert float(jcevns.statistic(p, lik)) == pytest.approx(expected, rel=1e-9)


# --- parameters: shapes, types, analysis references, ranges under jit ----------------------


@pytest.mark.parametrize(
    "value", [np.array([0.2]), np.array([[0.2]]), jnp.array([0.2]), "0.2", True, 0.2 + 0.1j, [0.2], None, object()]
)
def test_parameter_values_must_be_real_scalars(lar, value):
    """A one-element array used to broadcast into a (3, 1) result with negative 'events'."""
    name = "mu_nu" if value is None else "sin2w"  # sin2w=None legitimately means 'the reference'
    with pytest.raises(ValueError, match=name):
        jcevns.predict(lar.params().replace(**{name: value}), lar)
    if value is not None:
        with pytest.raises(ValueError, match=name):
            lar.params(**{name: value})


def test_scalar_types_accepted(lar):
    ref = float(jcevns.predict(lar.params(sin2w=0.25), lar)[0])
    for v in (np.float64(0.25), np.float32(0.25), jnp.float64(0.25), np.array(0.25)):
        assert float(jcevns.predict(lar.params(sin2w=v), lar)[0]) == pytest.approx(ref, rel=1e-7)
    sm = float(jcevns.predict(lar.params(), lar)[0])
    assert float(jcevns.predict(lar.params(mu_nu=100), lar)[0]) > sm  # an int is a number


def test_references_of_one_analysis_refused_by_another(lar):
    """CsI's reference R_n (5.07 fm) and sin2w used to be applied silently to argon (98.0 events
    instead of 130.2)."""
    csi_helm = jcevns.build("csi2017-newqf", form_factor="helm")
    for p in (csi_helm.params(), csi_helm.params(sin2w=0.2387).replace(eps_ee_u=0.0)):
        with pytest.raises(ValueError, match="reference value of csi2017-newqf"):
            jcevns.predict(p, lar)
        with pytest.raises(ValueError, match="reference value"):
            jcevns.statistic(p, jcevns.likelihood(lar))
        with pytest.raises(ValueError, match="reference value"):
            jcevns.scan(jcevns.likelihood(lar), {"sin2w": np.linspace(0.2, 0.3, 3)}, base=p)
    # values set explicitly are the user's choice and are used as given
    p = csi_helm.params(sin2w=0.2312, rn=3.36)
    assert float(jcevns.predict(p, lar)[0]) == pytest.approx(float(jcevns.predict(lar.params(), lar)[0]), rel=1e-12)
    # the two CsI analyses share their references
    old, new = jcevns.build("csi2017-oldqf"), jcevns.build("csi2017-newqf")
    assert np.all(np.isfinite(jcevns.predict(old.params(), new)))


def test_out_of_range_under_jit_and_vmap_gives_nan(lar, csi):
    """No check can raise on traced values: rn = 0.5 fm (below the Helm limit) used to give 171
    events under vmap."""
    p = lar.params()
    f = jax.vmap(lambda r: jcevns.predict(p.replace(rn=r), lar))
    out = np.asarray(f(jnp.array([0.5, 3.36, 20.0, jnp.nan, jnp.inf])))[:, 0]
    assert np.isnan(out[[0, 2, 3, 4]]).all()
    assert out[1] == pytest.approx(float(jcevns.predict(p, lar)[0]), rel=1e-12)
    for name, bad in (("sin2w", 1.5), ("eps_ee_u", -6.0), ("zprime_g", 11.0), ("mu_nu", 2e4)):
        g = jax.jit(lambda x, name=name: jcevns.predict(p.replace(**{name: x}), lar))
        assert np.isnan(np.asarray(g(bad))).all(), name
    # sign of an even parameter is a symmetry, not out of range
    assert float(jax.jit(lambda x: jcevns.predict(p.replace(mu_nu=x), lar)[0])(-5.0)) == pytest.approx(
        float(jcevns.predict(lar.params(mu_nu=5.0), lar)[0]), rel=1e-12
    )
    lik = jcevns.likelihood(csi)
    q = csi.params()
    assert np.isnan(float(jax.jit(lambda s: jcevns.statistic(q.replace(sin2w=s), lik))(-0.1)))
    templates = jcevns.event_templates(q, csi)
    assert np.isnan(np.asarray(jcevns.predict_from_templates(q.replace(eps_ee_u=7.0), templates))).all()


def test_gradients_finite_up_to_the_bounds(lar):
    """The NaN mask is the identity inside the closed range: finite gradients on the bounds."""
    p = lar.params()
    for name, x in (("sin2w", 0.0), ("sin2w", 1.0), ("eps_ee_u", 5.0), ("eps_ee_u", -5.0), ("rn", 15.0)):
        g = jax.grad(lambda v, name=name: jcevns.predict(p.replace(**{name: v}), lar)[0])(x)
        assert np.isfinite(float(g)), (name, x)

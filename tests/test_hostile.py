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

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

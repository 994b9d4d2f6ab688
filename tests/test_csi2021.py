"""COHERENT CsI 2021 (arXiv:2110.07730): data, response, timing and background templates."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import jcevns
from jcevns import timing
from jcevns.detectors import response
from jcevns.experiments import csi2021 as m
from jcevns.experiments import csi2021_backgrounds as bkg


@pytest.fixture(scope="module")
def exp():
    return m.build()


def test_roi_holds_the_release_counts():
    # arXiv:2110.07730 ancillary files: 1578 coincidence, 1295 anti-coincidence events in the ROI
    assert m.histogram("C").sum() == 1578
    assert m.histogram("AC").sum() == 1295
    assert len(m.release_file("dataBeamOnC")) == 5142 and len(m.release_file("dataBeamOnAC")) == 4890


@pytest.mark.parametrize("e_ee_kev", [0.3, 1.0, 3.0])
def test_gamma_smearing_conserves_events_and_mean(e_ee_kev):
    mean = 13.35 * e_ee_kev
    b = 9.56 * e_ee_kev
    edges = np.arange(0.0, 400.0, 1.0)
    probs = response.gamma_smearing_matrix([mean], [b], edges, step=1.0)[:, 0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-8)  # x^b near 0: Gauss-Legendre to ~1e-9
    # the mean from the density itself (independent of the binning)
    x, w, _ = jcevns.quadrature.gauss_legendre_panels(edges, (), 16)
    assert np.sum(w * x * response.gamma_pe_pdf(x, mean, b)) == pytest.approx(mean, rel=1e-8)
    # release parametrisation: a = 0.0749 / E_ee -> mean 1/a, shape 1 + b, rate a (1 + b)
    a = 0.0749 / e_ee_kev
    ref = stats.gamma(a=1 + b, scale=1 / (a * (1 + b)))
    assert ref.mean() == pytest.approx(mean, rel=1e-3)
    np.testing.assert_allclose(probs[5:60], np.diff(stats.gamma(1 + b, scale=mean / (1 + b)).cdf(edges))[5:60],
                               atol=1e-10)


def test_quenching_reproduces_tabulated_pe():
    # csi-quenching table (nominal polynomial, 13.35 PE/keVee): 10 keVnr -> 11.77 PE, 20 -> 27.67 PE
    opts = m.CsI2021Options()
    assert m.mean_pe(0.010, opts) == pytest.approx(11.77, abs=0.01)
    assert m.mean_pe(0.020, opts) == pytest.approx(27.67, abs=0.01)
    t = np.linspace(1e-4, 0.05, 500)
    for curve in m.QF_CURVES:
        assert np.all(np.diff(m.mean_pe(t, m.CsI2021Options(qf=curve))) > 0)


def test_efficiency_clipped_and_cut():
    x = np.array([0.0, 5.0, 7.0, 7.2, 20.0, 59.9, 60.0, 100.0])
    eff = m.energy_efficiency(x)
    assert np.all((eff >= 0) & (eff <= 1))
    assert eff[0] == 0 and eff[-2] == 0 and eff[-1] == 0 and eff[4] > 0.5
    assert response.logistic_zero(*m.efficiency_coefficients()) == pytest.approx(7.07, abs=0.01)


def test_timing_normalised_and_delayed_decays_with_muon_lifetime():
    edges = np.linspace(-2.0, 60.0, 6201)
    frac = np.asarray(timing.bin_fractions(edges, 0.44, 0.15))
    np.testing.assert_allclose(frac.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(frac >= -1e-15)
    cdf = lambda t: timing.arrival_time_cdf(t, 2, 0.44, 0.15)  # noqa: E731
    pdf = jax.vmap(jax.grad(cdf))(jnp.array([3.0, 4.0, 6.0]))
    assert float(pdf[1] / pdf[0]) == pytest.approx(np.exp(-1.0 / timing.TAU_MUON_US), rel=1e-6)
    assert float(pdf[2] / pdf[1]) == pytest.approx(np.exp(-2.0 / timing.TAU_MUON_US), rel=1e-6)


def test_timing_matches_numerical_convolution():
    mu, sig, tau = 0.44, 0.15, timing.TAU_PION_US
    for t in (0.3, 0.5, 0.8):
        ref = integrate.quad(lambda s: stats.norm.cdf(t - s, mu, sig) * np.exp(-s / tau) / tau, 0, 50 * tau)[0]
        assert float(timing.arrival_time_cdf(t, 0, mu, sig)) == pytest.approx(ref, abs=1e-10)
    tm = timing.TAU_MUON_US
    two_exp = lambda s: (np.exp(-s / tm) - np.exp(-s / tau)) / (tm - tau)  # noqa: E731
    for t in (0.7, 2.0, 5.0):
        ref = integrate.quad(lambda s: stats.norm.cdf(t - s, mu, sig) * two_exp(s), 0, 60, limit=200)[0]
        assert float(timing.arrival_time_cdf(t, 1, mu, sig)) == pytest.approx(ref, abs=1e-9)
    g = jax.grad(lambda o: timing.arrival_time_cdf(1.0, 1, mu, sig, o))(0.0)
    fd = (timing.arrival_time_cdf(1.0, 1, mu, sig, 1e-6) - timing.arrival_time_cdf(1.0, 1, mu, sig, -1e-6)) / 2e-6
    assert float(g) == pytest.approx(float(fd), rel=1e-6)


def test_time_zero_from_nin_template():
    tz = bkg.fit_time_zero()
    assert tz["pot_mean_us"] == pytest.approx(m.constants()["time_zero"]["pot_mean_us"], abs=1e-6)
    assert 0.3 < tz["pot_mean_us"] < 0.8 and tz["rms_residual_over_peak"] < 0.01
    assert tz["prompt_fraction"] < 0.2  # NIN is dominated by delayed nu_e on lead


def test_background_templates_normalise_to_roi_numbers():
    assert bkg.neutron_template("brn").sum() == pytest.approx(18.4, rel=1e-12)
    assert bkg.neutron_template("nin").sum() == pytest.approx(5.6, rel=1e-12)
    assert bkg.ss_template().sum() == pytest.approx(1295.0, rel=1e-12)
    assert np.all(bkg.ss_template() >= 0)


def test_ss_model_describes_the_anti_coincidence_data():
    ac = m.roi_events("AC")
    quality = bkg.ss_pe_fit_quality(np.array(m.constants()["ss_pe_fit"]["theta"]), ac[:, 0])
    assert quality["p_value"] > 0.05
    test = bkg.ss_time_test(ac[:, 1])
    # the time-efficiency shape is compatible; a flat distribution is disfavoured at ~2 sigma
    assert test["p_value_time_efficiency"] > 0.05
    assert test["delta_2lnl_flat"] > test["delta_2lnl_time_efficiency"]


def test_signal_shape_and_factorisation(exp):
    p = exp.params()
    counts = np.asarray(jcevns.predict(p, exp)).reshape(m.shape(exp))
    per_pe = np.asarray(jax.jit(lambda q: jcevns.forward.recoil_spectrum(q, exp) @ exp.bin_matrix.T)(p))
    # time factors per flavour sum to the in-window fraction times efficiency (< 1)
    tf = np.asarray(exp.bin_factors[:, 0, :])
    assert np.all(tf.sum(axis=1) < 1) and np.all(tf.sum(axis=1) > 0.75)
    np.testing.assert_allclose(counts.sum(axis=1), per_pe.T @ tf.sum(axis=1), rtol=1e-12)
    assert counts[0].sum() < 0.01 * counts.sum()  # below 8 PE the efficiency is ~0
    # templates path and the systematic-variant path equal the full prediction
    tmpl = jcevns.event_templates(p, exp)
    np.testing.assert_allclose(jcevns.forward.predict_from_templates(p, tmpl), jcevns.predict(p, exp), rtol=1e-10)
    np.testing.assert_allclose(m.variant_counts(p, exp), jcevns.predict(p, exp), rtol=1e-12)


def test_registered_description(exp):
    assert "csi2021" in jcevns.ANALYSES
    lk = jcevns.likelihood(exp)
    assert lk.pull_names[:4] == ("flux", "ss_norm", "brn_norm", "nin_norm")
    assert set(lk.pull_names[4:]) == {"qf0", "qf1", "eff", "cevns_time", "brn_time"}
    assert float(exp.data["n_meas"].sum()) == 1578
    # the shipped shape templates are those the likelihood module derives
    from jcevns.experiments import csi2021_likelihood as lik

    for name, (_, up, down) in lik.shape_ratios().items():
        t = m.constants()["shape_templates"][name]
        np.testing.assert_allclose(t["up"], up, atol=1e-11)
        np.testing.assert_allclose(t["down"], down, atol=1e-11)


def test_recoil_grid_converged(exp):
    a = np.asarray(jcevns.predict(exp.params(), exp))
    b_ = m.build(t_min_kevnr=0.3, n_nodes=12)
    np.testing.assert_allclose(np.asarray(jcevns.predict(b_.params(), b_)), a, rtol=1e-6, atol=1e-9)


def test_per_nucleus_radii_and_bsm_on_the_common_api(exp):
    # rn_cs and rn_i act on their own isotope: both at 5.5 fm equal one radius of 5.5 fm
    both = jcevns.predict(exp.params(rn_cs=5.5, rn_i=5.5), exp)
    np.testing.assert_allclose(both, jcevns.predict(exp.params(rn=5.5), exp), rtol=1e-12)
    sm = float(jcevns.predict(exp.params(), exp).sum())
    cs = float(jcevns.predict(exp.params(rn_cs=5.5), exp).sum())
    i_ = float(jcevns.predict(exp.params(rn_i=5.5), exp).sum())
    assert cs < sm and i_ < sm and float(both.sum()) < min(cs, i_)
    # a magnetic moment only adds events, mostly at low PE
    mu = np.asarray(jcevns.predict(exp.params(mu_nu=20.0), exp)).reshape(m.shape(exp))
    ref = np.asarray(jcevns.predict(exp.params(), exp)).reshape(m.shape(exp))
    assert np.all(mu >= ref - 1e-12)
    assert (mu / ref)[1].mean() > (mu / ref)[8].mean()

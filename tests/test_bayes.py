"""Bayesian posteriors (NumPyro NUTS): convergence, agreement with the profile likelihood,
prior handling, the `jcevns sample` command and its exit code.

Runs are small (2 chains, a few hundred warmup steps) to keep the file near a minute on 2 CPU
cores; each `sample` call compiles its own NUTS kernel (~5 s), so every posterior is drawn once
per module and shared between tests.
"""

import json
import math

import numpy as np
import pytest
from numpyro import handlers

import jcevns
from jcevns import bayes, cli
from jcevns.intervals import DCHI2_90_1D, intervals_1d
from jcevns.scans import evaluate

SIN2W_GRID = np.linspace(0.0, 0.6, 301)


def _profile_interval(lik, name, grid, boundaries=(None, None)):
    """90 % CL profile-likelihood interval (Delta chi2 = 2.71), ends refined on the continuous
    statistic; also returns the scan values for exact quadrature of the flat-prior posterior."""
    base = lik.analysis.params()
    res = jcevns.scan(lik, {name: grid})
    chi2_min = res.minimum

    def dchi2(x):
        return float(jcevns.statistic(base.replace(**{name: x}), lik)) - chi2_min

    (iv,) = intervals_1d(grid, res.values - chi2_min, DCHI2_90_1D, f=dchi2, boundaries=boundaries)
    return iv, res.values


def _quantiles(grid, chi2, q):
    """Quantiles of the density exp(-chi2 / 2) on a fine grid (trapezoid rule)."""
    p = np.exp(-0.5 * (chi2 - chi2.min()))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(grid))])
    return np.interp(q, cdf / cdf[-1], grid)


@pytest.fixture(scope="module")
def csi():
    an = jcevns.build("csi2017-newqf")
    return an, jcevns.likelihood(an)


@pytest.fixture(scope="module")
def sin2w_profile(csi):
    return _profile_interval(csi[1], "sin2w", SIN2W_GRID)


@pytest.fixture(scope="module")
def sin2w_posterior(csi):
    return bayes.sample(csi[1], ["sin2w"], chains=2, warmup=300, samples=1000, seed=0, progress=False)


@pytest.fixture(scope="module")
def sin2w_posterior_profiled(csi):
    return bayes.sample(csi[1], ["sin2w"], pulls="profile", chains=2, warmup=300, samples=1000, seed=1, progress=False)


def test_sin2w_credible_interval_matches_profile_interval(sin2w_posterior, sin2w_profile):
    post, (iv, _) = sin2w_posterior, sin2w_profile
    s = post.summary["sin2w"]
    assert post.chain_method == "vectorized" and post.settings["chains"] == 2
    assert post.samples["sin2w"].shape == (2, 1000)
    assert s["r_hat"] < 1.01 and post.divergences == 0 and post.ok
    assert s["ess_bulk"] > 500 and s["ess_tail"] > 300
    # the profile interval itself reproduces Papoulias 2020 Table I (0.140 - 0.282; jcevns 0.142 - 0.284)
    assert (iv.lo, iv.hi) == pytest.approx((0.142, 0.284), abs=0.002)
    # The central 90 % credible interval (flat prior, pulls marginalised) and the 90 % CL profile
    # interval (Delta chi2 = 2.71, pulls minimised) are different objects; they agree only because
    # the likelihood is close to Gaussian in sin2w and the prior is flat. Quadrature of the exact
    # posteriors gives 0.136 - 0.282 (marginalised) against 0.142 - 0.284: a 4 % shift of the width.
    width = iv.hi - iv.lo
    assert abs(s["q05"] - iv.lo) < 0.1 * width
    assert abs(s["q95"] - iv.hi) < 0.1 * width
    assert s["q05"] < s["q50"] < s["q95"] and s["hdi90"][0] < s["q50"] < s["hdi90"][1]
    assert s["hdi90"][1] - s["hdi90"][0] <= s["q95"] - s["q05"] + 0.005  # HDI is the shortest 90 % set
    # sampled pulls: prior Normal(0, 0.128) and Normal(0, 0.25), barely updated by the data
    assert post.nuisance["a1"]["sd"] == pytest.approx(0.128, rel=0.15)
    assert post.nuisance["a2"]["sd"] == pytest.approx(0.25, rel=0.15)


def test_profiled_pulls_match_exact_posterior_and_marginalised_pulls(
    sin2w_posterior, sin2w_posterior_profiled, sin2w_profile
):
    marg, prof = sin2w_posterior.summary["sin2w"], sin2w_posterior_profiled.summary["sin2w"]
    assert sin2w_posterior_profiled.ok and sin2w_posterior_profiled.nuisance == {}
    assert "a1" not in sin2w_posterior_profiled.samples
    # marginalising and profiling the (Gaussian) pulls differ by a log-determinant term only
    assert abs(marg["q50"] - prof["q50"]) < 0.01
    # with profiled pulls the posterior is exp(-chi2_profiled / 2) on [0, 1]: integrate it on the
    # scan grid (exact to 1e-4) and compare the quantiles (Monte Carlo error ~0.002 here)
    exact = _quantiles(SIN2W_GRID, sin2w_profile[1], [0.05, 0.5, 0.95])
    assert exact == pytest.approx([0.1385, 0.2129, 0.2863], abs=2e-3)
    np.testing.assert_allclose([prof["q05"], prof["q50"], prof["q95"]], exact, atol=0.008)


def test_rn_posterior_median_inside_profile_interval():
    an = jcevns.build("csi2017-newqf", form_factor="helm")
    lik = jcevns.likelihood(an, drop_form_factor_uncertainty=True)  # Papoulias 2020 footnote 4
    grid = np.linspace(an.rn_lower * (1 + 1e-9), 12.0, 301)
    iv, _ = _profile_interval(lik, "rn", grid, boundaries=(grid[0], None))
    assert (iv.lo, iv.hi) == pytest.approx((4.28, 6.84), abs=0.02)  # README Table I (new QF)
    post = bayes.sample(lik, "rn", chains=2, warmup=300, samples=500, seed=0, progress=False)
    s = post.summary["rn"]
    assert post.settings["priors"]["rn"] == {"kind": "uniform", "lower": an.rn_lower, "upper": 15.0}
    assert post.ok and s["r_hat"] < 1.01 and post.divergences == 0
    assert np.all(post.samples["rn"] > an.rn_lower)
    assert iv.lo < s["q50"] < iv.hi
    assert s["q50"] == pytest.approx(5.56, abs=0.25)  # best fit 5.56 fm (Papoulias 2020 eq. 13: 5.6)


def test_nsi_ee_plane_follows_the_degenerate_band(csi):
    post = bayes.sample(csi[1], ["eps_ee_u", "eps_ee_d"], chains=2, warmup=300, samples=500, seed=0, progress=False)
    u, d = post.samples["eps_ee_u"].ravel(), post.samples["eps_ee_d"].ravel()
    assert np.all(np.isfinite(u)) and np.all(np.isfinite(d))
    assert np.all(np.abs(u) <= 1.0) and np.all(np.abs(d) <= 1.0)
    # The allowed region is a long band through the prior box; where it meets the corners the
    # unconstrained (logit) coordinates squeeze it, which can cost a divergence with short
    # warmup. With the default target_accept_prob = 0.9 we see none; allow a handful (< 1 %).
    assert post.divergences <= 5
    # nu_e NSI enters through (2Z + N) eps_u + (Z + 2N) eps_d, (184, 206) for CsI: the band runs
    # perpendicular to that vector and is much narrower across than along.
    evals, evecs = np.linalg.eigh(np.cov(np.stack([u, d])))
    major = evecs[:, 1]
    normal = np.array([184.0, 206.0]) / math.hypot(184.0, 206.0)
    assert abs(major @ normal) < math.sin(math.radians(10))
    assert math.sqrt(evals[0] / evals[1]) < 0.3


def test_zprime_plane_respects_priors_and_the_exclusion(csi):
    an, lik = csi
    post = bayes.sample(lik, ["zprime_g", "zprime_m"], chains=2, warmup=300, samples=500, seed=0, progress=False)
    g, m = post.samples["zprime_g"], post.samples["zprime_m"]
    assert post.settings["target_accept_prob"] == 0.99  # mediators: steep exclusion wall
    assert np.all((g >= 1e-7) & (g <= 1e-1)) and np.all((m >= 1.0) & (m <= 1e5))
    np.testing.assert_allclose(np.log10(g), post.samples["log10_zprime_g"], rtol=1e-12)
    assert np.all((post.samples["log10_zprime_m"] >= 0.0) & (post.samples["log10_zprime_m"] <= 5.0))
    # the log-uniform prior fills the allowed plateau down to g = 1e-7 ...
    assert post.summary["zprime_g"]["q05"] < 1e-6
    # ... and no draw sits deep in the excluded region: Delta chi2 against the SM < 25
    chi2_sm = float(jcevns.statistic(an.params(), lik))
    # chunks of 301 points reuse the batch compiled for the sin2w scan
    values, *_ = evaluate(lik, an.params(), {"zprime_g": g.ravel(), "zprime_m": m.ravel()}, chunk_size=SIN2W_GRID.size)
    assert np.all(np.isfinite(values))
    assert np.max(values - chi2_sm) < 25.0
    assert post.divergences <= 10  # 1 % of draws; typically 0-1 at target_accept_prob 0.99


def test_lar_three_magnetic_moments():
    lik = jcevns.likelihood(jcevns.build("lar2020"))
    names = ["mu_nu_e", "mu_nu_mu", "mu_nu_mubar"]
    post = bayes.sample(lik, names, chains=2, warmup=300, samples=500, seed=0, progress=False)
    assert set(post.nuisance) == {"alpha"}
    for n in names:
        x, s = post.samples[n], post.summary[n]
        assert x.shape == (2, 500) and np.all(x >= 0.0) and np.all(x <= 150.0)
        assert s["q95"] > 0.0
        # one bin cannot tell the flavours apart: each marginal is a broad upper limit
        assert 15.0 < s["q95"] < 70.0 and s["q05"] < 5.0
    assert post.divergences == 0


def test_model_factor_counts_the_pull_prior_once(csi):
    """The factor is -chi2/2 at the sampled pulls without their Gaussian penalty (the Normal
    sites carry it), or -chi2_profiled/2."""
    an, lik = csi
    values = {"sin2w": 0.25, "a1": 0.1, "a2": -0.2}
    tr = handlers.trace(handlers.substitute(handlers.seed(bayes.model, 0), data=values)).get_trace(lik, ["sin2w"])
    assert tr["a1"]["fn"].scale == pytest.approx(0.128) and tr["a2"]["fn"].scale == pytest.approx(0.25)
    p = an.params(sin2w=0.25)
    full = float(jcevns.statistic_at_pulls(p, [0.1, -0.2], lik))
    penalty = (0.1 / 0.128) ** 2 + (0.2 / 0.25) ** 2
    assert float(tr["loglik"]["fn"].log_factor) == pytest.approx(-0.5 * (full - penalty), rel=1e-12)
    tr = handlers.trace(handlers.substitute(handlers.seed(bayes.model, 0), data=values)).get_trace(
        lik, ["sin2w"], pulls="profile"
    )
    assert "a1" not in tr
    assert float(tr["loglik"]["fn"].log_factor) == pytest.approx(-0.5 * float(jcevns.statistic(p, lik)), rel=1e-12)
    # log-uniform parameters: NUTS moves in log10, the value is a deterministic site
    tr = handlers.trace(handlers.seed(bayes.model, 0)).get_trace(lik, ["zprime_g"], pulls="profile")
    assert tr["log10_zprime_g"]["type"] == "sample" and tr["zprime_g"]["type"] == "deterministic"
    assert float(tr["zprime_g"]["value"]) == pytest.approx(10.0 ** float(tr["log10_zprime_g"]["value"]), rel=1e-12)


def test_default_priors_and_overrides(csi):
    an, _ = csi
    assert bayes.default_prior("eps_mumu_u") == bayes.Prior(-1.0, 1.0)
    assert bayes.default_prior("r2_nue") == bayes.Prior(-200.0, 120.0)
    assert bayes.default_prior("mu_nu") == bayes.Prior(0.0, 150.0)
    assert bayes.default_prior("scalar_g") == bayes.Prior(1e-7, 1e-1, "log-uniform")
    assert bayes.default_prior("zprime_m") == bayes.Prior(1.0, 1e5, "log-uniform")
    assert bayes.default_prior("sin2w") == bayes.Prior(0.0, 1.0)
    helm = jcevns.build("lar2020")
    assert bayes.default_prior("rn", helm).lower == pytest.approx(helm.rn_lower) and helm.rn_lower > 1.0
    pri = bayes.resolve_priors(an, "sin2w,zprime_g", {"sin2w": (0.1, 0.4), "zprime_g": "1e-6:1e-2"})
    assert pri["sin2w"] == bayes.Prior(0.1, 0.4) and pri["zprime_g"] == bayes.Prior(1e-6, 1e-2, "log-uniform")
    assert bayes.Prior.parse("flat:1:10") == bayes.Prior(1.0, 10.0)
    assert bayes.Prior.parse("log:1:10", "uniform").kind == "log-uniform"


def test_bad_input_raises_before_sampling(csi):
    an, lik = csi
    with pytest.raises(ValueError, match="sin2x"):
        bayes.sample(lik, ["sin2x"], progress=False)
    with pytest.raises(ValueError, match="outside its valid range"):
        bayes.sample(lik, ["sin2w"], priors={"sin2w": (-0.5, 0.5)}, progress=False)
    with pytest.raises(ValueError, match="eps_ee_u"):
        bayes.resolve_priors(an, ["eps_ee_u"], {"eps_ee_u": (-10.0, 1.0)})  # SPECS: [-5, 5]
    with pytest.raises(ValueError, match="form_factor='helm'"):
        bayes.sample(lik, ["rn"], progress=False)  # Klein-Nystrand: rn unused
    with pytest.raises(ValueError, match="Helm|valid range"):
        bayes.resolve_priors(jcevns.build("lar2020"), ["rn"], {"rn": (0.5, 5.0)})  # below the Helm limit
    with pytest.raises(ValueError, match="not sampled"):
        bayes.resolve_priors(an, ["sin2w"], {"mu_nu": (0.0, 10.0)})
    with pytest.raises(ValueError, match="lower > 0"):
        bayes.Prior(0.0, 1.0, "log-uniform")
    with pytest.raises(ValueError, match="lower < upper"):
        bayes.Prior(1.0, 0.0)
    with pytest.raises(ValueError, match="pulls"):
        bayes.sample(lik, ["sin2w"], pulls="fixed", progress=False)
    with pytest.raises(ValueError, match="chains"):
        bayes.sample(lik, ["sin2w"], chains=0, progress=False)
    with pytest.raises(ValueError, match="distinct"):
        bayes.sample(lik, ["sin2w", "sin2w"], progress=False)


def test_exit_code_logic():
    good = {"sin2w": {"r_hat": 1.002, "ess_bulk": 900.0}, "nuisance": {"a1": {"r_hat": 1.0}}, "divergences": 0}
    assert cli._sample_exit_code(good) == 0
    assert cli._sample_exit_code({**good, "sin2w": {"r_hat": 1.05, "ess_bulk": 900.0}}) == 3
    assert cli._sample_exit_code({**good, "divergences": 2}) == 3
    assert cli._sample_exit_code({**good, "nuisance": {"a1": {"r_hat": 1.02}}}) == 3
    assert cli._sample_exit_code({**good, "sin2w": {"r_hat": float("nan")}}) == 3


def test_cli_sample_writes_files_and_flags_two_modes(tmp_path, monkeypatch, capsys):
    """`jcevns sample` on eps_mumu^u, whose posterior has two modes (near 0 and near 0.38, seed
    003 Table I): chains started at their own prior draws visit both, and with a run this short
    they disagree, so the command must warn loudly and exit with code 3."""
    monkeypatch.chdir(tmp_path)  # default --out: posterior/<analysis>
    argv = ["sample", "csi2017-newqf", "--params", "eps_mumu_u", "--chains", "4", "--warmup", "150", "--samples", "200"]
    code = cli.main(argv + ["--quiet"])
    captured = capsys.readouterr()
    out = tmp_path / "posterior" / "csi2017-newqf"
    for f in ("posterior.nc", "summary.json", "summary.md", "corner.png", "trace.png"):
        assert (out / f).stat().st_size > 0, f
    summary = json.loads((out / "summary.json").read_text())
    s = summary["eps_mumu_u"]
    assert {"mean", "q05", "q50", "q95", "hdi90", "r_hat", "ess_bulk"} <= set(s) and len(s["hdi90"]) == 2
    assert summary["chain_method"] == "vectorized"
    assert summary["settings"]["chains"] == 4 and summary["settings"]["samples"] == 200
    assert s["q05"] < 0.05 and s["q95"] > 0.33  # both modes: -0.04 - 0.10 and 0.32 - 0.46
    assert s["r_hat"] > 1.01 and summary["ok"] is False
    assert code == cli._sample_exit_code(summary) == 3
    assert "did NOT converge" in captured.err and "r_hat of eps_mumu_u" in captured.err
    assert "| eps_mumu_u |" in captured.out
    import arviz as az

    idata = az.from_netcdf(str(out / "posterior.nc"))
    assert idata.posterior["eps_mumu_u"].shape == (4, 200)
    assert cli.main(["sample", "csi2017-newqf", "--params", "sin2w,bogus", "--quiet"]) == 2
    assert "bogus" in capsys.readouterr().err


# --- the five posterior examples at the default settings (4 chains x (1000 warmup + 2000 draws)) -----
DEFAULT_EXAMPLES = {
    "sin2w": ("csi2017-newqf", {}, ["sin2w"]),
    "rn": ("lar2020", {}, ["rn"]),
    "nsi_ee": ("csi2017-newqf", {}, ["eps_ee_u", "eps_ee_d"]),
    "zprime": ("csi2017-newqf", {}, ["zprime_g", "zprime_m"]),
    "mu_flavours": ("lar2020", {}, ["mu_nu_e", "mu_nu_mu", "mu_nu_mubar"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("example", list(DEFAULT_EXAMPLES))
def test_examples_converge_at_default_settings(example):
    """r_hat < 1.01, bulk and tail ESS > 400 and no divergences with every default of
    `bayes.sample` (chains, warmup, draws, priors, pull mode, target acceptance, seed)."""
    name, options, names = DEFAULT_EXAMPLES[example]
    post = bayes.sample(jcevns.likelihood(jcevns.build(name, **options)), names, progress=False)
    assert post.divergences == 0
    for n in names:
        s = post.summary[n]
        assert s["r_hat"] < 1.01, (n, s)
        assert s["ess_bulk"] > 400 and s["ess_tail"] > 400, (n, s)
    assert post.ok

"""Toys, Neyman belts and coverage (jcevns.toys, jcevns.generators, jcevns.counting)."""

import numpy as np
import pytest

import jcevns
from jcevns import counting, toys

# Feldman and Cousins, Phys. Rev. D 57 (1998) 3873, arXiv:physics/9711021, Table IV: 90 % CL
# intervals for the signal mean of a Poisson count n0 with known background b.
FC_TABLE_IV = {
    0.0: [(0.00, 2.44), (0.11, 4.36), (0.53, 5.91), (1.10, 7.42), (1.47, 8.60), (1.84, 9.99), (2.21, 11.47),
          (3.56, 12.53), (3.96, 13.99), (4.36, 15.30), (5.50, 16.50)],
    0.5: [(0.00, 1.94), (0.00, 3.86), (0.03, 5.41), (0.60, 6.92), (1.17, 8.10), (1.53, 9.49), (1.90, 10.97),
          (3.06, 12.03), (3.46, 13.49), (3.86, 14.80), (5.00, 16.00)],
    1.0: [(0.00, 1.61), (0.00, 3.36), (0.00, 4.91), (0.10, 6.42), (0.74, 7.60), (1.25, 8.99), (1.61, 10.47),
          (2.56, 11.53), (2.96, 12.99), (3.36, 14.30), (4.50, 15.50)],
    # n0 = 0 at b = 3 is left out: the published 1.08 was raised so that upper ends do not
    # decrease with b (FC Sec. IV.B); the plain construction, implemented here, gives 0.95.
    3.0: [None, (0.00, 1.88), (0.00, 3.04), (0.00, 4.42), (0.00, 5.60), (0.00, 6.99), (0.15, 8.47),
          (0.89, 9.53), (1.51, 10.99), (1.88, 12.30), (2.63, 13.50)],
}
#: Fine where the interval ends lie, coarse above (the toys' best fits must stay on the grid).
FC_GRID = np.concatenate([np.arange(0.0, 17.0, 0.0025), np.arange(17.0, 40.001, 0.1)])
#: Table precision (two decimals, +-0.005) plus the grid step.
FC_TOL = 0.005 + 0.0025 + 1e-9


def _check_fc_row(b):
    belt = toys.neyman(counting.counting(0, 1.0, b), "mu", FC_GRID, None)
    for n0, ref in enumerate(FC_TABLE_IV[b]):
        if ref is None:
            continue
        t_obs, _ = toys.observed_t(counting.counting(n0, 1.0, b), "mu", FC_GRID)
        fc, _ = toys.belt_intervals(FC_GRID, t_obs, belt.critical, 0.9, 0.0)
        assert len(fc) == 1, (b, n0, fc)
        assert abs(fc[0].lo - ref[0]) <= FC_TOL and abs(fc[0].hi - ref[1]) <= FC_TOL, (b, n0, fc[0], ref)


def test_feldman_cousins_table_b0():
    _check_fc_row(0.0)


@pytest.mark.slow
@pytest.mark.parametrize("b", [0.5, 1.0, 3.0])
def test_feldman_cousins_table_with_background(b):
    _check_fc_row(b)


@pytest.mark.slow
def test_fc_by_toys_matches_exact_belt():
    """Toys estimate the same belt as the exact sum over outcomes (b = 3, n0 = 4)."""
    lik = counting.counting(4, 1.0, 3.0)
    grid = np.linspace(0.0, 25.0, 101)
    exact = toys.neyman(lik, "mu", grid, None)
    mc = toys.neyman(lik, "mu", grid, 4000, key=3)
    assert mc.fc[0].lo == exact.fc[0].lo == 0.0
    # the upper end moves with the 0.9 quantile's MC error: ~0.1 in mu at 4000 toys
    assert abs(mc.fc[0].hi - exact.fc[0].hi) < 0.3
    assert abs(exact.fc[0].hi - 5.60) < 0.25 + 0.005  # Table IV on this coarse grid


@pytest.mark.parametrize("statistic", ["chi2", pytest.param("poisson", marks=pytest.mark.slow)])
def test_csi_toy_moments_match_generative_model(statistic):
    """Mean and variance per bin: CEvNS + prompt neutrons (pulls profiled on the data), variance
    as the chi-square's sigma^2 (Papoulias eq. 10) or as a Poisson beam-on count."""
    an = jcevns.build("csi2017-newqf")
    lik = jcevns.likelihood(an, statistic)
    params = an.params(sin2w=0.24)
    _, pulls = jcevns.profiled(params, lik)
    signal = np.asarray(jcevns.predict(params, an))
    d = {k: np.asarray(v) for k, v in an.data.items()}
    pulls = np.asarray(pulls)
    mu = signal * (1 + pulls[0]) + d["b_0n"] * (1 + pulls[1])
    if statistic == "chi2":  # background-subtracted counts, variance as Papoulias eq. 10
        var = mu + d["b_0n"] + 2 * d["b_ss"]
    else:  # beam-on counts: the steady-state background is a sample of the Poisson model
        mu = mu + d["b_ss"]
        var = mu
    n = 20000
    sample = toys.generate(lik, "sin2w", 0.24, n, key=7)
    x = sample["observed"]
    assert x.shape == (n, an.n_bins)
    assert np.all(np.abs(x.mean(0) - mu) < 5 * np.sqrt(var / n))
    assert np.all(np.abs(x.var(0) - var) < 5 * var * np.sqrt(2.0 / n))
    mean_model, var_model = toys.expectation(lik, "sin2w", 0.24)["observed"]
    np.testing.assert_allclose(mean_model, mu, rtol=1e-10)
    np.testing.assert_allclose(var_model, var, rtol=1e-10)
    # auxiliary measurements of the pulls: Gaussian around the profiled pulls
    c = sample["pull_centres"]
    np.testing.assert_allclose(c.mean(0), pulls, atol=5 * 0.25 / np.sqrt(n))
    np.testing.assert_allclose(c.std(0), lik.sigma_pulls, rtol=5 * np.sqrt(0.5 / n))


def test_lar_toys_are_signal_plus_background_counts():
    an = jcevns.build("lar2020")
    lik = jcevns.likelihood(an)
    x = toys.generate(lik, "sin2w", 0.24, 20000, key=2)["observed"][:, 0]
    mean, var = (v[0] for v in toys.expectation(lik, "sin2w", 0.24)["observed"])
    assert var == pytest.approx(mean + 563.0, rel=1e-12)  # N_meas + N_BRN (Miranda et al. eq. 3.1)
    # integer beam-on counts minus the fixed N_BRN
    np.testing.assert_allclose(x + 563.0, np.round(x + 563.0), atol=1e-9)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / x.size)
    assert abs(x.var() - var) < 5 * var * np.sqrt(2.0 / x.size)
    # reproducible by key
    np.testing.assert_array_equal(x, toys.generate(lik, "sin2w", 0.24, 20000, key=2)["observed"][:, 0])
    assert np.any(x != toys.generate(lik, "sin2w", 0.24, 20000, key=3)["observed"][:, 0])


def test_gaussian_coverage_is_090():
    """Unbounded Gaussian mean: Wilks is exact, so both intervals cover 90 % (binomial error)."""
    lik = counting.counting(0.3, 1.0, 0.0, statistic="gauss", sigma=1.0, lower=-np.inf)
    n = 4000
    res = toys.coverage(lik, "mu", [-1.0, 0.5, 2.0], n, grid=np.linspace(-7, 8, 151), key=11)
    err = np.sqrt(0.9 * 0.1 / n)
    assert np.all(np.abs(res.wilks - 0.9) < 3 * err), res.wilks
    assert np.all(np.abs(res.fc - 0.9) < 3 * err + 0.01), res.fc  # + MC error of c
    np.testing.assert_allclose(res.critical, 2.7055, atol=0.25)


def test_wilks_overcovers_at_a_boundary():
    """Gaussian mean >= 0 at truth 0: t = max(x, 0)^2, so P(t <= 2.71) = 0.5 + P(0 < x < 1.645) = 0.95."""
    lik = counting.counting(0.3, 1.0, 0.0, statistic="gauss", sigma=1.0, lower=0.0)
    n = 4000
    res = toys.coverage(lik, "mu", [0.0], n, grid=np.linspace(0, 6, 121), key=12)
    assert abs(res.wilks[0] - 0.95) < 3 * np.sqrt(0.95 * 0.05 / n)
    assert abs(res.fc[0] - 0.9) < 3 * np.sqrt(0.09 / n) + 0.01
    # FC critical value at the boundary: chi2_1 quantile at 0.8 (Chernoff mixture), 1.642
    assert res.critical[0] == pytest.approx(1.642, abs=0.15)


def test_bad_input_raises():
    lik = jcevns.likelihood(jcevns.build("lar2020"))
    with pytest.raises(ValueError, match="n_toys"):
        toys.neyman(lik, "sin2w", np.linspace(0.1, 0.3, 11), 0)
    with pytest.raises(ValueError, match="cl"):
        toys.neyman(lik, "sin2w", np.linspace(0.1, 0.3, 11), 10, cl=1.5)
    with pytest.raises(ValueError, match="sin2w"):
        toys.neyman(lik, "sin2w", np.linspace(-0.1, 0.3, 11), 10)
    with pytest.raises(ValueError, match="ordering"):
        toys.neyman(lik, "sin2w", np.linspace(0.1, 0.3, 11), 10, ordering="central")
    with pytest.raises(ValueError, match="no toy generator"):
        toys.neyman(object(), "sin2w", np.linspace(0.1, 0.3, 11), 10)
    with pytest.raises(ValueError, match="counting"):
        toys.neyman(lik, "sin2w", np.linspace(0.1, 0.3, 11), None)


@pytest.mark.slow
def test_cli_toys_json(tmp_path, capsys):
    import json

    from jcevns import cli

    code = cli.main(["toys", "lar2020", "--param", "sin2w", "--grid", "0.05:0.5:21", "--toys", "100",
                     "--coverage-points", "1", "--out", str(tmp_path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"param", "fc_interval_90", "wilks_interval_90", "n_toys", "wall_s"}
    (lo, hi), = out["wilks_interval_90"]
    assert 0.15 < lo < 0.25 < hi < 0.4
    assert {p.name for p in tmp_path.iterdir()} >= {"toys.json", "belt.png", "coverage.png"}
    assert cli.main(["toys", "lar2020", "--param", "sin2w", "--grid", "0.5:0.05:21"]) == 2


def test_reproduce_toys_is_off_by_default():
    from jcevns import cli

    assert cli.build_parser().parse_args(["reproduce"]).toys is False
    assert cli.build_parser().parse_args(["reproduce", "--toys"]).toys is True


def test_pull_centres_shift_the_constraint_exactly():
    """A constraint centred at c: the exact chi-square solve, Newton and a hand-computed
    one-bin minimum agree. One bin, signal S, width s, data n, variance V, centre c (unit pulls):
    chi2(a) = (n - S (1 + s a))^2 / V + (a - c)^2, minimum at a = (S s (n - S) / V + c) / (1 + S^2 s^2 / V)."""
    import dataclasses

    import jax.numpy as jnp

    from jcevns import binned

    n, S, s, V, c = 10.0, 12.0, 0.085, 14.0, 0.7
    bm = binned.chi2_model([n], [V], signal_sigma=s)
    shifted = dataclasses.replace(bm, pull_centres=jnp.array([c]))
    a = (S * s * (n - S) / V + c) / (1 + S**2 * s**2 / V)
    want = (n - S * (1 + s * a)) ** 2 / V + (a - c) ** 2
    exact = binned.profile(shifted, jnp.array([S]))
    newton = binned.profile(shifted, jnp.array([S]), init=jnp.zeros(1))
    assert float(exact.value) == pytest.approx(want, rel=1e-12)
    assert float(exact.pulls[0]) == pytest.approx(a, rel=1e-12)
    assert float(newton.value) == pytest.approx(want, rel=1e-9)
    # zeros behave as no centres at all
    zero = dataclasses.replace(bm, pull_centres=jnp.zeros(1))
    assert float(binned.profile(zero, jnp.array([S])).value) == float(binned.profile(bm, jnp.array([S])).value)


@pytest.mark.parametrize("statistic", ["chi2", pytest.param("poisson", marks=pytest.mark.slow)])
def test_a_toy_changes_what_the_statistic_sees(statistic):
    """with_data replaces the binned model's observed counts (and for the chi-square its
    variances, which contain N_meas): the profiled statistic of a toy is that of a likelihood
    built by hand with the toy's counts, and differs from the data's."""
    import dataclasses

    import jax.numpy as jnp

    from jcevns import binned, generators

    an = jcevns.build("csi2017-newqf")
    lik = jcevns.likelihood(an, statistic)
    tm = generators.adapter(lik, "sin2w")
    sample = toys.generate(lik, "sin2w", 0.24, 4, key=5)
    signal = tm.model(0.24)
    data_value = float(tm.fit(signal)[0])
    d = {k: np.asarray(v) for k, v in an.data.items()}
    for i in range(4):
        obs, centres = sample["observed"][i], sample["pull_centres"][i]
        toy = tm.with_data({"observed": jnp.asarray(obs), "pull_centres": jnp.asarray(centres)})
        np.testing.assert_array_equal(np.asarray(toy.lik.model.observed), obs)
        by_hand = dataclasses.replace(lik.model, observed=jnp.asarray(obs),
                                      pull_centres=jnp.asarray(centres) / np.asarray(lik.sigma_pulls))
        if statistic == "chi2":
            by_hand = dataclasses.replace(by_hand, variance=jnp.asarray(np.maximum(
                obs + d["b_0n"] + 2 * d["b_ss"], 1.0)))
        value = float(toy.fit(signal)[0])
        assert value == pytest.approx(float(binned.profile(by_hand, signal).value), rel=1e-10)
        assert abs(value - data_value) > 1e-6


@pytest.mark.parametrize("name", [pytest.param("csi2021", marks=pytest.mark.slow), "lar2020-3d"])
def test_binned_poisson_toys_have_the_model_expectation(name):
    """Any binned Poisson model: integer counts per bin whose mean is binned.expected at the
    profiled pulls (within 5 standard errors per bin), and toys are fitted on their own counts."""
    from jcevns import binned, generators

    an = jcevns.build(name)
    lik = jcevns.likelihood(an, "poisson")
    tm = generators.adapter(lik, "sin2w")
    signal = tm.model(0.24)
    _, pulls = tm.fit(signal)
    mu = np.asarray(binned.expected(lik.model, signal, binned.from_paper_units(lik.model, pulls)))
    n = 400
    x = toys.generate(lik, "sin2w", 0.24, n, key=9)["observed"]
    assert x.shape == (n, lik.model.n_bins)
    np.testing.assert_array_equal(x, np.round(x))
    assert np.all(np.abs(x.mean(0) - mu) <= 5 * np.sqrt(np.maximum(mu, 1e-3) / n) + 1.0 / n)
    # the summed counts: a sharper check on the overall normalisation
    assert abs(x.sum(1).mean() - mu.sum()) < 5 * np.sqrt(mu.sum() / n)
    toy = tm.with_data({"observed": x[0]})
    assert float(toy.fit(signal)[0]) != pytest.approx(float(tm.fit(signal)[0]), rel=1e-6)


def test_reproduce_toys_section_writes_into_the_staged_output(tmp_path, monkeypatch):
    """reproduce.main(toys=True) adds toys.md, toys.json and the coverage figure through the same
    atomic output directory (the toy runs themselves replaced by a small counting belt)."""
    import json

    from jcevns import reproduce, toyreport
    from jcevns.outputs import OutputDir

    lik = counting.counting(3, 1.0, 0.0)
    grid = np.linspace(0.0, 12.0, 49)
    small = {("counting", "mu"): {"belt": toys.neyman(lik, "mu", grid, None),
                                  "coverage": toys.coverage(lik, "mu", [2.0], 200, grid=grid, key=1)}}
    monkeypatch.setattr(toyreport, "run", lambda preset, progress: small)
    with OutputDir(tmp_path / "out", verbose=False) as staged:
        figures, _ = reproduce._toys_section(staged.path("."), "calibrated", False)
    out = tmp_path / "out"
    assert (out / "toys.md").read_text().count("| counting | mu |") == 1
    assert set(json.loads((out / "toys.json").read_text())) == {"counting/mu"}
    assert [f.name for f in figures] == ["toys_coverage.png"] and (out / "figures" / "toys_coverage.png").is_file()

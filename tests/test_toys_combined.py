"""Toys of combined likelihoods (jcevns.combined_toys): each member's own generative model."""

import numpy as np
import pytest

import jcevns
from jcevns import toys

NAMES = ("csi2017-newqf", "lar2020")


@pytest.fixture(scope="module")
def members():
    return tuple(jcevns.likelihood(jcevns.build(n)) for n in NAMES)


def test_combined_toys_are_the_members_toys(members):
    both = jcevns.combine(*members)
    combined = toys.expectation(both, "sin2w", 0.24)
    n = 4000
    data = toys.generate(both, "sin2w", 0.24, n, key=4)
    assert set(data) == {f"{i}:{leaf}" for i in range(2) for leaf in ("observed", "pull_centres")}
    for i, lik in enumerate(members):
        own = toys.expectation(lik, "sin2w", 0.24)
        for leaf, (mean, var) in own.items():
            # the member's generative model, untouched by the combination
            np.testing.assert_allclose(combined[f"{i}:{leaf}"][0], mean, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(combined[f"{i}:{leaf}"][1], var, rtol=1e-12, atol=1e-12)
            x = data[f"{i}:{leaf}"]
            # sample moments within 5 standard errors (variance: Gaussian approximation)
            assert np.all(np.abs(x.mean(axis=0) - mean) < 5.0 * np.sqrt(var / n)), (i, leaf)
            assert np.all(np.abs(x.var(axis=0) - var) < 5.0 * var * np.sqrt(2.0 / n) + 1e-12), (i, leaf)
    # the members' counts are independent
    r = np.corrcoef(data["0:observed"][:, 3], data["1:observed"][:, 0])[0, 1]
    assert abs(r) < 5.0 / np.sqrt(n)
    # reproducible from the key
    again = toys.generate(both, "sin2w", 0.24, 10, key=4)
    np.testing.assert_array_equal(again["1:observed"], data["1:observed"][:10])


def test_combined_fc_interval_covers(members):
    """Away from the boundary (mu_nu = 30, interval ~[20, 38]) the likelihood is Gaussian-like:
    the Feldman-Cousins interval of the combination covers at 0.90 within binomial error."""
    both = jcevns.combine(*members)
    n = 2000
    cov = toys.coverage(both, "mu_nu", [30.0], n, grid=np.linspace(0.0, 60.0, 31), key=3)
    err = np.sqrt(0.9 * 0.1 / n)
    # the critical value is itself estimated from n toys: its MC error adds about as much again
    assert abs(float(cov.fc[0]) - 0.9) < 3.0 * np.sqrt(2.0) * err
    assert abs(float(cov.wilks[0]) - 0.9) < 0.05  # Wilks, close to its asymptotic level here


def test_combined_fit_of_a_toy_is_the_sum_of_the_members_fits(members):
    from jcevns import generators

    both = jcevns.combine(*members)
    tm = generators.adapter(both, "mu_nu")
    data = toys.generate(both, "mu_nu", 10.0, 3, key=1)
    # the shared parameters: sin2w takes the first member's reference (jcevns.combined)
    sin2w = both.analysis.params().sin2w
    parts = [generators.adapter(lik, "mu_nu", lik.analysis.params(sin2w=sin2w)) for lik in members]
    for j in range(3):
        toy = tm.with_data({k: v[j] for k, v in data.items()})
        value, pulls = toy.fit(toy.model(12.0))
        own = [p.with_data({k.split(":")[1]: v[j] for k, v in data.items() if k.startswith(f"{i}:")}).fit(p.model(12.0))
               for i, p in enumerate(parts)]
        assert float(value) == pytest.approx(sum(float(o[0]) for o in own), rel=1e-12)
        np.testing.assert_allclose(np.asarray(pulls), np.concatenate([np.asarray(o[1]) for o in own]), rtol=1e-12)


def test_unsupported_combinations_raise(members):
    shared = jcevns.combine(*members, shared_flux=0.05)
    with pytest.raises(ValueError, match="shared flux"):
        toys.neyman(shared, "mu_nu", np.linspace(0, 40, 11), 10)
    with pytest.raises(ValueError, match="profile"):
        toys.neyman(jcevns.combine(*members), "mu_nu", np.linspace(0, 40, 11), 10, profile=("sin2w",))


@pytest.mark.slow
def test_cli_toys_of_a_combination(tmp_path, capsys):
    import json

    from jcevns import cli

    out = tmp_path / "both"
    rc = cli.main(["toys", "+".join(NAMES), "--param", "mu_nu", "--grid", "0:40:11", "--toys", "50",
                   "--coverage-points", "0", "--json", "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["param"] == "mu_nu" and summary["n_toys"] == 50
    lo, hi = summary["fc_interval_90"][0]
    assert lo == 0.0 and 10.0 < hi < 40.0
    assert (out / "toys.json").exists() and (out / "belt.png").exists()

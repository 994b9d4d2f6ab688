"""Radius scans from compressed recoil nodes (jcevns.reshaping) against the full prediction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jcevns
from jcevns import reshaping
from jcevns.forward import _predict_kernel


def test_chebyshev_interpolation_is_exact_for_polynomials():
    t = np.linspace(0.003, 0.1, 57)
    nodes, matrix = reshaping._chebyshev_matrix(t, 9)
    assert nodes.min() >= t.min() and nodes.max() <= t.max()
    for degree in range(9):
        np.testing.assert_allclose(matrix @ (nodes / 0.1) ** degree, (t / 0.1) ** degree, rtol=0, atol=1e-13)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=0, atol=1e-14)


def _compare(an, radii, n=64, seed=0):
    base = an.params()
    parts = reshaping.reshaping_parts(an, base, radii)
    rng = np.random.default_rng(seed)
    points = {k: jnp.asarray(rng.uniform(v.min(), v.max(), n)) for k, v in radii.items()}
    points["sin2w"] = jnp.asarray(rng.uniform(0.15, 0.35, n))
    points["mu_nu"] = jnp.asarray(rng.uniform(0.0, 30.0, n))

    def both(p):
        q = base.replace(**p)
        return reshaping.predict_reshaped(q, an, parts), _predict_kernel(q, an)

    fast, full = (np.asarray(x) for x in jax.jit(jax.vmap(both))(points))
    np.testing.assert_allclose(fast, full, rtol=1e-10, atol=0)
    return parts


def test_lar_rn_points_equal_the_full_prediction():
    an = jcevns.build("lar2020")
    parts = _compare(an, {"rn": np.array([2.0, 6.0])})
    # the form factors vary smoothly over the recoil range: a few points replace 405 nodes
    assert parts[0][0].size < an.t_nodes.size / 10


def test_csi_per_nucleus_radii_equal_the_full_prediction():
    an = jcevns.build("csi2017-newqf")
    _compare(an, {"rn_cs": np.array([3.5, 6.5]), "rn_i": np.array([3.0, 7.0])}, seed=1)


@pytest.mark.slow
def test_without_compression_the_full_nodes_are_kept(monkeypatch):
    monkeypatch.setattr(reshaping, "TOLERANCE", 0.0)
    monkeypatch.setattr(reshaping, "SIZES", (8,))
    an = jcevns.build("lar2020")
    parts = _compare(an, {"rn": np.array([3.0, 4.5])}, n=8)
    assert parts[0][0].size == an.t_nodes.size


def test_scan_of_rn_uses_it_and_matches_the_profiled_statistic():
    lik = jcevns.likelihood(jcevns.build("lar2020"))
    grid = {"sin2w": np.array([0.2, 0.25, 0.31]), "rn": np.array([2.5, 3.4, 4.1, 5.6])}
    res = jcevns.scan(lik, grid)
    for i, s in enumerate(grid["sin2w"]):
        for j, r in enumerate(grid["rn"]):
            ref = float(jcevns.profiled(lik.analysis.params(sin2w=s, rn=r), lik)[0])
            assert res.values[i, j] == pytest.approx(ref, rel=1e-10, abs=1e-12)


def test_out_of_range_radius_gives_nan_under_jit():
    an = jcevns.build("lar2020")
    parts = reshaping.reshaping_parts(an, an.params(), {"rn": np.array([2.0, 6.0])})
    out = jax.jit(lambda r: reshaping.predict_reshaped(an.params().replace(rn=r), an, parts))(0.5)
    assert np.all(np.isnan(np.asarray(out)))

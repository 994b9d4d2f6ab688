"""The toys' best-fit search for parameters whose prediction is linear in a transform
(jcevns._linear) against the generic grid search and an independent brute-force minimisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import jcevns
from jcevns import _belt, _linear, counting, generators, toys

MU_NU_RANGE = (0.0, 60.0)


@pytest.fixture(scope="module")
def csi():
    return jcevns.likelihood(jcevns.build("csi2017-newqf"))


def test_structure_is_detected_not_assumed(csi):
    # The magnetic-moment rate adds incoherently and is proportional to mu_nu^2 (Vogel and
    # Engel, Phys. Rev. D 39 (1989) 3378): counts linear in mu_nu^2.
    tm = generators.adapter(csi, "mu_nu")
    lm = _linear.linear_model(tm, *MU_NU_RANGE)
    assert lm is not None and lm.transform == "square"
    for x in (3.7, 17.0, 41.3):
        np.testing.assert_allclose(np.asarray(lm.at(x * x)), np.asarray(tm.model(jnp.asarray(x))), rtol=1e-12)
    # the weak charge enters squared: counts are quadratic in sin2w, linear in neither transform
    assert _linear.linear_model(generators.adapter(csi, "sin2w"), 0.2, 0.3) is None
    # a signal strength is linear in itself
    lm = _linear.linear_model(generators.adapter(counting.counting(3, 2.0, 0.5), "mu"), 0.0, 10.0)
    assert lm.transform == "identity"
    np.testing.assert_allclose([float(lm.m0[0]), float(lm.m1[0])], [0.5, 2.0], rtol=1e-14)


def _brute_force(fit_x, lo, hi):
    """Dense grid in x, then scipy's bounded minimiser between the neighbours of the best node."""
    xs = np.linspace(lo, hi, 2001)
    qs = np.asarray(fit_x(jnp.asarray(xs)))
    k = int(np.argmin(qs))
    a, b = xs[max(k - 1, 0)], xs[min(k + 1, xs.size - 1)]
    res = minimize_scalar(lambda x: float(fit_x(jnp.asarray([x]))[0]), bounds=(a, b), method="bounded",
                          options=dict(xatol=1e-10))
    return min(float(res.fun), float(qs[k]))


def test_fast_minimum_matches_generic_and_brute_force(csi):
    tm = generators.adapter(csi, "mu_nu")
    lm = _linear.linear_model(tm, *MU_NU_RANGE)
    search = jnp.linspace(*MU_NU_RANGE, 41)
    search_models = _belt._grid_models(tm, search)

    @jax.jit
    def fast_and_generic(d, u_start):
        toy = tm.with_data(d)
        q_grid = jax.vmap(lambda m: toy.fit(m)[0])(search_models)
        return (_linear.minimum(toy.fit, lm, u_start)[0], _belt._minimum(toy, search, search_models, q_grid, 4)[0])

    @jax.jit
    def fit_x(d, xs):  # through the adapter's own model(x), not the linear representation
        toy = tm.with_data(d)
        return jax.vmap(lambda x: toy.fit(tm.model(x))[0])(xs)

    for truth in (0.0, 12.0, 30.0):
        data = toys.generate(csi, "mu_nu", truth, 3, key=11)
        for i in range(3):
            d = {k: v[i] for k, v in data.items()}
            fast, generic = (float(v) for v in fast_and_generic(d, jnp.asarray(truth**2)))
            brute = _brute_force(lambda xs: fit_x(d, xs), *MU_NU_RANGE)
            assert fast == pytest.approx(brute, abs=1e-8), (truth, i)
            # the generic search (grid + Newton in x) is never better, and within 1e-5
            assert fast <= generic + 1e-9 and generic - fast < 1e-5, (truth, i, fast, generic)


@pytest.mark.slow
def test_counting_belt_is_the_same_either_way():
    lik = counting.counting(4, 1.0, 3.0)
    grid = np.linspace(0.0, 20.0, 41)
    fast = toys.neyman(lik, "mu", grid, 300, key=5, keep_toys=True)
    generic = toys.neyman(lik, "mu", grid, 300, key=5, keep_toys=True, linear=False)
    np.testing.assert_allclose(fast.t_toys, generic.t_toys, atol=1e-7)
    np.testing.assert_allclose(fast.critical, generic.critical, atol=1e-7)
    assert [i.as_list() for i in fast.fc] == [i.as_list() for i in generic.fc]


@pytest.mark.slow
def test_magnetic_moment_belt_is_the_same_either_way(csi):
    grid = np.linspace(*MU_NU_RANGE, 25)
    fast = toys.neyman(csi, "mu_nu", grid, 200, key=2, keep_toys=True)
    generic = toys.neyman(csi, "mu_nu", grid, 200, key=2, keep_toys=True, linear=False)
    # the generic Newton in mu_nu stalls at mu_nu = 0 (q'(0) = 0 there): on this coarse grid its
    # minima are up to ~3e-5 higher, so its t lower; the fast path's are the true minima
    np.testing.assert_allclose(fast.t_toys, generic.t_toys, atol=1e-4)
    assert np.all(fast.t_toys >= generic.t_toys - 1e-9)
    assert [i.as_list() for i in fast.fc] == [i.as_list() for i in generic.fc]

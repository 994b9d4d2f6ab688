"""The toy machinery under :mod:`jcevns.toys`: the toys' best-fit search, the vmapped toy kernels
(each takes the likelihood's toy adapter, :mod:`jcevns.generators`, as a pytree argument, so one
compilation serves every call with the same kind of likelihood) and the host-side loops that
feed them in chunks over every device (:mod:`jcevns.sharding`) and read the critical values."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import _linear, generators
from .sharding import run_batched


def _lagrange(xs, x):
    """Weights of the quadratic through the three nodes ``xs`` at ``x``."""
    x0, x1, x2 = xs[0], xs[1], xs[2]
    return jnp.stack([
        (x - x1) * (x - x2) / ((x0 - x1) * (x0 - x2)),
        (x - x0) * (x - x2) / ((x1 - x0) * (x1 - x2)),
        (x - x0) * (x - x1) / ((x2 - x0) * (x2 - x1)),
    ])


def _minimum(tm, grid, models, q_grid, n_newton: int):
    """``(min q, argmin)`` over the grid, refined by safeguarded Newton steps in the bracket of
    the grid minimum on the quadratically interpolated model (forward-mode derivatives, so it
    works through iterative profiles too). The result is always an attained value of ``q``."""
    size = grid.shape[0]
    k = jnp.argmin(q_grid)
    best_q, best_x = q_grid[k], grid[k]
    if size < 3 or n_newton == 0:
        return best_q, best_x
    j = jnp.clip(k, 1, size - 2)
    xs = jax.lax.dynamic_slice(grid, (j - 1,), (3,))
    ms = jax.tree_util.tree_map(lambda m: jax.lax.dynamic_slice_in_dim(m, j - 1, 3), models)
    lo, hi = grid[jnp.maximum(k - 1, 0)], grid[jnp.minimum(k + 1, size - 1)]

    def q(x):
        w = _lagrange(xs, x)
        return tm.fit(jax.tree_util.tree_map(lambda m: jnp.tensordot(w, m, axes=1), ms))[0]

    def dq(x):
        return jax.jvp(q, (x,), (jnp.ones_like(x),))[1]

    x = best_x
    for _ in range(n_newton):
        g, h = jax.jvp(dq, (x,), (jnp.ones_like(x),))
        step = jnp.where(h > 0, -g / jnp.where(h > 0, h, 1.0), -jnp.sign(g) * 0.25 * (hi - lo))
        x = jnp.clip(x + step, lo, hi)
        qx = q(x)
        better = qx < best_q
        best_q, best_x = jnp.where(better, qx, best_q), jnp.where(better, x, best_x)
    return best_q, best_x


def _search_minimum(tm, search, x_start, n_newton):
    """The global minimum over the searched range: ``search`` is either ``(grid, models)`` (grid
    search and Newton refinement) or a :class:`jcevns._linear.LinearModel` (the prediction is
    linear in a transform of the parameter: a few fits and safeguarded Newton steps)."""
    if isinstance(search, _linear.LinearModel):
        return _linear.minimum(tm.fit, search, TRANSFORMS_G[search.transform](x_start))
    grid, models = search
    q_grid = jax.vmap(lambda m: tm.fit(m)[0])(models)
    return _minimum(tm, grid, models, q_grid, n_newton)


TRANSFORMS_G = {name: g for name, (g, _) in _linear.TRANSFORMS.items()}


def _t_from_data(tm, data, truth_model, x_true, search, ordering, n_newton):
    toy = tm.with_data(data)
    q_true = toy.fit(truth_model)[0]
    q_min, x_hat = _search_minimum(toy, search, x_true, n_newton)
    q_min = jnp.minimum(q_min, q_true)
    t = jnp.maximum(q_true - q_min, 0.0)
    if ordering == "upper":
        t = jnp.where(x_hat > x_true, 0.0, t)
    return t, x_hat


@partial(jax.jit, static_argnames=("prior", "ordering", "n_newton", "table"))
def _toy_kernel(batch, tm, truth_models, truth_x, nuisances, search, prior, ordering, n_newton, table):
    """Per toy ``(key, index of its truth)``: draw, fit on the grid, ``(t, x_hat)``. Without
    prior draws all toys of a truth share their Poisson means: tables of ``table`` entries."""
    tables = None
    if not prior:
        tables = jax.vmap(lambda m, nu: generators.poisson_tables(tm.recipe(m, nu), table))(truth_models, nuisances)

    def one(key, i):
        k_data, k_prior = jax.random.split(key)
        model = jax.tree_util.tree_map(lambda m: m[i], truth_models)
        nu = nuisances[i]
        if prior:
            widths = tm.prior_widths()
            nu = jnp.where(widths > 0, widths * jax.random.normal(k_prior, nu.shape), nu)
        # the tables stay whole: gathering one truth's tables per toy would copy them per toy
        data = generators.draw(k_data, tm.recipe(model, nu), tables, i)
        if prior:  # hybrid: nuisances from their priors, auxiliary measurements as observed
            data.update({k: v for k, v in tm.observed().items() if k in tm.global_observables()})
        return _t_from_data(tm, data, model, truth_x[i], search, ordering, n_newton)

    return jax.vmap(one)(*batch)


@partial(jax.jit, static_argnames=("ordering", "n_newton"))
def _data_kernel(batch, tm, truth_models, truth_x, search, ordering, n_newton):
    """Per given data set ``(data, index of the truth)``: ``(t, x_hat)``."""

    def one(data, i):
        model = jax.tree_util.tree_map(lambda m: m[i], truth_models)
        return _t_from_data(tm, data, model, truth_x[i], search, ordering, n_newton)

    return jax.vmap(one)(*batch)


@jax.jit
def _grid_models(tm, grid):
    return jax.vmap(tm.model)(grid)


@jax.jit
def _grid_fits(tm, models):
    return jax.vmap(tm.fit)(models)


@partial(jax.jit, static_argnames=("n_newton",))
def _observed_minimum(tm, search, x_start, n_newton):
    return _search_minimum(tm, search, x_start, n_newton)


@partial(jax.jit, static_argnames=("table",))
def _draw_kernel(keys, tm, model, nuisances, table):
    recipes = tm.recipe(model, nuisances)
    tables = generators.poisson_tables(recipes, table)
    return jax.vmap(lambda k: generators.draw(k, recipes, tables))(keys)


def _key(key):
    return jax.random.PRNGKey(key) if isinstance(key, (int, np.integer)) else key


def _critical(t: np.ndarray, cl: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Per row, the smallest ``c`` with ``P(t <= c) >= cl`` (weighted by outcome probabilities)."""
    order = np.argsort(t, axis=1)
    ts = np.take_along_axis(t, order, axis=1)
    w = np.ones_like(t) if weights is None else weights
    cum = np.cumsum(np.take_along_axis(w, order, axis=1), axis=1)
    cum /= cum[:, -1:]
    idx = np.argmax(cum >= cl - 1e-12, axis=1)
    return ts[np.arange(t.shape[0]), idx]


def _search_grid(grid: np.ndarray, n_search: int | None) -> np.ndarray:
    if n_search is None or n_search >= grid.size:
        return grid
    # nearest grid values to evenly spaced values: a non-uniform grid keeps an even search
    targets = np.linspace(grid[0], grid[-1], max(3, n_search))
    return grid[np.unique(np.abs(grid[None, :] - targets[:, None]).argmin(axis=1))]


def _searcher(tm, grid: np.ndarray, n_search: int | None, linear: bool):
    """How the toys' best fit over ``[grid[0], grid[-1]]`` is found: a
    :class:`jcevns._linear.LinearModel` where the prediction is linear in a transform of the
    parameter (and ``linear``), else ``(search grid, its models)``."""
    lm = _linear.linear_model(tm, float(grid[0]), float(grid[-1]), grid) if linear else None
    if lm is not None:
        return lm
    search = jnp.asarray(_search_grid(grid, n_search))
    return search, _grid_models(tm, search)


def _toy_t(tm, truth_x, truth_models, nuisances, search, n_toys, key, prior, ordering, n_newton, chunk_size):
    """``t`` and ``x_hat`` of ``n_toys`` toys at each truth, shape ``(n_truth, n_toys)``."""
    n_truth = truth_x.shape[0]
    keys = np.asarray(jax.random.split(_key(key), n_truth * n_toys))
    idx = np.repeat(np.arange(n_truth), n_toys)
    t = np.empty(n_truth * n_toys)
    x_hat = np.empty(n_truth * n_toys)
    chunk_size = min(chunk_size, idx.size)  # small sets: no padding to a full chunk

    table = generators.table_size(_max_poisson_mean(tm, truth_models, nuisances))

    def kernel(batch, *rest):
        return _toy_kernel(batch, *rest, prior, ordering, n_newton, table)

    for lo in range(0, idx.size, chunk_size):
        hi = min(lo + chunk_size, idx.size)
        sl = slice(lo, hi)
        # pad the last chunk to the full size: one compiled shape for every chunk
        pad = lambda a: np.concatenate([a[sl], np.repeat(a[hi - 1 : hi], chunk_size - (hi - lo), axis=0)])  # noqa: E731
        ti, xi = run_batched(kernel, (pad(keys), pad(idx)), tm, truth_models, jnp.asarray(truth_x), nuisances,
                             search)
        t[sl], x_hat[sl] = ti[: hi - lo], xi[: hi - lo]
    return t.reshape(n_truth, n_toys), x_hat.reshape(n_truth, n_toys)


def _max_poisson_mean(tm, truth_models, nuisances) -> float:
    recipes = jax.vmap(tm.recipe)(truth_models, nuisances)
    return float(max(max(float(jnp.max(r.poisson)), float(jnp.max(r.subtract))) for r in recipes.values()))


def _exact_t(tm, truth_x, truth_models, nuisances, search, ordering, n_newton):
    """Every outcome of a counting model at each truth: ``t`` and probabilities ``(n_truth, n_out)``."""
    means = np.asarray(jax.vmap(lambda m, nu: tm.recipe(m, nu)[next(iter(tm.observed()))].mean)(
        truth_models, nuisances))
    top = float(np.max(means))
    n_max = int(top + 8.0 * np.sqrt(top) + 10)  # P(beyond) < 1e-10
    data, probs = jax.vmap(lambda m, nu: tm.outcomes(m, nu, n_max))(truth_models, nuisances)
    n_truth, n_out = np.asarray(probs).shape
    flat = jax.tree_util.tree_map(lambda d: np.asarray(d).reshape((n_truth * n_out,) + d.shape[2:]), data)
    idx = np.repeat(np.arange(n_truth), n_out)

    def kernel(batch, *rest):
        return _data_kernel(batch, *rest, ordering, n_newton)

    t, _ = run_batched(kernel, (flat, idx), tm, truth_models, jnp.asarray(truth_x), search)
    return t.reshape(n_truth, n_out), np.asarray(probs)

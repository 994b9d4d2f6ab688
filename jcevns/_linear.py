"""Best fits of toys for parameters whose prediction is linear in a transform of them.

Many parameters enter the expected counts linearly through a simple transform ``u = g(x)``:
a signal strength (``u = x``), a magnetic moment, whose cross section adds incoherently to the
weak one and is proportional to ``mu_nu^2`` (Vogel and Engel, Phys. Rev. D 39 (1989) 3378;
``u = x^2``), or any parameter marked ``even`` whose rate is a polynomial of degree one in
``x^2``. Then ``m(x) = m0 + g(x) m1`` exactly, and the toys' global minimum of the profiled
statistic over ``x`` is a one-dimensional minimisation over ``u`` in an interval: a few values
of ``q(u)`` locate the bracket of the minimum, and safeguarded Newton steps on ``q(u)``
(derivatives from three nearby values) converge in a handful of evaluations, instead of a fit
at every point of a search grid.

The structure is detected numerically (:func:`linear_model`), never assumed from a name: the
model at several probe values must equal ``m0 + u m1`` to :data:`LINEARITY_RTOL`. Where it does
not hold, :mod:`jcevns._belt` keeps its generic grid search.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

#: Transforms tried, in order: name -> (g, inverse on the non-negative branch).
TRANSFORMS = {
    "identity": (lambda x: x, lambda u: u),
    "square": (lambda x: x * x, lambda u: jnp.sqrt(jnp.maximum(u, 0.0))),
}
#: Largest deviation from linearity accepted, relative to the largest expected count.
LINEARITY_RTOL = 1e-10
#: Values of ``q(u)`` evaluated, evenly spaced in ``u``, before the Newton steps (plus the truth).
N_COARSE = 5
#: Most safeguarded Newton steps after the coarse search (each costs three fits); they stop
#: when a step moves ``u`` by less than :data:`XTOL` of its range (4-6 steps for CsI 2017).
MAX_NEWTON = 40
XTOL = 1e-9
#: Finite-difference step of the Newton derivatives, relative to the range of ``u``: the
#: rounding error of a statistic of order 10-100 then perturbs ``q''`` by ~1e-6 relative.
FD_STEP = 1e-5


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LinearModel:
    """``m(u) = m0 + u m1`` for ``u = g(x)`` in ``[u_lo, u_hi]``, ``x`` in ``[x_lo, x_hi]``
    (``g`` named by ``transform``)."""

    m0: object
    m1: object
    u_lo: jax.Array
    u_hi: jax.Array
    x_hi: jax.Array
    transform: str = field(metadata=dict(static=True))

    def at(self, u):
        return jax.tree_util.tree_map(lambda a, b: a + u * b, self.m0, self.m1)

    def x_of(self, u):
        """The ``x`` in range with ``g(x) = u`` (the non-negative root where both are in range)."""
        r = TRANSFORMS[self.transform][1](u)
        return r if self.transform == "identity" else jnp.where(r <= self.x_hi, r, -r)


def _u_range(transform: str, lo: float, hi: float) -> tuple[float, float]:
    if transform == "identity":
        return lo, hi
    if lo <= 0.0 <= hi:
        return 0.0, max(lo * lo, hi * hi)
    return min(lo * lo, hi * hi), max(lo * lo, hi * hi)


def _array_leaves(tree) -> bool:
    leaves = jax.tree_util.tree_leaves(tree)
    return bool(leaves) and all(isinstance(v, (jax.Array, np.ndarray)) and np.ndim(v) >= 1 for v in leaves)


def linear_model(tm, lo: float, hi: float, probes=()) -> LinearModel | None:
    """``m0, m1`` if the adapter's ``model(x)`` is linear in ``g(x)`` for ``x`` in ``[lo, hi]``.

    The check evaluates the model at the ends, at interior points and at ``probes`` (e.g. the
    grid), and accepts a transform only if every value equals the line through the ends to
    :data:`LINEARITY_RTOL` of the largest count. Models that are not arrays of expected counts
    (adapters that profile further physics parameters) are left to the generic search.
    """
    if getattr(tm, "profile", ()) or not hi > lo:
        return None
    inner = np.linspace(lo, hi, 7)[1:-1]
    xs = np.unique(np.concatenate([[lo, hi], inner, np.asarray(probes, dtype=np.float64).ravel()]))
    xs = xs[(xs >= lo) & (xs <= hi)]
    models = jax.vmap(tm.model)(jnp.asarray(xs))
    if not _array_leaves(models):
        return None
    for name, (g, _) in TRANSFORMS.items():
        us = np.asarray(g(xs))
        ua, ub = _u_range(name, lo, hi)
        if not ub > ua:
            continue
        trial = LinearModel(None, None, ua, ub, jnp.asarray(hi), name)
        ma, mb = tm.model(trial.x_of(jnp.asarray(ua))), tm.model(trial.x_of(jnp.asarray(ub)))
        m1 = jax.tree_util.tree_map(lambda a, b: (b - a) / (ub - ua), ma, mb)
        m0 = jax.tree_util.tree_map(lambda a, s: a - ua * s, ma, m1)
        ok = True
        for full, a, b in zip(jax.tree_util.tree_leaves(models), jax.tree_util.tree_leaves(m0),
                              jax.tree_util.tree_leaves(m1)):
            full = np.asarray(full)
            line = np.asarray(a)[None] + us.reshape((-1,) + (1,) * (full.ndim - 1)) * np.asarray(b)[None]
            scale = max(float(np.max(np.abs(full))), 1e-300)
            ok &= bool(np.all(np.isfinite(full))) and float(np.max(np.abs(full - line))) <= LINEARITY_RTOL * scale
        if ok:
            return LinearModel(m0, m1, jnp.asarray(ua), jnp.asarray(ub), jnp.asarray(float(hi)), name)
    return None


def minimum(fit, lm: LinearModel, u_start, n_coarse: int = N_COARSE, max_newton: int = MAX_NEWTON):
    """``(min q, argmin x)`` of ``q(u) = fit(lm.at(u))[0]`` over ``[u_lo, u_hi]`` (jit/vmap friendly).

    ``q`` at ``n_coarse`` evenly spaced values and at ``u_start`` (the toy's truth) brackets the
    minimum between the neighbours of the best value; each Newton step on ``q'(u) = 0`` that
    leaves the bracket, or meets ``q'' <= 0``, is replaced by a bisection, and the bracket shrinks
    by the sign of ``q'`` (the safeguarded Newton method, "rtsafe", Press et al., Numerical
    Recipes, 3rd ed., section 9.4), until a step is below :data:`XTOL` of the range or after
    ``max_newton`` steps. The result is always an attained value of ``q``.
    """

    def q(u):
        return fit(lm.at(u))[0]

    span = lm.u_hi - lm.u_lo
    step = FD_STEP * span

    def qgh(u):
        # Derivatives from the parabola through three nearby values (a one-sided stencil at the
        # ends of the range, where the model beyond may not exist): forward-mode second
        # derivatives through the profiled fit cost ten times more than three fits.
        offsets = jnp.where(u - step < lm.u_lo, jnp.array([0.0, 1.0, 2.0]),
                            jnp.where(u + step > lm.u_hi, jnp.array([-2.0, -1.0, 0.0]), jnp.array([-1.0, 0.0, 1.0])))
        p = u + step * offsets
        f = jax.vmap(q)(p)
        d01, d12 = (f[1] - f[0]) / (p[1] - p[0]), (f[2] - f[1]) / (p[2] - p[1])
        d012 = (d12 - d01) / (p[2] - p[0])
        value = jnp.where(offsets[0] == 0.0, f[0], jnp.where(offsets[2] == 0.0, f[2], f[1]))
        return value, d01 + d012 * (2.0 * u - p[0] - p[1]), 2.0 * d012

    u_start = jnp.clip(u_start, lm.u_lo, lm.u_hi)
    us = jnp.sort(jnp.concatenate([jnp.linspace(lm.u_lo, lm.u_hi, max(n_coarse, 2)), u_start[None]]))
    qs = jax.vmap(q)(us)
    k = jnp.argmin(qs)
    best_q, best_u = qs[k], us[k]
    # neighbours of the best value (the start may coincide with a coarse value)
    lo = jnp.max(jnp.where(us < best_u, us, lm.u_lo))
    hi = jnp.min(jnp.where(us > best_u, us, lm.u_hi))

    def newton_step(state):
        i, u, lo, hi, best_q, best_u, _ = state
        value, grad, hess = qgh(u)
        better = value < best_q
        best_q, best_u = jnp.where(better, value, best_q), jnp.where(better, u, best_u)
        # the minimum of a function unimodal in [lo, hi] lies on the downhill side of u
        lo, hi = jnp.where(grad < 0, u, lo), jnp.where(grad > 0, u, hi)
        newton = u - grad / jnp.where(hess > 0, hess, 1.0)
        inside = (hess > 0) & (newton >= lo) & (newton <= hi)
        new = jnp.where(inside, newton, 0.5 * (lo + hi))
        done = (jnp.abs(new - u) <= XTOL * span) | (hi - lo <= XTOL * span)
        return i + 1, new, lo, hi, best_q, best_u, done

    def going(state):
        return (state[0] < max_newton) & ~state[-1]

    state = (0, best_u, lo, hi, best_q, best_u, jnp.asarray(False))
    _, u, _, _, best_q, best_u, _ = jax.lax.while_loop(going, newton_step, state)
    value = q(u)
    better = value < best_q
    best_q, best_u = jnp.where(better, value, best_q), jnp.where(better, u, best_u)
    return best_q, lm.x_of(best_u)

"""Gradient-based profiling of any subset of parameters with optax L-BFGS.

The nuisance pulls are always profiled exactly (closed form, :mod:`jcevns.likelihoods`);
this module minimises the resulting statistic over further *physics* parameters, e.g.
``eps_ee_d`` while ``eps_ee_u`` is scanned, or ``g`` at fixed mediator mass. Optionally the
pulls can be handed to the optimiser too (``profile_pulls_numerically=True``), which the tests
use to check the optimiser against the exact solution.

The iteration budget is fixed and every call reports ``converged``, so the function can be
``vmap``-ed over scan points (batched while loops run until the slowest point stops).

Parameters stay inside their valid ranges (:data:`jcevns.params.SPECS`, and the Helm limit for
``rn``). The optimiser works on an unbounded ``z``:

* ``x = lo + (hi - lo) sigmoid(z)`` for ``sin2w``, ``rn``, the NSI epsilons and charge radii, a
  smooth bijection onto the open range; an optimum on a bound is approached as ``|z| -> inf``
  and flagged by ``ProfileResult.at_bound``;
* ``x = |hi tanh(z / hi)|`` for couplings, magnetic moments and mediator masses, on which the
  model depends only through ``x^2`` (``SPECS[name].even``): the sign is an exact symmetry, so
  ``x = 0`` is an ordinary interior point rather than a bound the optimiser would creep towards
  on a logarithmic scale. A start at exactly 0 is a stationary point; start couplings at a
  small non-zero value of the expected order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .forward import _prepare, expected_counts, templates_if_exact
from .likelihoods import Likelihood, _check_likelihood, _statistic_at, _statistic_from_signal
from .params import RADIUS_NAMES, SPECS, Params, check_value, is_concrete, with_own_radii


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class ProfileResult:
    """Outcome of :func:`profile`.

    Attributes:
        value: minimum of the statistic.
        x: optimised values, ``(n_free,)`` in the order of ``free`` (then the pulls, if
            profiled numerically).
        grad_norm: infinity norm of the gradient in the optimiser's (unbounded) variables.
        converged: ``grad_norm <= tol``.
        n_steps: L-BFGS iterations used.
        at_bound: per free parameter, whether the optimum lies on the edge of its valid range
            (within a fraction 1e-8 of the range), i.e. the unconstrained minimum is outside it.
    """

    value: jax.Array
    x: jax.Array
    grad_norm: jax.Array
    converged: jax.Array
    n_steps: jax.Array
    at_bound: jax.Array


#: Start points on a closed bound (e.g. ``sin2w = 0``) are moved this fraction of the range inside.
_START_INSET = 1e-9
#: Fraction of the range within which an optimum counts as on the bound.
_AT_BOUND = 1e-8


def parameter_bounds(free, analysis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid ranges of the ``free`` parameters on ``analysis``: ``(lower, upper, even)`` arrays,
    ``even`` marking parameters that enter only squared (see the module docstring)."""
    lo = np.array([SPECS[n].lower for n in free], dtype=np.float64)
    hi = np.array([SPECS[n].upper for n in free], dtype=np.float64)
    even = np.array([SPECS[n].even for n in free], dtype=bool)
    for i, n in enumerate(free):
        if n in RADIUS_NAMES and analysis.rn_lower is not None:
            lo[i] = max(lo[i], analysis.rn_lower)
    return lo, hi, even


def _to_internal(x, lo, hi, even):
    u = jnp.clip((x - lo) / (hi - lo), _START_INSET, 1.0 - _START_INSET)
    v = jnp.clip(x / hi, 0.0, 1.0 - _START_INSET)
    return jnp.where(even, hi * jnp.arctanh(v), jnp.log(u) - jnp.log1p(-u))


def _to_physical(z, lo, hi, even):
    return jnp.where(even, jnp.abs(hi * jnp.tanh(z / hi)), lo + (hi - lo) * jax.nn.sigmoid(z))


def _objective(lik: Likelihood, base: Params, free: tuple[str, ...], numeric_pulls: bool, templates=None):
    """The statistic as a function of ``x = (free parameters, [pulls])`` in physical units."""
    n_free = len(free)

    def fun(x):
        params = base.replace(**{name: x[i] for i, name in enumerate(free)})
        signal_ = expected_counts(params, lik.analysis, templates)
        if not numeric_pulls:
            return _statistic_from_signal(lik, signal_)[0]
        return _statistic_at(lik, signal_, x[n_free:])

    return fun


def minimise(fun, x0, *, max_steps: int = 200, tol: float = 1e-9) -> ProfileResult:
    """Minimise a smooth scalar function of a 1D array with optax L-BFGS (jit/vmap friendly).

    Args:
        fun: ``x -> scalar``.
        x0: start, ``(n,)``.
        max_steps: iteration budget.
        tol: stop when the gradient's infinity norm is below ``tol``.
    """
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fun)
    x0 = jnp.asarray(x0, dtype=jnp.float64)

    def cond(carry):
        x, state, k, gnorm = carry
        return (k < max_steps) & (gnorm > tol)

    def body(carry):
        x, state, k, _ = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fun)
        x = optax.apply_updates(x, updates)
        return x, state, k + 1, jnp.max(jnp.abs(grad))

    state0 = opt.init(x0)
    x, _, k, _ = jax.lax.while_loop(cond, body, (x0, state0, jnp.asarray(0), jnp.asarray(jnp.inf)))
    value, grad = jax.value_and_grad(fun)(x)
    gnorm = jnp.max(jnp.abs(grad))
    return ProfileResult(
        value=value, x=x, grad_norm=gnorm, converged=gnorm <= tol, n_steps=k, at_bound=jnp.zeros(x.shape, bool)
    )


def bounded_minimise(fun, x0, lo, hi, even, *, max_steps: int = 200, tol: float = 1e-9) -> ProfileResult:
    """:func:`minimise` with the first ``len(lo)`` entries of ``x`` kept inside ``(lo, hi)``.

    The remaining entries (numerically profiled pulls) are unbounded. ``x0`` and the result are
    in physical units; ``grad_norm`` and ``tol`` refer to the internal variables.
    """
    n = lo.shape[0]
    z0 = jnp.concatenate([_to_internal(x0[:n], lo, hi, even), x0[n:]])

    def physical(z):
        return jnp.concatenate([_to_physical(z[:n], lo, hi, even), z[n:]])

    res = minimise(lambda z: fun(physical(z)), z0, max_steps=max_steps, tol=tol)
    u = jnp.where(even, jnp.abs(jnp.tanh(res.x[:n] / hi)), jax.nn.sigmoid(res.x[:n]))
    edge = (u > 1.0 - _AT_BOUND) | (~even & (u < _AT_BOUND))
    at_bound = jnp.concatenate([edge, jnp.zeros(res.x.shape[0] - n, bool)])
    return dataclasses.replace(res, x=physical(res.x), at_bound=at_bound)


def profile(
    lik: Likelihood,
    params: Params,
    free: tuple[str, ...] | list[str],
    *,
    init=None,
    profile_pulls_numerically: bool = False,
    max_steps: int = 200,
    tol: float = 1e-9,
) -> ProfileResult:
    """Minimise the statistic over the named parameters (the pulls are profiled too), each kept
    inside its valid range (see the module docstring).

    Args:
        lik: the likelihood.
        params: values of all parameters (the ``free`` ones are starting points unless ``init``).
        free: names of the parameters to optimise.
        init: optional start ``(n_free [+ n_pulls],)``.
        profile_pulls_numerically: hand the pulls to L-BFGS instead of the exact solve.
        max_steps: iteration budget.
        tol: gradient tolerance (infinity norm) for ``converged``.

    Returns:
        :class:`ProfileResult`; jit- and vmap-compatible.

    Examples:
        >>> import jcevns
        >>> lik = jcevns.likelihood(jcevns.build("lar2020"))
        >>> res = jcevns.profile(lik, lik.analysis.params(), ["sin2w"])
        >>> bool(res.converged)
        True
    """
    _check_likelihood(lik)
    free = (free,) if isinstance(free, str) else tuple(free)  # one name is never split into letters
    unknown = [n for n in free if not isinstance(n, str) or n not in SPECS]
    if unknown or not free and not profile_pulls_numerically or len(set(free)) != len(free):
        raise ValueError(f"free must name distinct parameters from {', '.join(SPECS)}; got {list(free)}")
    if isinstance(max_steps, bool) or not (isinstance(max_steps, (int, np.integer)) and max_steps >= 1):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if isinstance(tol, bool) or not (isinstance(tol, (int, float, np.floating)) and np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    params = with_own_radii(_prepare(params, lik.analysis), free)
    if init is None:
        x0 = jnp.stack([jnp.asarray(getattr(params, n), dtype=jnp.float64) for n in free] or [jnp.zeros(())])
        x0 = x0[: len(free)]
        if profile_pulls_numerically:
            x0 = jnp.concatenate([x0, jnp.zeros(len(lik.sigma_pulls))])
    else:
        n_x = len(free) + (len(lik.sigma_pulls) if profile_pulls_numerically else 0)
        if is_concrete(init) and (np.ndim(init) != 1 or np.shape(init)[0] != n_x
                                  or np.asarray(init).dtype.kind not in "iuf"):
            raise ValueError(f"init must be {n_x} real numbers (free parameters, then pulls if profiled), got {init!r}")
        x0 = jnp.asarray(init, dtype=jnp.float64)
        if is_concrete(x0):
            for i, name in enumerate(free):
                check_value(name, np.asarray(x0[i]), lower=lik.analysis.rn_lower if name in RADIUS_NAMES else None)
    bounds = tuple(jnp.asarray(b) for b in parameter_bounds(free, lik.analysis))
    templates = templates_if_exact(params, lik.analysis, free) if is_concrete(params) else None
    return _profile_kernel(params, lik, x0, bounds, templates, free, profile_pulls_numerically, max_steps, tol)


@partial(jax.jit, static_argnames=("free", "numeric_pulls", "max_steps", "tol"))
def _profile_kernel(params, lik, x0, bounds, templates, free, numeric_pulls, max_steps, tol):
    """The compiled profile: one trace per (likelihood options, free names, budget, template use)."""
    fun = _objective(lik, params, free, numeric_pulls, templates)
    return bounded_minimise(fun, x0, *bounds, max_steps=max_steps, tol=tol)

"""Gradient-based profiling of any subset of parameters with optax L-BFGS.

The nuisance pulls are always profiled exactly (closed form, :mod:`jcevns.likelihoods`);
this module minimises the resulting statistic over further *physics* parameters, e.g.
``eps_ee_d`` while ``eps_ee_u`` is scanned, or ``g`` at fixed mediator mass. Optionally the
pulls can be handed to the optimiser too (``profile_pulls_numerically=True``), which the tests
use to check the optimiser against the exact solution.

The iteration budget is fixed and every call reports ``converged``, so the function can be
``vmap``-ed over scan points (batched while loops run until the slowest point stops).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import optax

from .forward import _predict_kernel, _prepare
from .likelihoods import Likelihood, _chi2_at, _poisson_at, _statistic_from_signal
from .params import SPECS, Params


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class ProfileResult:
    """Outcome of :func:`profile`.

    Attributes:
        value: minimum of the statistic.
        x: optimised values, ``(n_free,)`` in the order of ``free`` (then the pulls, if
            profiled numerically).
        grad_norm: infinity norm of the gradient at ``x``.
        converged: ``grad_norm <= tol``.
        n_steps: L-BFGS iterations used.
    """

    value: jax.Array
    x: jax.Array
    grad_norm: jax.Array
    converged: jax.Array
    n_steps: jax.Array


def _objective(lik: Likelihood, base: Params, free: tuple[str, ...], numeric_pulls: bool):
    n_free = len(free)

    def fun(x):
        params = base.replace(**{name: x[i] for i, name in enumerate(free)})
        signal = _predict_kernel(params, lik.analysis)
        if not numeric_pulls:
            return _statistic_from_signal(lik, signal)[0]
        at = _chi2_at if lik.statistic == "chi2" else _poisson_at
        return at(lik, signal, x[n_free:])

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
    return ProfileResult(value=value, x=x, grad_norm=gnorm, converged=gnorm <= tol, n_steps=k)


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
    """Minimise the statistic over the named parameters (the pulls are profiled too).

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

    Example:
        >>> import jcevns
        >>> lik = jcevns.likelihood(jcevns.build("lar2020"))
        >>> res = jcevns.profile(lik, lik.analysis.params(), ["sin2w"])
        >>> bool(res.converged)
        True
    """
    free = tuple(free)
    unknown = [n for n in free if n not in SPECS]
    if unknown or not free and not profile_pulls_numerically:
        raise ValueError(f"free must name parameters from {', '.join(SPECS)}; got {list(free)}")
    params = _prepare(params, lik.analysis)
    if init is None:
        x0 = jnp.stack([jnp.asarray(getattr(params, n), dtype=jnp.float64) for n in free] or [jnp.zeros(())])
        x0 = x0[: len(free)]
        if profile_pulls_numerically:
            x0 = jnp.concatenate([x0, jnp.zeros(len(lik.sigma_pulls))])
    else:
        x0 = jnp.asarray(init, dtype=jnp.float64)
    return _profile_kernel(params, lik, x0, free, profile_pulls_numerically, max_steps, tol)


@partial(jax.jit, static_argnames=("free", "numeric_pulls", "max_steps", "tol"))
def _profile_kernel(params, lik, x0, free, numeric_pulls, max_steps, tol):
    """The compiled profile: one trace per (likelihood options, free names, budget)."""
    return minimise(_objective(lik, params, free, numeric_pulls), x0, max_steps=max_steps, tol=tol)

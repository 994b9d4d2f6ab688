"""A generic binned likelihood in the spirit of HistFactory (pyhf), written in JAX.

The expected counts in bin ``b`` are a sum over samples ``s`` (the CEvNS signal from the
physics forward model, and background templates), each scaled by its modifiers:

    mu_b = sum_s  nominal_sb * (1 + sum_k W_ks a_k) * (1 + sum_j delta_jsb(a_j))

* normalisation nuisances (:class:`NormSys`): ``a_k ~ N(0, 1)`` scales every sample it acts on
  by ``1 + sigma a_k`` -- linear, as in the chi-squares of Papoulias, PRD 102 113004 (2020),
  arXiv:1907.11644, eq. 10 and Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, eq. 3.1
  (there written with pulls of width sigma; here every pull is a unit Gaussian);
* shape nuisances (:class:`ShapeSys`): ``a_j ~ N(0, 1)`` moves a sample between its -1, 0 and
  +1 sigma templates, given as ratios to the nominal. Inside ``|a| <= 1`` the interpolation is
  the quadratic through the three templates, outside it continues linearly with the same slope
  (pyhf's polynomial-interpolation idea: smooth at ``a = 0``, so Newton profiling converges).

Statistic: ``-2 ln L = 2 sum_b (mu_b - n_b + n_b ln(n_b / mu_b)) + sum a^2`` (the Poisson
deviance, zero for a perfect fit). A :class:`BinnedModel` is a frozen pytree: observed counts
and templates are leaves (so toys can replace the data and vmap), names and the statistic are
static.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

#: Newton iterations of :func:`profile` (each with a backtracking line search over
#: :data:`_STEP_SIZES`); a converged fit of a few pulls needs 5-8.
NEWTON_STEPS = 30
_STEP_SIZES = (1.0, 0.5, 0.25, 0.1, 0.01, 0.0)
#: Convergence: the gradient of -2 ln L with respect to the pulls below this (absolute).
GRADIENT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Sample:
    """One component of the expected counts.

    Attributes:
        name: sample name (e.g. ``"cevns"``, ``"brn"``, ``"ss"``).
        nominal: expected counts per bin, or ``None`` for the CEvNS signal, which the caller
            supplies at evaluation time (from :func:`jcevns.predict`).
    """

    name: str
    nominal: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NormSys:
    """A Gaussian-constrained normalisation: the samples scale by ``1 + sigma * a``."""

    name: str
    samples: tuple[str, ...]
    sigma: float


@dataclass(frozen=True)
class ShapeSys:
    """A Gaussian-constrained shape nuisance on one sample.

    Attributes:
        up, down: per-bin ratio of the +1 and -1 sigma templates to the nominal one.
    """

    name: str
    sample: str
    up: np.ndarray = field(compare=False)
    down: np.ndarray = field(compare=False)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class BinnedModel:
    """A binned Poisson likelihood with Gaussian-constrained nuisances (build with :func:`model`).

    Attributes:
        observed: ``(n_bins,)`` observed counts.
        backgrounds: ``(n_samples - 1, n_bins)`` nominal templates of the non-signal samples.
        norm_widths: ``(n_norm, n_samples)`` relative width of each normalisation on each sample.
        shape_slope, shape_curvature: ``(n_shape, n_samples, n_bins)`` interpolation coefficients
            (``(up - down) / 2`` and ``(up + down) / 2 - 1``; zero where a nuisance does not act).
        sample_names, pull_names: static labels; the signal is sample 0.
    """

    observed: jax.Array
    backgrounds: jax.Array
    norm_widths: jax.Array
    shape_slope: jax.Array
    shape_curvature: jax.Array
    sample_names: tuple = field(metadata=dict(static=True))
    pull_names: tuple = field(metadata=dict(static=True))

    @property
    def n_bins(self) -> int:
        return self.observed.shape[-1]

    @property
    def n_pulls(self) -> int:
        return len(self.pull_names)


def model(observed, samples, modifiers=()) -> BinnedModel:
    """Build a :class:`BinnedModel` outside jit, validating every input.

    Args:
        observed: observed counts per bin (non-negative, finite).
        samples: :class:`Sample` list; exactly one has ``nominal=None`` (the signal).
        modifiers: :class:`NormSys` and :class:`ShapeSys` instances.

    Raises:
        ValueError: a shape mismatch, unknown sample name, duplicate name, negative template or
            non-positive width, naming the offending input.
    """
    observed = np.asarray(observed, dtype=np.float64)
    if observed.ndim != 1 or observed.size == 0:
        raise ValueError(f"observed must be a non-empty 1D array of counts, got shape {observed.shape}")
    if not np.all(np.isfinite(observed)) or np.any(observed < 0):
        raise ValueError("observed counts must be finite and non-negative")
    n_bins = observed.size
    signal = [s for s in samples if s.nominal is None]
    if len(signal) != 1:
        raise ValueError(f"exactly one sample must be the signal (nominal=None), got {len(signal)}")
    ordered = signal + [s for s in samples if s.nominal is not None]
    names = tuple(s.name for s in ordered)
    if len(set(names)) != len(names):
        raise ValueError(f"sample names must be unique, got {names}")
    backgrounds = np.zeros((len(ordered) - 1, n_bins))
    for i, s in enumerate(ordered[1:]):
        t = np.asarray(s.nominal, dtype=np.float64)
        if t.shape != (n_bins,) or not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ValueError(f"sample {s.name!r}: nominal must be {n_bins} finite non-negative counts")
        backgrounds[i] = t

    norms = [m for m in modifiers if isinstance(m, NormSys)]
    shapes = [m for m in modifiers if isinstance(m, ShapeSys)]
    if len(norms) + len(shapes) != len(modifiers):
        raise ValueError("modifiers must be NormSys or ShapeSys instances")
    pull_names = tuple(m.name for m in norms + shapes)
    if len(set(pull_names)) != len(pull_names):
        raise ValueError(f"modifier names must be unique, got {pull_names}")
    index = {n: i for i, n in enumerate(names)}

    def sample_index(mod, name):
        if name not in index:
            raise ValueError(f"modifier {mod.name!r} acts on unknown sample {name!r}; samples: {names}")
        return index[name]

    widths = np.zeros((len(norms), len(names)))
    for k, m in enumerate(norms):
        if not (np.isfinite(m.sigma) and m.sigma > 0):
            raise ValueError(f"modifier {m.name!r}: sigma must be positive and finite, got {m.sigma!r}")
        for name in m.samples:
            widths[k, sample_index(m, name)] = m.sigma
    slope = np.zeros((len(norms) + len(shapes), len(names), n_bins))
    curvature = np.zeros_like(slope)
    for j, m in enumerate(shapes, start=len(norms)):
        up, down = (np.asarray(x, dtype=np.float64) for x in (m.up, m.down))
        if up.shape != (n_bins,) or down.shape != (n_bins,):
            raise ValueError(f"modifier {m.name!r}: up and down must have {n_bins} bins")
        if not (np.all(np.isfinite(up)) and np.all(np.isfinite(down)) and np.all(up >= 0) and np.all(down >= 0)):
            raise ValueError(f"modifier {m.name!r}: up and down ratios must be finite and non-negative")
        s = sample_index(m, m.sample)
        slope[j, s] = 0.5 * (up - down)
        curvature[j, s] = 0.5 * (up + down) - 1.0
    return BinnedModel(
        observed=jnp.asarray(observed),
        backgrounds=jnp.asarray(backgrounds),
        norm_widths=jnp.asarray(widths),
        shape_slope=jnp.asarray(slope),
        shape_curvature=jnp.asarray(curvature),
        sample_names=names,
        pull_names=pull_names,
    )


def _shape_delta(slope, curvature, a):
    """Relative shift of a template: quadratic through (-1, 0, +1) inside |a| <= 1, then linear."""
    inside = jnp.clip(a, -1.0, 1.0)
    outside = a - inside
    # d/da of the quadratic at the clip point, so the continuation is C1.
    return slope * inside + curvature * inside**2 + (slope + 2.0 * curvature * inside) * outside


def expected(bm: BinnedModel, signal, pulls):
    """Expected counts per bin ``(n_bins,)`` for a signal ``(n_bins,)`` and pulls ``(n_pulls,)``."""
    nominal = jnp.concatenate([jnp.asarray(signal)[None, :], bm.backgrounds], axis=0)  # (n_samples, n_bins)
    n_norm = bm.norm_widths.shape[0]
    norm = 1.0 + pulls[:n_norm] @ bm.norm_widths  # (n_samples,)
    delta = _shape_delta(bm.shape_slope, bm.shape_curvature, pulls[:, None, None])
    shape = 1.0 + jnp.sum(delta, axis=0)  # (n_samples, n_bins)
    return jnp.sum(nominal * norm[:, None] * shape, axis=0)


def poisson_deviance(observed, mu):
    """``2 sum (mu - n + n ln(n / mu))``; ``n ln n -> 0`` at ``n = 0`` with finite gradients."""
    positive = observed > 0
    safe_n = jnp.where(positive, observed, 1.0)
    safe_mu = jnp.where(mu > 0, mu, 1.0)
    log_term = jnp.where(positive, observed * jnp.log(safe_n / safe_mu), 0.0)
    value = 2.0 * jnp.sum(mu - observed + log_term)
    # A non-positive expectation where events were seen is impossible: infinite, not a number.
    return jnp.where(jnp.any((mu <= 0) & positive), jnp.inf, value)


def twice_nll(bm: BinnedModel, signal, pulls):
    """``-2 ln L`` (Poisson deviance plus unit-Gaussian constraints) at given pulls."""
    return poisson_deviance(bm.observed, expected(bm, signal, pulls)) + jnp.sum(pulls**2)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Profiled:
    """Result of :func:`profile`: ``-2 ln L`` minimised over the pulls.

    Attributes:
        value: the minimum of ``-2 ln L``.
        pulls: ``(n_pulls,)`` pulls at the minimum (unit Gaussians).
        converged: gradient below :data:`GRADIENT_TOLERANCE` and the value finite.
    """

    value: jax.Array
    pulls: jax.Array
    converged: jax.Array


def profile(bm: BinnedModel, signal, init=None) -> Profiled:
    """Minimise ``-2 ln L`` over the pulls by damped Newton steps (jit- and vmap-friendly).

    A fixed number of iterations (:data:`NEWTON_STEPS`) keeps the cost the same for every point
    of a vmapped scan; each step tries a few step lengths and keeps the best, so the value never
    increases. The value is differentiable in ``signal`` (and in any physics parameter behind
    it): the pulls are treated as fixed at the optimum (envelope theorem).
    """
    if bm.n_pulls == 0:
        value = twice_nll(bm, signal, jnp.zeros(0))
        return Profiled(value=value, pulls=jnp.zeros(0), converged=jnp.isfinite(value))
    signal = jnp.asarray(signal)
    f = lambda a: twice_nll(bm, signal, a)  # noqa: E731
    grad, hess = jax.grad(f), jax.hessian(f)
    steps = jnp.asarray(_STEP_SIZES)

    def newton(_, a):
        g, h = grad(a), hess(a)
        # Levenberg damping keeps the step defined where the Hessian is near singular.
        direction = jnp.linalg.solve(h + 1e-9 * jnp.eye(a.size), g)
        trials = a[None, :] - steps[:, None] * direction[None, :]
        values = jax.vmap(f)(trials)
        values = jnp.where(jnp.isfinite(values), values, jnp.inf)
        return trials[jnp.argmin(values)]

    start = jnp.zeros(bm.n_pulls) if init is None else jnp.asarray(init, dtype=jnp.float64)
    pulls = jax.lax.stop_gradient(jax.lax.fori_loop(0, NEWTON_STEPS, newton, jax.lax.stop_gradient(start)))
    value = f(pulls)
    converged = jnp.isfinite(value) & (jnp.max(jnp.abs(grad(pulls))) < GRADIENT_TOLERANCE)
    return Profiled(value=value, pulls=pulls, converged=converged)

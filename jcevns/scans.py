"""Vectorised 1D and 2D parameter scans of a test statistic, chunked for memory.

Every point of a scan is a full :class:`~jcevns.Params` whose leaves are arrays of the chunk
size, so one compiled function serves every scan of a likelihood, whatever parameters are
scanned: scanning ``sin2w`` after ``eps_ee_u`` does not recompile. Points are processed in
fixed-size chunks (the last one padded), which bounds memory and lets a progress bar run;
the same code runs unchanged on CPU or GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import reshaping
from .forward import _predict_kernel, check_references, expected_counts, templates_if_exact
from .likelihoods import Likelihood, _check_likelihood, _statistic_from_signal
from .params import RADIUS_NAMES, SPECS, Params, as_float64, check_value
from .profiling import _objective, bounded_minimise, parameter_bounds
from .sharding import run_batched

DEFAULT_CHUNK = 2048
#: Default chunk for points that cost O(bins) (event templates, mediator planes): no recoil grid
#: per point, so chunks 8x larger fit in the same memory and cut per-chunk Python overhead.
CHEAP_CHUNK = 8 * DEFAULT_CHUNK


@jax.jit
def _batched(params: Params, lik: Likelihood, templates):
    return jax.vmap(lambda p: _statistic_from_signal(lik, expected_counts(p, lik.analysis, templates)))(params)


@jax.jit
def _batched_reshaped(params: Params, lik: Likelihood, parts):
    return jax.vmap(lambda p: _statistic_from_signal(lik, reshaping.predict_reshaped(p, lik.analysis, parts)))(params)


@partial(jax.jit, static_argnames=("free", "max_steps", "tol"))
def _batched_profile(params: Params, lik: Likelihood, bounds, templates, free: tuple, max_steps: int, tol: float):
    """Per point: L-BFGS over the ``free`` parameters (pulls exact) inside ``(lo, hi)``, started
    at their values. ``bounds`` is :func:`~jcevns.profiling.parameter_bounds` as arrays."""

    def one(p):
        x0 = jnp.stack([getattr(p, n) for n in free])
        objective = _objective(lik, p, free, False, templates)
        res = bounded_minimise(objective, x0, *bounds, max_steps=max_steps, tol=tol)
        best = p.replace(**{n: res.x[i] for i, n in enumerate(free)})
        value, pulls = _statistic_from_signal(lik, expected_counts(best, lik.analysis, templates))
        return value, pulls, res.x, res.converged

    return jax.vmap(one)(params)


def _names(value, what: str) -> tuple[str, ...]:
    """A tuple of parameter names from a name, or a list/tuple of names (a string is one name,
    never a sequence of one-letter names)."""
    if isinstance(value, str):
        return (value,) if value else ()
    try:
        names = tuple(value)
    except TypeError:
        raise ValueError(f"{what} must be a parameter name or a list of names, got {value!r}") from None
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ValueError(f"{what} must list parameter names as strings, got {value!r}")
    return names


def _check_settings(lik, profile, chunk_size, max_steps, tol) -> tuple[str, ...]:
    """Validate the settings shared by :func:`scan` and :func:`evaluate`; return the profile names."""
    _check_likelihood(lik)

    def positive_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1

    if chunk_size is not None and not positive_int(chunk_size):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if not positive_int(max_steps):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if isinstance(tol, bool) or not (isinstance(tol, (int, float, np.floating)) and np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    profile = _names(profile, "profile")
    if len(set(profile)) != len(profile):
        raise ValueError(f"profile names a parameter twice: {list(profile)}")
    return profile


def _axis(name, values) -> np.ndarray:
    """Grid values of one parameter as a non-empty 1D float64 array (``ValueError`` naming it)."""
    if not isinstance(name, str):
        raise ValueError(f"grid keys must be parameter names, got {name!r}")
    if isinstance(values, (str, bytes)):
        raise ValueError(f"grid values of {name} must be numbers, got {values!r}")
    try:
        arr = np.asarray(values)
    except Exception:  # ragged lists and other objects numpy cannot read
        raise ValueError(f"grid values of {name} must be a 1D array of numbers") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"grid values of {name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"grid values of {name} must be a non-empty 1D array, got shape {arr.shape}")
    return arr.astype(np.float64)


@dataclass(frozen=True)
class ScanResult:
    """A scan of the profiled test statistic on a grid.

    Attributes:
        names: scanned parameter names.
        axes: grid values per scanned parameter (1D arrays).
        values: test statistic, shape ``tuple(len(a) for a in axes)``.
        pulls: best nuisance pulls per point, shape ``values.shape + (n_pulls,)``.
        base: the parameters held fixed (and the starting values of profiled ones).
        profiled: ``{name: values}`` of the parameters profiled at each point (shape of
            ``values``), empty when only the pulls are profiled.
        converged: per-point convergence flags of that profile (``None`` without one).
    """

    names: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    values: np.ndarray
    pulls: np.ndarray
    base: Params = field(repr=False)
    profiled: dict = field(default_factory=dict)
    converged: np.ndarray | None = None

    @property
    def minimum(self) -> float:
        return float(np.min(self.values))

    @property
    def delta(self) -> np.ndarray:
        """``values - min(values)``."""
        return self.values - self.minimum

    def argmin(self) -> dict:
        """Grid point of the minimum, ``{name: value}``."""
        idx = np.unravel_index(np.argmin(self.values), self.values.shape)
        return {n: float(a[i]) for n, a, i in zip(self.names, self.axes, idx)}


def evaluate(
    lik: Likelihood,
    base: Params,
    points: dict,
    *,
    profile: tuple = (),
    chunk_size: int | None = None,
    progress: bool = False,
    max_steps: int = 100,
    tol: float = 1e-7,
):
    """Profiled test statistic at arbitrary points.

    Args:
        lik: the likelihood.
        base: resolved parameters for everything not in ``points``.
        points: ``{name: 1D array}``, all of the same length N.
        profile: names of physics parameters to minimise over at each point (optax L-BFGS,
            started from ``base``), e.g. ``("eps_ee_d",)`` while scanning ``eps_ee_u``.
        chunk_size: points per compiled batch. Default: :data:`DEFAULT_CHUNK` for points that
            need a full prediction (memory ~ chunk_size x recoil nodes), :data:`CHEAP_CHUNK`
            for points evaluated from event templates (memory ~ chunk_size x bins).
        progress: show a tqdm progress bar.
        max_steps: iteration budget of the profile.
        tol: gradient tolerance of the profile.

    Returns:
        ``(values (N,), pulls (N, n_pulls), profiled (N, n_profile), converged (N,))`` as
        numpy arrays (the last two empty / all True without ``profile``).
    """
    profile = _check_settings(lik, profile, chunk_size, max_steps, tol)
    if not isinstance(points, dict) or not points:
        raise ValueError(f"points must be a non-empty dict {{name: 1D values}}, got {points!r}")
    if not isinstance(base, Params):
        raise ValueError(f"base must be a jcevns.Params (e.g. analysis.params()), got {type(base).__name__}")
    clash = [n for n in profile if n in points or n not in SPECS]
    if clash:
        raise ValueError(f"profiled parameters must be valid names not being scanned, got {clash}")
    arrays = {k: _axis(k, v) for k, v in points.items()}
    sizes = {v.size for v in arrays.values()}
    if len(sizes) != 1:
        raise ValueError(f"all scanned parameters need the same number of points, got sizes {sorted(sizes)}")
    n = sizes.pop()
    if "rn" in arrays and not lik.analysis.config.physics.uses_rn:
        raise ValueError(
            f"parameter rn is not used by {lik.analysis.name} with this form factor; use form_factor='helm'"
        )
    for name, values in arrays.items():
        check_value(name, values, lower=lik.analysis.rn_lower if name in RADIUS_NAMES else None)
    check_references(base, lik.analysis)
    base = lik.analysis.params(**{k: v for k, v in base.to_dict().items() if k not in arrays})
    base = as_float64(base)
    bounds = tuple(jnp.asarray(b) for b in parameter_bounds(profile, lik.analysis))
    # Points that keep rn and the mediator masses at the base values share one set of event
    # templates (jcevns.forward): a point then costs O(bins) instead of a pass over the recoil
    # nodes, and needs so little memory that chunks can be 8x larger.
    templates = templates_if_exact(base, lik.analysis, (*arrays, *profile))
    # Points that move only nuclear radii share everything but the form factors, interpolated
    # from a few nodes (jcevns.reshaping): a full prediction for O(bins x 10) work.
    parts = None
    if templates is None and not profile and reshaping.applies(lik.analysis, arrays):
        parts = reshaping.reshaping_parts(lik.analysis, base, {k: v for k, v in arrays.items() if k in RADIUS_NAMES})
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK if templates is None and parts is None else CHEAP_CHUNK
    chunk = int(min(chunk_size, max(n, 1)))
    n_chunks = -(-n // chunk)
    values = np.empty(n)
    pulls = np.empty((n, len(lik.sigma_pulls)))
    prof = np.empty((n, len(profile)))
    converged = np.ones(n, dtype=bool)
    iterator = range(n_chunks)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=f"scan {','.join(arrays)}", unit="chunk", leave=False)
    for c in iterator:
        lo, hi = c * chunk, min((c + 1) * chunk, n)
        leaves = {}
        for name in SPECS:
            if name in arrays:
                v = np.empty(chunk)
                v[: hi - lo] = arrays[name][lo:hi]
                v[hi - lo :] = arrays[name][hi - 1]  # pad with a valid point
                leaves[name] = jnp.asarray(v)
            else:
                leaves[name] = jnp.broadcast_to(getattr(base, name), (chunk,))
        if profile:
            # run_batched spreads the chunk over all devices (and processes) when there are several
            val, pul, x, ok = run_batched(
                lambda p, lk, b, t: _batched_profile(p, lk, b, t, profile, max_steps, tol),
                Params(**leaves), lik, bounds, templates,
            )
            prof[lo:hi] = np.asarray(x)[: hi - lo]
            converged[lo:hi] = np.asarray(ok)[: hi - lo]
        elif parts is not None:
            val, pul = run_batched(_batched_reshaped, Params(**leaves), lik, parts)
        else:
            val, pul = run_batched(_batched, Params(**leaves), lik, templates)
        values[lo:hi] = np.asarray(val)[: hi - lo]
        pulls[lo:hi] = np.asarray(pul)[: hi - lo]
    return values, pulls, prof, converged


def scan(
    lik: Likelihood,
    grid: dict,
    base: Params | None = None,
    *,
    profile=(),
    chunk_size: int | None = None,
    progress: bool = False,
    max_steps: int = 100,
    tol: float = 1e-7,
) -> ScanResult:
    """Profiled test statistic on the outer-product grid of one or two parameters.

    Args:
        lik: the likelihood.
        grid: ``{name: 1D values}`` for one or two parameters (non-empty, in their valid ranges).
        base: values of the other parameters (default: the analysis' SM point).
        profile: parameters minimised over at every point, one name or a list of names (see
            :func:`evaluate`).
        chunk_size: points per vmapped chunk (see :func:`evaluate`).
        progress: show a progress bar.
        max_steps: L-BFGS iterations per profiled point (see :func:`evaluate`).
        tol: convergence tolerance of the profiled points (see :func:`evaluate`).

    Raises:
        ValueError: a bad grid, name, value or setting, named in the message, before any work.

    Examples:
        >>> import numpy as np, jcevns
        >>> lik = jcevns.likelihood(jcevns.build("csi2017-newqf"))
        >>> res = jcevns.scan(lik, {"sin2w": np.linspace(0.1, 0.35, 51)})
        >>> res.values.shape
        (51,)
    """
    names_prof = _check_settings(lik, profile, chunk_size, max_steps, tol)
    if not isinstance(grid, dict) or not 1 <= len(grid) <= 2:
        raise ValueError(f"grid must be a dict of one or two parameters {{name: 1D values}}, got {grid!r}")
    names = tuple(grid)
    axes = tuple(_axis(k, grid[k]) for k in names)
    base = lik.analysis.params() if base is None else base
    if not isinstance(base, Params):
        raise ValueError(f"base must be a jcevns.Params (e.g. analysis.params()), got {type(base).__name__}")
    for kind in ("zprime", "scalar"):
        if set(names) == {f"{kind}_m", f"{kind}_g"} and not names_prof:
            return _mediator_scan(lik, kind, names, axes, base, chunk_size=chunk_size, progress=progress)
    mesh = np.meshgrid(*axes, indexing="ij")
    values, pulls, prof, ok = evaluate(
        lik,
        base,
        {k: m.ravel() for k, m in zip(names, mesh)},
        profile=names_prof,
        chunk_size=chunk_size,
        progress=progress,
        max_steps=max_steps,
        tol=tol,
    )
    shape = tuple(a.size for a in axes)
    return ScanResult(
        names,
        axes,
        values.reshape(shape),
        pulls.reshape(shape + (-1,)),
        base,
        profiled={n: prof[:, i].reshape(shape) for i, n in enumerate(names_prof)},
        converged=ok.reshape(shape) if names_prof else None,
    )


# --- mediator planes ---------------------------------------------------------------
# At fixed mass, the counts are a quadratic polynomial in u = g^2 for both mediators: the Z'
# adds u K(T) to the weak charge, which enters squared; the scalar cross section goes as
# (u Q_phi)^2 and does not interfere. Three predictions per mass (u = 0, s, 2s) fix the
# polynomial exactly, so a (M, g) plane costs 3 n_M predictions plus n_M n_g closed-form pull
# solves instead of n_M n_g predictions.


@partial(jax.jit, static_argnames=("g_name", "m_name"))
def _mediator_polynomials(params: Params, lik: Likelihood, scale, g_name: str, m_name: str):
    """Per mass: ``(A, B, C)`` with counts ``= A + B u + C u^2``, each ``(n_M, n_bins)``."""

    def at(p, u):
        return _predict_kernel(p.replace(**{g_name: jnp.sqrt(u)}), lik.analysis)

    def one(p, s):
        f0, f1, f2 = at(p, 0.0), at(p, s), at(p, 2.0 * s)
        if g_name == "scalar_g":  # no interference: the linear term vanishes identically
            return f0, jnp.zeros_like(f0), (f2 - f0) / (4.0 * s * s)
        c = (f2 - 2.0 * f1 + f0) / (2.0 * s * s)
        b = (f1 - f0) / s - c * s
        return f0, b, c

    return jax.vmap(one)(params, scale)


@jax.jit
def _mediator_statistic(poly, u, lik: Likelihood):
    """Profiled statistic on the (mass, coupling) grid from the per-mass polynomials."""
    a, b, c = poly

    def row(a_m, b_m, c_m):
        signal = a_m[None, :] + u[:, None] * b_m[None, :] + (u**2)[:, None] * c_m[None, :]
        return jax.vmap(lambda sig: _statistic_from_signal(lik, sig))(signal)

    return jax.vmap(row)(a, b, c)


def _mediator_scan(lik, kind, names, axes, base, *, chunk_size: int | None = None, progress: bool = False):
    g_name, m_name = f"{kind}_g", f"{kind}_m"
    g_axis = axes[names.index(g_name)]
    m_axis = axes[names.index(m_name)]
    check_value(g_name, g_axis)
    check_value(m_name, m_axis)
    check_references(base, lik.analysis)
    base = as_float64(lik.analysis.params(**{k: v for k, v in base.to_dict().items() if k not in names}))
    m_dev = jnp.asarray(m_axis)
    # u-scale where the new-physics term is comparable to the SM one, so the three-point
    # differences are well conditioned: G_F (q^2 + M^2) with q^2 ~ (50 MeV)^2.
    from .constants import G_FERMI

    # Capped at u = 50 so that the largest point, u = 2 s, stays at g = 10, inside the valid range
    # (the kernels give NaN beyond it); at such masses the new-physics term is still ~10 % of the SM.
    scale = jnp.minimum(G_FERMI * (2500.0 + m_dev**2), 0.5 * SPECS[g_name].upper ** 2)
    leaves = {n: jnp.broadcast_to(getattr(base, n), m_dev.shape) for n in SPECS}
    leaves[m_name] = m_dev
    poly = _mediator_polynomials(Params(**leaves), lik, scale, g_name, m_name)
    u = jnp.asarray(g_axis**2)
    # A plane point costs only a pull solve on n_bins numbers (no recoil grid).
    rows = max(1, (CHEAP_CHUNK if chunk_size is None else chunk_size) // max(1, g_axis.size))
    values = np.empty((m_axis.size, g_axis.size))
    pulls = np.empty((m_axis.size, g_axis.size, len(lik.sigma_pulls)))
    starts = range(0, m_axis.size, rows)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"scan {m_name},{g_name}", leave=False)
    for lo in starts:
        hi = min(lo + rows, m_axis.size)
        idx = np.minimum(np.arange(lo, lo + rows), m_axis.size - 1)  # fixed shape: no recompile
        val, pul = _mediator_statistic(tuple(x[idx] for x in poly), u, lik)
        values[lo:hi] = np.asarray(val)[: hi - lo]
        pulls[lo:hi] = np.asarray(pul)[: hi - lo]
    if names[0] == g_name:
        values, pulls = values.T, pulls.transpose(1, 0, 2)
    return ScanResult(names, axes, values, pulls, base)

"""Vectorised 1D and 2D parameter scans of a test statistic, chunked for memory.

Every point of a scan is a full :class:`~jcevns.Params` whose leaves are arrays of the chunk
size, so one compiled function serves every scan of a likelihood, whatever parameters are
scanned: scanning ``sin2w`` after ``eps_ee_u`` does not recompile. Points are processed in
fixed-size chunks (the last one padded), which bounds memory and lets a progress bar run;
the same code runs unchanged on CPU or GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .likelihoods import Likelihood, _profiled_kernel
from .params import SPECS, Params, as_float64, check_value

DEFAULT_CHUNK = 2048


@jax.jit
def _batched(params: Params, lik: Likelihood):
    return jax.vmap(_profiled_kernel, in_axes=(0, None))(params, lik)


@dataclass(frozen=True)
class ScanResult:
    """A scan of the profiled test statistic on a grid.

    Attributes:
        names: scanned parameter names.
        axes: grid values per scanned parameter (1D arrays).
        values: test statistic, shape ``tuple(len(a) for a in axes)``.
        pulls: best nuisance pulls per point, shape ``values.shape + (n_pulls,)``.
        base: the parameters held fixed.
    """

    names: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    values: np.ndarray
    pulls: np.ndarray
    base: Params = field(repr=False)

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


def evaluate(lik: Likelihood, base: Params, points: dict, *, chunk_size: int = DEFAULT_CHUNK, progress: bool = False):
    """Profiled test statistic at arbitrary points.

    Args:
        lik: the likelihood.
        base: resolved parameters for everything not in ``points``.
        points: ``{name: 1D array}``, all of the same length N.
        chunk_size: points per compiled batch (memory ~ chunk_size x recoil nodes).
        progress: show a tqdm progress bar.

    Returns:
        ``(values (N,), pulls (N, n_pulls))`` as numpy arrays.
    """
    arrays = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in points.items()}
    sizes = {v.size for v in arrays.values()}
    if len(sizes) != 1:
        raise ValueError(f"all scanned parameters need the same number of points, got sizes {sorted(sizes)}")
    n = sizes.pop()
    for name, values in arrays.items():
        check_value(name, values, lower=lik.analysis.rn_lower if name == "rn" else None)
    base = lik.analysis.params(**{k: v for k, v in base.to_dict().items() if k not in arrays})
    base = as_float64(base)
    chunk = int(min(chunk_size, max(n, 1)))
    n_chunks = -(-n // chunk)
    values = np.empty(n)
    pulls = np.empty((n, len(lik.sigma_pulls)))
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
        val, pul = _batched(Params(**leaves), lik)
        values[lo:hi] = np.asarray(val)[: hi - lo]
        pulls[lo:hi] = np.asarray(pul)[: hi - lo]
    return values, pulls


def scan(lik: Likelihood, grid: dict, base: Params | None = None, **kwargs) -> ScanResult:
    """Profiled test statistic on the outer-product grid of one or two parameters.

    Args:
        lik: the likelihood.
        grid: ``{name: 1D values}`` for one or two parameters.
        base: values of the other parameters (default: the analysis' SM point).
        **kwargs: ``chunk_size``, ``progress`` (see :func:`evaluate`).

    Example:
        >>> import numpy as np, jcevns
        >>> lik = jcevns.likelihood(jcevns.build("csi2017-newqf"))
        >>> res = jcevns.scan(lik, {"sin2w": np.linspace(0.1, 0.35, 51)})
        >>> res.values.shape
        (51,)
    """
    if not 1 <= len(grid) <= 2:
        raise ValueError(f"scan takes one or two parameters, got {list(grid)}")
    names = tuple(grid)
    axes = tuple(np.asarray(grid[k], dtype=np.float64).ravel() for k in names)
    mesh = np.meshgrid(*axes, indexing="ij")
    base = lik.analysis.params() if base is None else base
    values, pulls = evaluate(lik, base, {k: m.ravel() for k, m in zip(names, mesh)}, **kwargs)
    shape = tuple(a.size for a in axes)
    return ScanResult(names, axes, values.reshape(shape), pulls.reshape(shape + (-1,)), base)

"""A generic binned likelihood in the spirit of HistFactory (pyhf), written in JAX.

The expected counts in bin ``b`` are a sum over samples ``s`` (the CEvNS signal from the
physics forward model, and background templates), each scaled by its modifiers:

    mu_b = sum_s  nominal_sb * (1 + sum_k W_ks a_k) * (1 + sum_j delta_jsb(a_j))

* normalisation nuisances (:class:`NormSys`): ``a_k ~ N(0, 1)`` scales every sample it acts on
  by ``1 + sigma a_k`` -- linear, as in the chi-squares of Papoulias, PRD 102 113004 (2020),
  arXiv:1907.11644, eq. 10 and Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, eq. 3.1
  (there written with pulls of width sigma; here every pull is a unit Gaussian, see
  :func:`jcevns.binned.to_paper_units`);
* shape nuisances (:class:`ShapeSys`): ``a_j ~ N(0, 1)`` moves a sample between its -1, 0 and
  +1 sigma templates, given as ratios to the nominal. Inside ``|a| <= 1`` the interpolation is
  the quadratic through the three templates, outside it continues linearly with the same slope
  (pyhf's ``code2`` for histosys: smooth at ``a = 0``, so Newton profiling converges).

Statistics (``statistic=`` of :func:`model`):

* ``"poisson"``: ``-2 ln L = 2 sum_b (mu_b - n_b + n_b ln(n_b / mu_b)) + sum a^2`` (the Poisson
  deviance, zero for a perfect fit);
* ``"chi2"``: ``sum_b (n_b - mu_b)^2 / V_b + sum a^2`` with fixed variances ``V_b`` -- the two
  papers' statistics (:func:`chi2_model` builds them).

:func:`model` and :func:`chi2_model` build a :class:`BinnedModel`, a frozen pytree: observed
counts, variances and templates are leaves (so toys can replace the data and vmap), names and
the statistic are static. Evaluating and profiling it is :mod:`jcevns.binned`, which also
re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

STATISTICS = ("poisson", "chi2")


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
    """A binned likelihood with Gaussian-constrained nuisances (build with :func:`model`).

    Attributes:
        observed: ``(n_bins,)`` observed counts.
        backgrounds: ``(n_samples - 1, n_bins)`` nominal templates of the non-signal samples.
        norm_widths: ``(n_norm, n_samples)`` relative width of each normalisation on each sample.
        shape_slope, shape_curvature: ``(n_shape, n_samples, n_bins)`` interpolation coefficients
            (``(up - down) / 2`` and ``(up + down) / 2 - 1``; zero where a nuisance does not act).
        variance: ``(n_bins,)`` the chi-square variances (ones for ``"poisson"``, unused).
        pull_sigma: ``(n_pulls,)`` width of each pull in the papers' units (the normalisation's
            ``sigma``; 1 for shape nuisances), see :func:`to_paper_units`.
        pull_centres: ``(n_pulls,)`` centres ``c`` of the unit-Gaussian constraints
            ``sum (a - c)^2``, or ``None`` for zeros (the data). A toy sets them to its generated
            auxiliary measurements so that profiling the nuisances of a toy is fair.
        sample_names, pull_names: static labels; the signal is sample 0.
        statistic: ``"poisson"`` or ``"chi2"`` (static).
        linear: whether the expectation is linear in the pulls in the grouped form that the
            exact chi-square solve uses (static; set by :func:`model`).
    """

    observed: jax.Array
    backgrounds: jax.Array
    norm_widths: jax.Array
    shape_slope: jax.Array
    shape_curvature: jax.Array
    variance: jax.Array
    pull_sigma: jax.Array
    sample_names: tuple = field(metadata=dict(static=True))
    pull_names: tuple = field(metadata=dict(static=True))
    statistic: str = field(default="poisson", metadata=dict(static=True))
    linear: bool = field(default=False, metadata=dict(static=True))
    pull_centres: jax.Array | None = None

    @property
    def n_bins(self) -> int:
        return self.observed.shape[-1]

    @property
    def n_pulls(self) -> int:
        return len(self.pull_names)

    @property
    def n_norm(self) -> int:
        return self.norm_widths.shape[0]


def _check_counts(name, x, n_bins=None, positive=False):
    x = np.asarray(x, dtype=np.float64)
    want = f"{n_bins} " if n_bins is not None else ""
    if x.ndim != 1 or x.size == 0 or (n_bins is not None and x.size != n_bins):
        raise ValueError(f"{name} must be a 1D array of {want}values, got shape {x.shape}")
    bad = ~np.isfinite(x) | ((x <= 0) if positive else (x < 0))
    if np.any(bad):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be finite and {kind}, got {x[bad][0]!r} in bin {int(np.argmax(bad))}")
    return x


def model(observed, samples, modifiers=(), *, statistic: str = "poisson", variance=None) -> BinnedModel:
    """Build a :class:`BinnedModel` outside jit, validating every input.

    Args:
        observed: observed counts per bin (non-negative, finite).
        samples: :class:`Sample` list; exactly one has ``nominal=None`` (the signal).
        modifiers: :class:`NormSys` and :class:`ShapeSys` instances.
        statistic: ``"poisson"`` (default) or ``"chi2"``.
        variance: per-bin chi-square variances (positive); required for ``"chi2"`` only.

    Raises:
        ValueError: a shape mismatch, unknown sample name, duplicate name, negative template,
            non-positive width or variance, naming the offending input.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    observed = _check_counts("observed", observed)
    n_bins = observed.size
    if statistic == "chi2":
        if variance is None:
            raise ValueError("variance is required for statistic='chi2'")
        variance = _check_counts("variance", variance, n_bins, positive=True)
    elif variance is not None:
        raise ValueError("variance applies only to statistic='chi2'")
    else:
        variance = np.ones(n_bins)
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
    normed = np.sum(widths > 0, axis=0)  # normalisations per sample
    shaped = np.any(slope != 0, axis=(0, 2))
    linear = bool(np.all(curvature == 0) and np.all(normed <= 1) and not np.any(shaped & (normed > 0)))
    return BinnedModel(
        observed=jnp.asarray(observed),
        backgrounds=jnp.asarray(backgrounds),
        norm_widths=jnp.asarray(widths),
        shape_slope=jnp.asarray(slope),
        shape_curvature=jnp.asarray(curvature),
        variance=jnp.asarray(variance),
        pull_sigma=jnp.asarray([m.sigma for m in norms] + [1.0] * len(shapes), dtype=jnp.float64),
        sample_names=names,
        pull_names=pull_names,
        statistic=statistic,
        linear=linear,
    )


def chi2_model(observed, variance, *, signal_sigma: float, signal_pull: str = "a_signal", backgrounds=()):
    """The papers' Gaussian chi-square as a :class:`BinnedModel` (``statistic="chi2"``).

    ``chi2 = sum_i (N_i - S_i (1 + s_0 a_0) - sum_k B_ki (1 + s_k a_k))^2 / V_i + sum a^2``,
    i.e. Papoulias, PRD 102 113004 (2020), arXiv:1907.11644, eq. 10 with ``a_paper = s a``, and
    Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, eq. 3.1 (no background sample).

    Args:
        observed: the (background-subtracted) counts ``N_i`` the papers fit.
        variance: ``V_i``, e.g. ``N + B_0n + 2 B_ss`` (CsI) or ``N + N_BRN`` (LAr).
        signal_sigma: relative width of the signal normalisation.
        signal_pull: name of the signal pull.
        backgrounds: ``(name, template, sigma, pull_name)`` per background with a normalisation
            pull (``sigma=None``: a fixed background without pull).

    Example:
        >>> from jcevns.binned import profile
        >>> bm = chi2_model([10.0], [14.0], signal_sigma=0.085, signal_pull="alpha")
        >>> round(float(profile(bm, jnp.array([12.0])).value), 4)
        0.266
    """
    samples = [Sample("cevns")]
    modifiers = [NormSys(signal_pull, ("cevns",), signal_sigma)]
    for name, template, sigma, pull in backgrounds:
        samples.append(Sample(name, template))
        if sigma is not None:
            modifiers.append(NormSys(pull, (name,), sigma))
    return model(observed, samples, modifiers, statistic="chi2", variance=variance)

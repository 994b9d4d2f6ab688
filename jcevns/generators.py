"""Generative models of the likelihoods: what a toy data set is, for each statistic.

A toy is the likelihood with its observed-data leaves replaced by generated ones. Everything
:mod:`jcevns.toys` needs from a likelihood type is one small adapter, a frozen pytree with

* ``observed()``: the observed-data leaves, ``{name: array}``;
* ``with_data(data)``: the same adapter with those leaves replaced (a toy);
* ``model(x)``: everything about the parameter of interest at value ``x`` that does not depend
  on the data (expected counts, or parameters when other physics parameters are profiled);
* ``fit(model)``: the statistic at that model, minimised over the nuisances:
  ``(value, nuisances)``;
* ``recipe(model, nuisances)``: the generative model, ``{name: Recipe}`` per data leaf;
* ``prior_widths()``: Gaussian prior width of each nuisance (0: not drawn from a prior);
* ``global_observables()``: names of the data leaves that are auxiliary measurements of the
  nuisances (the centres of their Gaussian constraints);
* optionally ``outcomes(model, nuisances)``: every outcome and its probability (counting
  experiments), for exact Neyman belts.

Every leaf is drawn as one :class:`Recipe`,
``n = Poisson(poisson) - Poisson(subtract) + offset + Normal(0, gauss_var)``,
with mean ``poisson - subtract + offset`` and variance ``poisson + subtract + gauss_var``. A new
likelihood type adds an adapter and registers it with :func:`register`; the toy, belt and coverage
code does not change.

The CEvNS likelihoods (:mod:`jcevns.likelihoods`; the data leaf ``observed`` is the binned
model's ``observed``), with ``mu`` the model's expectation of it (:func:`jcevns.binned.expected`
at the true signal and pulls) and ``f`` the background the published counts had subtracted:

* ``"poisson"``: every background is a sample of the model, so the counts are
  ``Poisson(mu)`` per bin -- any binned Poisson model (CsI 2017, CENNS-10, the CsI full data
  set, the CENNS-10 3D analysis, TOML experiments).
* ``"chi2"``: the beam-on count minus the subtracted background, minus an independently
  measured background estimate whose fluctuation makes the variance equal the chi-square's
  ``sigma^2`` at ``observed = mu``: ``n = Poisson(mu + f) - f - (Poisson(e) - e)`` with
  ``e = sigma^2 - (mu + f)``. For CsI 2017 (Papoulias, PRD 102 (2020) 113004,
  arXiv:1907.11644, eq. 10, ``sigma^2 = N_meas + B_0n + 2 B_ss``) ``e = B_ss + B_0n``: the
  anti-coincidence count ``Poisson(B_ss)`` subtracted from the coincidence count, and the
  statistical uncertainty of the prompt-neutron estimate. For LAr (Miranda et al., JHEP 05
  (2020) 130, arXiv:2003.12050, eq. 3.1, ``sigma^2 = N_meas + N_BRN``) ``e = 0``: signal plus
  background counts. A toy's chi-square uses the variances of its own counts, as the papers'
  ``sigma^2`` contain ``N_meas``.

The pulls' Gaussian constraints ``(a_k / s_k)^2`` are auxiliary measurements centred at 0 in
the data; a toy draws their centres (leaf ``pull_centres``, stored in the binned model as
:attr:`jcevns.binned.BinnedModel.pull_centres`) from ``Normal(a_k, s_k)`` around the
toy's true pulls, so that a toy generated with pulls away from 0 is as compatible with its
truth as the data are (the frequentist treatment of constraints).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import binned
from . import counting as _counting
from .analyses import require_rn
from .forward import EventTemplates, expected_counts, templates_if_exact
from .likelihoods import Likelihood, _statistic_from_signal
from .params import SPECS, Params, as_float64, check_value
from .profiling import _objective, bounded_minimise, parameter_bounds


class Recipe(NamedTuple):
    """``n = Poisson(poisson) - Poisson(subtract) + offset + Normal(0, gauss_var)`` per element."""

    poisson: jax.Array
    subtract: jax.Array
    offset: jax.Array
    gauss_var: jax.Array

    @property
    def mean(self):
        return self.poisson - self.subtract + self.offset

    @property
    def variance(self):
        return self.poisson + self.subtract + self.gauss_var


def poisson_tables(recipes: dict, size: int) -> dict:
    """Cumulative Poisson probabilities ``P(N <= k)``, ``k < size``, of every Poisson part of
    ``{name: Recipe}``: ``{name: (poisson table, subtract table)}``, each ``shape + (size,)``.

    Toys that share their truth (a Neyman belt with profiled nuisances) draw by inversion from
    these tables, exactly and far faster under ``vmap`` than a rejection sampler, whose loops run
    until the slowest lane stops. ``size`` must exceed every mean by many standard deviations
    (:func:`table_size`)."""
    k = jnp.arange(size, dtype=jnp.float64)

    def cdf(lam):
        lam = jnp.maximum(lam, 0.0)[..., None]
        safe = jnp.where(lam > 0, lam, 1.0)
        logp = jnp.where(lam > 0, k * jnp.log(safe) - lam, jnp.where(k == 0, 0.0, -jnp.inf))
        return jnp.cumsum(jnp.exp(logp - jax.scipy.special.gammaln(k + 1.0)), axis=-1)

    return {name: (cdf(r.poisson), cdf(r.subtract)) for name, r in recipes.items()}


def table_size(max_mean: float) -> int:
    """Table length for Poisson means up to ``max_mean``: the tail beyond is below 1e-15."""
    return int(max_mean + 12.0 * np.sqrt(max_mean) + 40.0)


def _invert(table, u):
    """Smallest ``k`` with ``table[..., k] >= u`` (binary search per element)."""
    flat_t = table.reshape((-1, table.shape[-1]))
    k = jax.vmap(lambda t, v: jnp.searchsorted(t, v, side="left", method="scan_unrolled"))(flat_t, u.reshape(-1))
    return k.reshape(u.shape).astype(jnp.float64)


def _invert_at(tables, index, u):
    """``_invert(tables[index], u)`` without copying ``tables[index]``: a binary search whose
    steps read single entries (under ``vmap`` over toys, a per-toy copy of the tables costs far
    more than the search)."""
    size = tables.shape[-1]
    flat = tables.reshape((tables.shape[0], -1, size))
    uf = u.reshape(-1)
    rows = jnp.arange(uf.size)
    lo = jnp.zeros(uf.shape, dtype=jnp.int32)
    hi = jnp.full(uf.shape, size, dtype=jnp.int32)
    for _ in range(int(np.ceil(np.log2(size + 1)))):  # smallest k with table[k] >= u (size: none)
        mid = (lo + hi) // 2
        below = flat[index, rows, jnp.minimum(mid, size - 1)] < uf
        lo, hi = jnp.where(below, mid + 1, lo), jnp.where(below, hi, mid)
    return lo.reshape(u.shape).astype(jnp.float64)


def draw(key, recipes: dict, tables: dict | None = None, index=None) -> dict:
    """One toy data set from ``{name: Recipe}`` (jit/vmap friendly); with ``tables`` from
    :func:`poisson_tables` of the same recipes, Poisson counts by table inversion. With
    ``index``, ``tables`` carry a leading axis (one set per truth) and row ``index`` is used."""
    out = {}
    for i, name in enumerate(sorted(recipes)):
        r = recipes[name]
        k1, k2, k3 = jax.random.split(jax.random.fold_in(key, i), 3)
        lam1 = jnp.maximum(r.poisson, 0.0)
        lam2 = jnp.maximum(r.subtract, 0.0)
        if tables is None:
            n1 = jax.random.poisson(k1, lam1, shape=jnp.shape(lam1)).astype(jnp.float64)
            n2 = jax.random.poisson(k2, lam2, shape=jnp.shape(lam2)).astype(jnp.float64)
        else:
            u1 = jax.random.uniform(k1, jnp.shape(lam1), dtype=jnp.float64)
            u2 = jax.random.uniform(k2, jnp.shape(lam2), dtype=jnp.float64)
            if index is None:
                n1, n2 = _invert(tables[name][0], u1), _invert(tables[name][1], u2)
            else:
                n1, n2 = _invert_at(tables[name][0], index, u1), _invert_at(tables[name][1], index, u2)
        noise = jnp.sqrt(r.gauss_var) * jax.random.normal(k3, jnp.shape(r.offset), dtype=jnp.float64)
        out[name] = n1 - n2 + r.offset + noise
    return out


_ADAPTERS: dict = {}


def register(likelihood_type, build) -> None:
    """Register ``build(lik, param, base, profile) -> adapter`` for a likelihood type."""
    _ADAPTERS[likelihood_type] = build


def adapter(lik, param: str, base=None, profile=()):
    """The toy adapter of ``lik`` for the parameter of interest ``param``.

    Raises:
        ValueError: no generative model is registered for this likelihood type, or a bad name.
    """
    build = _ADAPTERS.get(type(lik))
    if build is None:
        known = ", ".join(t.__name__ for t in _ADAPTERS)
        raise ValueError(f"no toy generator for {type(lik).__name__}; registered types: {known}")
    return build(lik, param, base, tuple(profile))


# --- CEvNS analyses (jcevns.likelihoods.Likelihood) -----------------------------------------


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class CEvNSToys:
    """Toy adapter of a CEvNS :class:`~jcevns.Likelihood` (see the module docstring).

    Data leaves: ``observed`` (``lik.model.observed``) and ``pull_centres`` (the constraint
    centres in the papers' units, widths ``lik.sigma_pulls``). For the chi-square, whose
    variances contain the measured counts, ``variance_fixed + variance_coef * observed`` gives
    the variances of a toy; ``subtracted`` is the background the published counts had removed.
    """

    lik: Likelihood
    base: Params
    templates: EventTemplates | None
    bounds: tuple
    subtracted: jax.Array
    variance_fixed: jax.Array
    name: str = field(metadata=dict(static=True))
    profile: tuple = field(default=(), metadata=dict(static=True))
    lower: float = field(default=0.0, metadata=dict(static=True))
    upper: float = field(default=1.0, metadata=dict(static=True))
    variance_coef: float = field(default=0.0, metadata=dict(static=True))

    def observed(self):
        bm = self.lik.model
        return {"observed": bm.observed, "pull_centres": binned.to_paper_units(bm, binned.centres(bm))}

    def global_observables(self):
        return ("pull_centres",)

    def _variance(self, observed):
        # A measured count below zero (chi-square of subtracted counts) must not give a
        # non-positive variance; one count is the smallest variance a count can have.
        return jnp.maximum(self.variance_fixed + self.variance_coef * observed, 1.0)

    def with_data(self, data):
        bm = self.lik.model
        changes = {}
        if "observed" in data:
            changes["observed"] = data["observed"]
            if bm.statistic == "chi2":
                changes["variance"] = self._variance(data["observed"])
        if "pull_centres" in data:
            changes["pull_centres"] = binned.from_paper_units(bm, data["pull_centres"])
        bm = dataclasses.replace(bm, **changes)
        return dataclasses.replace(self, lik=dataclasses.replace(self.lik, model=bm))

    def model(self, x):
        p = self.base.replace(**{self.name: x})
        return p if self.profile else expected_counts(p, self.lik.analysis, self.templates)

    def _signal(self, model, nuisances):
        if not self.profile:
            return model
        n_pulls = len(self.lik.sigma_pulls)
        p = model.replace(**{n: nuisances[n_pulls + i] for i, n in enumerate(self.profile)})
        return expected_counts(p, self.lik.analysis, self.templates)

    def fit(self, model):
        if not self.profile:
            return _statistic_from_signal(self.lik, model)
        x0 = jnp.stack([getattr(model, n) for n in self.profile])
        res = bounded_minimise(_objective(self.lik, model, self.profile, False, self.templates), x0, *self.bounds,
                               max_steps=100, tol=1e-7)
        best = model.replace(**{n: res.x[i] for i, n in enumerate(self.profile)})
        value, pulls = _statistic_from_signal(self.lik, expected_counts(best, self.lik.analysis, self.templates))
        return value, jnp.concatenate([pulls, res.x])

    def recipe(self, model, nuisances):
        bm = self.lik.model
        signal = self._signal(model, nuisances)
        pulls = nuisances[: len(self.lik.sigma_pulls)]
        mu = binned.expected(bm, signal, binned.from_paper_units(bm, pulls))
        zero = jnp.zeros_like(mu)
        # auxiliary measurements of the pulls: Gaussian around the true pulls
        z = jnp.zeros_like(pulls)
        centres = Recipe(z, z, pulls, jnp.asarray(self.lik.sigma_pulls) ** 2)
        if bm.statistic == "poisson":  # every background is a sample: Poisson counts per bin
            return {"observed": Recipe(mu, zero, zero, zero), "pull_centres": centres}
        # chi-square: beam-on counts Poisson(mu + f) minus f, minus an independent background
        # estimate's fluctuation that brings the variance to the chi-square's at observed = mu
        f = self.subtracted
        extra = jnp.maximum(self._variance(mu) - (mu + f), 0.0)
        return {"observed": Recipe(mu + f, extra, extra - f, zero), "pull_centres": centres}

    def prior_widths(self):
        return jnp.asarray(list(self.lik.sigma_pulls) + [0.0] * len(self.profile))


def _generative_constants(lik: Likelihood):
    """``(subtracted, variance_fixed, variance_coef)`` from the experiment description."""
    spec = lik.analysis.experiment.likelihood
    data = lik.analysis.data
    zero = jnp.zeros(lik.model.n_bins)
    subtracted = sum((jnp.asarray(data[b.key]) for b in spec.backgrounds if b.subtracted), zero)
    if lik.statistic != "chi2":
        return subtracted, zero, 0.0
    fixed = sum((c * jnp.asarray(data[k]) for k, c in spec.chi2_variance if k != spec.observed), zero)
    coef = float(sum(c for k, c in spec.chi2_variance if k == spec.observed))
    return subtracted, fixed, coef


def _cevns_adapter(lik: Likelihood, param: str, base, profile) -> CEvNSToys:
    if param not in SPECS:
        raise ValueError(f"param must be one of {', '.join(SPECS)}, got {param!r}")
    clash = [n for n in profile if n == param or n not in SPECS]
    if clash:
        raise ValueError(f"profiled parameters must be valid names other than {param}, got {clash}")
    if param == "rn":
        require_rn(lik.analysis)
    base = lik.analysis.params() if base is None else base
    base = as_float64(lik.analysis.params(**{k: v for k, v in base.to_dict().items()}))
    lo, hi, _ = parameter_bounds((param,), lik.analysis)
    templates = templates_if_exact(base, lik.analysis, (param, *profile))
    bounds = tuple(jnp.asarray(b) for b in parameter_bounds(profile, lik.analysis))
    subtracted, var_fixed, var_coef = _generative_constants(lik)
    return CEvNSToys(lik, base, templates, bounds, subtracted, var_fixed, param, profile, float(lo[0]), float(hi[0]),
                     var_coef)


register(Likelihood, _cevns_adapter)


# --- counting experiments (jcevns.counting.Counting) ----------------------------------------


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class CountingToys:
    """Toy adapter of :class:`jcevns.counting.Counting`: Poisson (or Gaussian) counts per bin,
    no nuisances. Single-bin Poisson models also enumerate their outcomes (exact belts)."""

    lik: _counting.Counting
    name: str = field(default="mu", metadata=dict(static=True))
    lower: float = field(default=0.0, metadata=dict(static=True))
    upper: float = field(default=math.inf, metadata=dict(static=True))

    def observed(self):
        return {"observed": self.lik.observed}

    def global_observables(self):
        return ()

    def with_data(self, data):
        return dataclasses.replace(self, lik=dataclasses.replace(self.lik, **data))

    def model(self, x):
        return _counting.expected(self.lik, x)

    def fit(self, model):
        return _counting.statistic_from_expected(self.lik, model), jnp.zeros(0)

    def recipe(self, model, nuisances):
        zero = jnp.zeros_like(model)
        if self.lik.statistic == "gauss":
            return {"observed": Recipe(zero, zero, model, self.lik.sigma**2)}
        return {"observed": Recipe(model, zero, zero, zero)}

    def prior_widths(self):
        return jnp.zeros(0)

    def outcomes(self, model, nuisances, n_max: int):
        """Counts ``0..n_max`` of a one-bin Poisson model and their probabilities."""
        n = jnp.arange(n_max + 1, dtype=jnp.float64)
        m = model[0]
        logp = n * jnp.log(m) - m - jax.scipy.special.gammaln(n + 1.0)
        return {"observed": n[:, None]}, jnp.exp(logp)


def _counting_adapter(lik: _counting.Counting, param: str, base, profile) -> CountingToys:
    if param != "mu" or profile or base is not None:
        raise ValueError(f"a counting likelihood has one parameter, 'mu', and nothing to profile; got {param!r}")
    return CountingToys(lik, "mu", lik.lower, lik.upper)


register(_counting.Counting, _counting_adapter)


def check_parameter_values(tm, values, what: str) -> np.ndarray:
    """``values`` as a float64 array, checked against the adapter's physical range."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a non-empty array of finite values")
    if isinstance(tm, CEvNSToys):
        check_value(tm.name, arr, lower=tm.lik.analysis.rn_lower if tm.name == "rn" else None)
    elif hasattr(tm, "check_values"):
        tm.check_values(arr)
    elif np.any(arr < tm.lower) or np.any(arr > tm.upper):
        raise ValueError(f"{what} must lie in [{tm.lower:g}, {tm.upper:g}] for {tm.name}")
    return arr


# combinations (jcevns.combine): registered by their own module, which builds on this one
from . import combined_toys  # noqa: E402, F401

"""Test statistics of an analysis: its experiment's binned likelihood (:mod:`jcevns.binned`).

The description's :class:`~jcevns.experiments.LikelihoodSpec` names the observed counts, the
background samples and the nuisances; :func:`likelihood` turns it into a
:class:`jcevns.binned.BinnedModel` whose signal sample is the CEvNS prediction
(:func:`jcevns.predict`). Two statistics:

* ``"chi2"``: ``sum_b (n_b - mu_b)^2 / V_b + sum_k (a_k / sigma_k)^2`` with the description's
  variances. For CsI 2017 this is Papoulias, PRD 102 (2020) 113004, arXiv:1907.11644, eq. (10):
  ``sum_i ((N_i - S_i (1 + a1) - B0n_i (1 + a2)) / sigma_i)^2 + (a1/s1)^2 + (a2/s2)^2`` with
  ``sigma_i^2 = N_i + B0n_i + 2 Bss_i``, ``s1 = 0.28`` (old QF) or ``0.128`` (new QF),
  ``s2 = 0.25`` (for R_n fits the 5 % form-factor term is removed from ``s1``, footnote 4); for
  CENNS-10, Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, eq. (3.1):
  ``(N_meas - N_th (1 + a))^2 / (N_meas + N_BRN) + (a / 0.085)^2``. Quadratic in the pulls,
  so the minimum is an exact small linear solve inside the jitted function.
* ``"poisson"``: ``-2 ln L = 2 sum (mu - n + n ln(n / mu)) + sum (a_k / sigma_k)^2`` for the
  beam-on counts (backgrounds the published counts had subtracted are added back to both
  sides), profiled by damped Newton steps.

Pulls in this module's API (:func:`profiled`, :func:`statistic_at_pulls`) are the papers'
relative normalisation shifts ``a_k`` with Gaussian widths :attr:`Likelihood.sigma_pulls`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from . import binned
from .analyses import Analysis
from .experiments import SIGNAL
from .forward import _predict_kernel, _prepare
from .params import Params, is_concrete

STATISTICS = ("chi2", "poisson")


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Likelihood:
    """The test statistic of one analysis.

    Build with :func:`likelihood`. Attributes: the analysis and its binned model (pytree leaf
    containers), and static settings: the statistic name and the pull widths.
    """

    analysis: Analysis
    model: binned.BinnedModel
    statistic: str = field(default="chi2", metadata=dict(static=True))
    sigma_pulls: tuple = field(default=(), metadata=dict(static=True))

    @property
    def pull_names(self) -> tuple[str, ...]:
        """Names of the nuisance pulls, e.g. ``("a1", "a2")`` for CsI 2017, ``("alpha",)`` for LAr."""
        return self.model.pull_names


def _widths(spec, sigma_signal, sigma_background, drop_form_factor_uncertainty):
    """The nuisances with the requested widths (signal, background, form-factor term removed)."""
    for label, value in (("sigma_signal", sigma_signal), ("sigma_background", sigma_background)):
        number = not isinstance(value, (bool, str)) and np.ndim(value) == 0 and np.isreal(value)
        if value is not None and not (number and 0 < float(value) < math.inf):
            raise ValueError(f"{label} must be a positive finite number, got {value!r}")
    mods = list(spec.nuisances)
    norm = [i for i, m in enumerate(mods) if isinstance(m, binned.NormSys)]
    on_signal = [i for i in norm if SIGNAL in mods[i].samples]
    on_background = [i for i in norm if SIGNAL not in mods[i].samples]
    if sigma_signal is not None or drop_form_factor_uncertainty:
        if not on_signal:
            raise ValueError("this analysis has no signal normalisation nuisance to change")
        i = on_signal[0]
        s1 = mods[i].sigma if sigma_signal is None else float(sigma_signal)
        if drop_form_factor_uncertainty:
            ff = spec.form_factor_sigma
            if ff is None:
                raise ValueError("drop_form_factor_uncertainty: this analysis has no form-factor uncertainty term")
            if s1 <= ff:
                raise ValueError(f"sigma_signal = {s1} is too small to remove a {ff} term")
            s1 = math.sqrt(s1**2 - ff**2)
        mods[i] = dataclasses.replace(mods[i], sigma=s1)
    if sigma_background is not None:
        if not on_background:
            raise ValueError("this analysis has no background normalisation nuisance to change")
        for i in on_background:
            mods[i] = dataclasses.replace(mods[i], sigma=float(sigma_background))
    for m in mods:
        if isinstance(m, binned.NormSys) and not m.sigma > 0:
            raise ValueError(f"pull widths must be positive, got {m.name} = {m.sigma}")
    return mods


def _binned_model(analysis: Analysis, statistic: str, modifiers) -> binned.BinnedModel:
    spec = analysis.experiment.likelihood
    data = {k: np.asarray(v, dtype=np.float64) for k, v in analysis.data.items()}
    where = f"analysis {analysis.name}"
    for b in spec.backgrounds:
        if b.key not in data:
            raise ValueError(f"{where}: background {b.name!r} needs data {b.key!r}")
    kept = [b for b in spec.backgrounds if statistic == "poisson" or not b.subtracted]
    dropped = {b.name for b in spec.backgrounds} - {b.name for b in kept}
    for m in modifiers:
        acts = m.samples if isinstance(m, binned.NormSys) else (m.sample,)
        if dropped & set(acts):
            raise ValueError(f"{where}: nuisance {m.name!r} acts on a subtracted background")
    samples = [binned.Sample(SIGNAL)] + [binned.Sample(b.name, data[b.key]) for b in kept]
    if spec.observed in data:
        observed = data[spec.observed]
        if statistic == "poisson":
            observed = observed + sum(data[b.key] for b in spec.backgrounds if b.subtracted)
    else:  # a forecast: Asimov data at the reference parameters
        if statistic != "poisson":
            raise ValueError(f"{where} has no observed data (a forecast): use statistic='poisson'")
        observed = np.asarray(_predict_kernel(_prepare(analysis.params(), analysis), analysis))
        observed = observed + sum((data[b.key] for b in kept), np.zeros_like(observed))
    variance = None
    if statistic == "chi2":
        variance = sum(c * data[k] for k, c in spec.chi2_variance)
    return binned.model(observed, samples, modifiers, statistic=statistic, variance=variance)


def likelihood(
    analysis: Analysis,
    statistic: str | None = None,
    *,
    sigma_signal: float | None = None,
    sigma_background: float | None = None,
    drop_form_factor_uncertainty: bool = False,
) -> Likelihood:
    """The binned likelihood of an analysis, from its experiment description.

    Args:
        analysis: from :func:`jcevns.build`.
        statistic: ``"chi2"`` (the papers' definitions) or ``"poisson"``; default: the
            experiment's first (``"chi2"`` for the reference analyses).
        sigma_signal: signal normalisation uncertainty (default: the description's, e.g.
            0.28 / 0.128 for CsI 2017 old / new QF, 0.085 for CENNS-10).
        sigma_background: width of every background normalisation nuisance (CsI 2017: the
            prompt-neutron normalisation, 0.25).
        drop_form_factor_uncertainty: remove the form-factor term (5 % for CsI 2017) from
            ``sigma_signal`` in quadrature, as Papoulias does for the R_n fit (footnote 4).

    Raises:
        ValueError: unknown or unsupported statistic, non-positive widths, or a nuisance the
            analysis does not have.
    """
    if not isinstance(analysis, Analysis):
        raise ValueError(f"analysis must be a jcevns.Analysis, got {type(analysis).__name__}")
    spec = analysis.experiment.likelihood
    statistic = spec.statistics[0] if statistic is None else statistic
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if statistic not in spec.statistics:
        raise ValueError(f"statistic {statistic!r} is not defined for {analysis.name}; use one of {spec.statistics}")
    modifiers = _widths(spec, sigma_signal, sigma_background, drop_form_factor_uncertainty)
    model = _binned_model(analysis, statistic, modifiers)
    sigmas = tuple(float(s) for s in np.asarray(model.pull_sigma))
    return Likelihood(analysis=analysis, model=model, statistic=statistic, sigma_pulls=sigmas)


def _statistic_at(lik: Likelihood, signal, pulls):
    """The statistic at given pulls (the papers' units, widths ``sigma_pulls``): the one
    evaluation behind both statistics (``lik.model`` knows which), for single likelihoods and
    combinations alike."""
    if not isinstance(lik, Likelihood):  # a combination (jcevns.combined)
        return lik.statistic_at(signal, pulls)
    return binned.twice_nll(lik.model, signal, binned.from_paper_units(lik.model, pulls))


def _statistic_from_signal(lik: Likelihood, signal):
    """``(value, pulls)``: the statistic minimised over the pulls, pulls in the papers' units."""
    if not isinstance(lik, Likelihood):  # a combination (jcevns.combined)
        return lik.statistic_from_signal(signal)
    res = binned.profile(lik.model, signal)
    return res.value, binned.to_paper_units(lik.model, res.pulls)


@jax.jit
def _profiled_kernel(params: Params, lik: Likelihood):
    return _statistic_from_signal(lik, _predict_kernel(params, lik.analysis))


@jax.jit
def _fixed_pulls_kernel(params: Params, pulls, lik: Likelihood):
    return _statistic_at(lik, _predict_kernel(params, lik.analysis), pulls)


def statistic_and_pulls(params: Params, lik: Likelihood):
    """Test statistic minimised over the nuisance pulls, and the pulls at the minimum.

    The pulls are profiled exactly (they enter linearly); to minimise over physics parameters
    as well, use :func:`jcevns.profile`. Also available under its former name ``profiled``.

    Args:
        params: physics parameters (validated when concrete).
        lik: from :func:`likelihood`.

    Returns:
        ``(value, pulls)``: scalar chi-square (or -2 ln L) and the ``(n_pulls,)`` best pulls.
    """
    _check_likelihood(lik)
    return _profiled_kernel(_prepare(params, lik.analysis), lik)


def _check_likelihood(lik) -> None:
    """Refuse anything but a likelihood of :func:`likelihood` or a combination of
    :func:`jcevns.combine`, naming what was given."""
    from .combined import CombinedLikelihood  # combined builds on this module

    if not isinstance(lik, (Likelihood, CombinedLikelihood)):
        raise ValueError(
            f"lik must be a jcevns.Likelihood (from jcevns.likelihood or jcevns.combine), got {type(lik).__name__}"
        )


#: Former name of :func:`statistic_and_pulls` (kept: scripts and notebooks use it).
profiled = statistic_and_pulls


def statistic(params: Params, lik: Likelihood):
    """Test statistic with the pulls profiled exactly (scalar, differentiable)."""
    return statistic_and_pulls(params, lik)[0]


def statistic_at_pulls(params: Params, pulls, lik: Likelihood):
    """Test statistic at given pulls (not profiled), e.g. for an optimiser or a sampler.

    Args:
        pulls: ``(n_pulls,)`` array in :attr:`Likelihood.pull_names` order.
    """
    _check_likelihood(lik)
    if is_concrete(pulls) and np.asarray(pulls).dtype.kind not in "iuf":
        raise ValueError(f"pulls must be real numbers, got {pulls!r}")
    pulls = jnp.asarray(pulls, dtype=jnp.float64)
    if pulls.shape != (len(lik.sigma_pulls),):
        raise ValueError(f"pulls must have shape ({len(lik.sigma_pulls)},) for {lik.pull_names}, got {pulls.shape}")
    return _fixed_pulls_kernel(_prepare(params, lik.analysis), pulls, lik)

"""The declarative description of an experiment (see ``docs/experiments.md``).

An :class:`Experiment` holds everything that defines one experiment: the neutrino source, the
targets, the detector options and response, the binning, the observed data, the background
samples and nuisances, the likelihood, the presets and the published values it is validated
against. :func:`jcevns.build` turns a description plus options into an
:class:`~jcevns.Analysis`; nothing outside the experiment's own module needs to know its name.

Only numpy and the standard library are used here: descriptions are plain data, built once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

import numpy as np

#: Neutrino sources a description can name (``Source.kind``). New kinds need a flux model in
#: :mod:`jcevns.flux`; this is the seam for reactor or other sources.
SOURCES = ("sns-pidar",)


@dataclass(frozen=True)
class Source:
    """Neutrino source: SNS pion decay at rest (prompt nu_mu line, delayed nu_e and nu_mu-bar).

    The values are defaults of the flat analysis options ``nu_per_pot``, ``n_pot`` and
    ``distance_m`` (a preset or the user can override them).

    Attributes:
        nu_per_pot: neutrinos per flavour per proton on target.
        n_pot: protons on target.
        distance_m: source-detector distance [m].
        kind: source model (:data:`SOURCES`).
    """

    nu_per_pot: float
    n_pot: float
    distance_m: float
    kind: str = "sns-pidar"

    def options(self) -> dict:
        return {"nu_per_pot": self.nu_per_pot, "n_pot": self.n_pot, "distance_m": self.distance_m}


@dataclass(frozen=True)
class Observable:
    """A binned observable besides the recoil-energy one (e.g. arrival time, F90).

    The full binning is the energy bins (from the response) times every extra observable,
    flattened in C order with energy slowest: ``index = e * n_x + x``.
    """

    name: str
    unit: str
    edges: tuple[float, ...]

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1


@dataclass(frozen=True)
class Background:
    """A background sample of the binned likelihood.

    Attributes:
        name: sample name, used by the nuisances (:class:`jcevns.binned.NormSys` ``samples``).
        key: key of its per-bin expected counts in the analysis data.
        subtracted: the published counts (``LikelihoodSpec.observed``) already have this sample
            subtracted: the Poisson statistic adds it back to the data and to the expectation, the
            Gaussian chi-square leaves it out of the residual.
    """

    name: str
    key: str
    subtracted: bool = False


#: Name of the CEvNS signal sample in :class:`LikelihoodSpec` nuisances.
SIGNAL = "cevns"


@dataclass(frozen=True)
class LikelihoodSpec:
    """The binned likelihood of an experiment (an instance of :mod:`jcevns.binned`).

    Expected counts per bin: ``sum_s nominal_s (1 + sum_k a_k [k acts on s]) * shape terms``,
    with the CEvNS signal (sample :data:`SIGNAL`) from the forward model and the backgrounds
    from the data. Nuisance ``a_k`` has a Gaussian prior of width ``sigma`` (``NormSys``) or is a
    unit-Gaussian shape nuisance (``ShapeSys``).

    Attributes:
        observed: key of the observed counts in the analysis data.
        backgrounds: the background samples.
        nuisances: :class:`jcevns.binned.NormSys` / :class:`~jcevns.binned.ShapeSys` instances;
            their names are the pull names (in this order).
        statistics: statistics the experiment supports; the first is the default.
            ``"chi2"``: ``sum_b (n_b - mu_b)^2 / V_b + sum_k (a_k / sigma_k)^2`` with the
            variance ``V_b = sum_j c_j data[key_j]_b`` of :attr:`chi2_variance` (the papers'
            forms); ``"poisson"``: the Poisson deviance plus the same priors.
        chi2_variance: ``((data key, coefficient), ...)`` defining ``V_b``.
        form_factor_sigma: share of the signal normalisation width due to the form factor,
            removed in quadrature when a fit varies ``rn`` (``drop_form_factor_uncertainty``);
            ``None`` if the experiment has no such term.
        rn_fit_options: analysis options an ``rn`` fit uses (e.g. a Helm form factor).
    """

    observed: str = "n_meas"
    backgrounds: tuple[Background, ...] = ()
    nuisances: tuple = ()
    statistics: tuple[str, ...] = ("poisson",)
    chi2_variance: tuple[tuple[str, float], ...] = ()
    form_factor_sigma: float | None = None
    rn_fit_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """A published value an experiment is validated against.

    Attributes:
        value: the number, interval list or table (units as in :data:`jcevns.SPECS`).
        citation: authors, journal, arXiv number and the equation or table.
        note: why a jcevns number may legitimately differ.
    """

    value: Any
    citation: str
    note: str = ""


@dataclass(frozen=True, eq=False)
class Experiment:
    """Everything that defines one experiment.

    Compared and hashed by identity (it is static metadata of every analysis built from it).

    Attributes:
        name: registry name (lower case, e.g. ``"lar2020"``).
        target: detector material, e.g. ``"CsI[Na]"``.
        dataset: the data set in a few words, e.g. ``"COHERENT 2017, 14.6 kg, 12 PE bins"``.
        citation: the analysis the description follows (author, journal, arXiv).
        label: short plot label.
        source: the neutrino source (:class:`Source`).
        targets: ``((isotope name, atoms per formula unit), ...)``; isotope names index
            :data:`jcevns.nuclei.NUCLEI`. The number of targets is the option ``mass_kg`` times
            :func:`jcevns.nuclei.targets_per_kg`.
        options: frozen dataclass of the detector and data options (flat names, validated in
            ``__post_init__``); must have a positive ``mass_kg``.
        response: ``(options, nuclei, n_targets) -> jcevns.detectors.Detector``: energy bins in
            recoil energy, the response function (quenching, smearing, efficiency) and its
            breakpoints.
        data: ``options -> {key: per-bin array}`` with the observed counts and backgrounds
            (length ``n_e * n_x``); without ``LikelihoodSpec.observed`` the experiment is a
            forecast (Asimov data at the reference parameters).
        likelihood: :class:`LikelihoodSpec`.
        sin2w_ref: reference weak mixing angle (used when ``Params.sin2w`` is ``None``).
        rn_ref: ``PhysicsOptions -> float``, reference neutron rms radius [fm].
        defaults: default values of any flat option (physics, exposure or detector), applied
            after the source's and before the preset's.
        presets: ``{preset: flat option overrides}``; the first preset is the default.
        observables: extra binned observables (:class:`Observable`), energy slowest.
        bin_factors: ``options -> (3, n_e, n_x)`` array, the probability that an event of each
            flavour in energy bin e falls in bin x of the extra observables (times their
            efficiency); ``None`` means ones ``(3, n_e, 1)``.
        published: ``{key: Published}`` reference values with citations.
        reproduction: the recipe of ``jcevns reproduce`` for this experiment (a key of
            :data:`jcevns.reproduce.RECIPES`), or ``None``.
    """

    name: str
    target: str
    dataset: str
    citation: str
    source: Source
    targets: tuple[tuple[str, float], ...]
    options: type
    response: Callable
    data: Callable[[Any], dict]
    likelihood: LikelihoodSpec
    sin2w_ref: float
    rn_ref: Callable
    label: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"default": {}})
    observables: tuple[Observable, ...] = ()
    bin_factors: Callable | None = None
    published: Mapping[str, Published] = field(default_factory=dict)
    reproduction: str | None = None

    def __post_init__(self):
        where = f"experiment {self.name!r}"
        if not self.name or self.name != self.name.strip():
            raise ValueError(f"{where}: name must be a non-empty string without surrounding spaces")
        if self.source.kind not in SOURCES:
            raise ValueError(f"{where}: source kind must be one of {SOURCES}, got {self.source.kind!r}")
        if not self.targets:
            raise ValueError(f"{where}: targets must list at least one isotope")
        if "mass_kg" not in {f.name for f in fields(self.options)}:
            raise ValueError(f"{where}: the options class must have a mass_kg field")
        if not self.presets:
            raise ValueError(f"{where}: presets must name at least one preset")
        stats = self.likelihood.statistics
        if not stats or not set(stats) <= {"chi2", "poisson"}:
            raise ValueError(f"{where}: likelihood statistics must be among ('chi2', 'poisson'), got {stats}")
        if "chi2" in stats and not self.likelihood.chi2_variance:
            raise ValueError(f"{where}: the chi2 statistic needs likelihood.chi2_variance")
        for obs in self.observables:
            e = np.asarray(obs.edges, dtype=float)
            if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
                raise ValueError(f"{where}: observable {obs.name!r} edges must be increasing, got {obs.edges}")

    @property
    def default_preset(self) -> str:
        return next(iter(self.presets))

    @property
    def n_x(self) -> int:
        """Number of bins of the extra observables (1 without any)."""
        return int(np.prod([o.n_bins for o in self.observables])) if self.observables else 1

    def summary_line(self) -> str:
        """One line: name, target, data set, citation (``jcevns list``)."""
        return f"{self.name}: {self.target}; {self.dataset}; {self.citation}"

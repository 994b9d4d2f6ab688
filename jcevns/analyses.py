"""Analyses: frozen pytrees bundling grids, data and options for one experiment.

An :class:`Analysis` is built once, outside jit, by :func:`build` from an experiment
description (:mod:`jcevns.experiments`, registered by name or read from a TOML file). Its array
fields (recoil nodes, the bin-integration matrix, flux moments, measured data, bin factors of
the non-energy observables) are pytree leaves; its options are static metadata, so they are
part of the jit cache key and never traced.

The reference analyses (``jcevns list``): ``csi2017-oldqf`` and ``csi2017-newqf``, COHERENT
CsI[Na] 2017 with the constant (old) or energy-dependent (new) quenching factor (Papoulias,
PRD 102 (2020) 113004, arXiv:1907.11644), and ``lar2020``, COHERENT CENNS-10 Analysis A
(Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050). Presets: ``printed`` takes every
input exactly as the paper prints it; ``calibrated`` takes the choices that reproduce the
paper's normalisation (Klein-Nystrand ``R_A = 1.2 A^1/3`` for CsI,
``r = 0.09`` nu/flavour/POT for LAr; ``docs/conventions.md``). Any option can be overridden by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import constants as c
from . import experiments, flux, form_factors, nuclei
from .cross_sections import PhysicsOptions
from .detectors import Detector
from .options import check_options, declared_kinds
from .params import Params, check_scalar, validate, with_origin
from .quadrature import bin_matrix, gauss_legendre_panels

#: Presets of the reference analyses (each experiment declares its own).
PRESETS = ("calibrated", "printed")

#: Gauss-Legendre nodes per panel. Panels end at every kink of the integrand, so the rule
#: converges fast. Relative error against 24 nodes per panel, over the SM, R_n = 2 and 4.5 fm,
#: mu_nu = 50, light Z' and scalar mediators and NSI: 4 nodes 2e-7 (LAr) / 3e-9 (CsI), 5 nodes
#: 6e-9 / 2e-11, 8 nodes 1e-12 / 1e-15. Five keep a 150x margin on the 1e-6 requirement
#: (``jcevns selftest``, tests/test_accuracy.py) with 405 instead of 648 LAr nodes, which makes
#: every full prediction (R_n planes) 1.6x cheaper.
DEFAULT_NODES = 5


@dataclass(frozen=True)
class Exposure:
    """Beam exposure and geometry (Papoulias 2020 eq. 2; Miranda et al. 2020 eqs. 2.5-2.7).

    Attributes:
        nu_per_pot: neutrinos per flavour per proton on target, r.
        n_pot: protons on target.
        distance_m: source-detector distance [m].
    """

    nu_per_pot: float
    n_pot: float
    distance_m: float

    def __post_init__(self):
        for f in fields(self):
            if not getattr(self, f.name) > 0:
                raise ValueError(f"option {f.name} must be positive, got {getattr(self, f.name)!r}")


@dataclass(frozen=True)
class Config:
    """Every static choice of an analysis, grouped by layer."""

    physics: PhysicsOptions
    exposure: Exposure
    detector: Any  # the experiment's options dataclass (``Experiment.options``)
    n_nodes: int = DEFAULT_NODES

    def flat(self) -> dict:
        """All options as one ``{name: value}`` dictionary."""
        out = {}
        for group in (self.physics, self.exposure, self.detector):
            out.update(dataclasses.asdict(group))
        out["n_nodes"] = self.n_nodes
        return out


def require_rn(analysis, hint: str = "build the analysis with form_factor='helm'") -> None:
    """Raise ``ValueError`` unless ``analysis`` (or a combination) uses the neutron radius ``rn``,
    i.e. has a Helm form factor; ``hint`` says how to get one."""
    physics = analysis.config.physics
    if not physics.uses_rn:
        raise ValueError(
            f"parameter rn is not used by {analysis.name} with form_factor={physics.form_factor!r}; {hint}"
        )


def option_kinds(name) -> dict:
    """``{option: (declared type, allows None)}`` of a registered experiment (:mod:`jcevns.options`)."""
    exp = experiments.get(name)
    return declared_kinds(PhysicsOptions, Exposure, exp.options, extra={"n_nodes": ("int", False)})


def _make_config(exp, options: dict) -> Config:
    groups = {"physics": PhysicsOptions, "exposure": Exposure, "detector": exp.options}
    kinds = declared_kinds(*groups.values(), extra={"n_nodes": ("int", False)})
    options = check_options(kinds, options, exp.name)  # types first: no coercion by truthiness
    kwargs = {
        g: cls(**{k: v for k, v in options.items() if k in {f.name for f in fields(cls)}}) for g, cls in groups.items()
    }
    n_nodes = options.get("n_nodes", DEFAULT_NODES)
    if not (isinstance(n_nodes, int) and 2 <= n_nodes <= 200):
        raise ValueError(f"option n_nodes must be an integer in [2, 200], got {n_nodes!r}")
    return Config(**kwargs, n_nodes=n_nodes)


def _pytree_dataclass(data_fields, meta_fields):
    def wrap(cls):
        return jax.tree_util.register_dataclass(cls, data_fields=data_fields, meta_fields=meta_fields)

    return wrap


@_pytree_dataclass(
    data_fields=["t_nodes", "bin_matrix", "moments", "data", "bin_factors"],
    meta_fields=["name", "preset", "config", "detector", "sin2w_ref", "rn_ref", "experiment"],
)
@dataclass(frozen=True)
class Analysis:
    """One analysis: recoil grid, bin matrix, flux moments, data and static options.

    Attributes:
        t_nodes: recoil quadrature nodes [MeV], shape ``(n,)``.
        bin_matrix: ``(n_bins, n)`` quadrature weights times detector response, so that
            ``bin_matrix @ dN/dT(t_nodes)`` gives events per bin.
        moments: ``(n_isotopes, 3 flavours, 3, n)`` flux moments times the number of
            targets and the flux normalisation [cm^-2 MeV^-k].
        data: dictionary of measured arrays (``n_meas`` and backgrounds), per bin.
        bin_factors: ``(3 flavours, n_e, n_x)`` probability that an event of each flavour in
            energy bin ``e`` falls in bin ``x`` of the other observables (times their efficiency);
            ones ``(3, n_e, 1)`` for an energy-only binning. The counts per bin, flattened with
            energy slowest, are ``sum_f per_flavour[f, e] * bin_factors[f, e, x]``.
        name, preset: analysis and preset names.
        config: all static options (:class:`Config`).
        detector: the :class:`~jcevns.detectors.Detector` description.
        sin2w_ref, rn_ref: reference values used when a parameter is left at ``None``.
        experiment: the :class:`~jcevns.experiments.Experiment` description it was built from.
    """

    t_nodes: jax.Array
    bin_matrix: jax.Array
    moments: jax.Array
    data: dict
    bin_factors: jax.Array
    name: str
    preset: str
    config: Config = field(repr=False)
    detector: Detector = field(repr=False)
    sin2w_ref: float = 0.0
    rn_ref: float = 0.0
    experiment: Any = field(default=None, repr=False)

    # Compare by identity: two builds are equal only if they are the same object, which keeps
    # the static metadata hashable without comparing arrays.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def n_bins(self) -> int:
        """Number of bins of the full (flattened) binning, ``n_e * n_x``."""
        return self.bin_matrix.shape[0] * self.bin_factors.shape[-1]

    @property
    def n_energy_bins(self) -> int:
        return self.bin_matrix.shape[0]

    @property
    def bin_edges(self) -> tuple[float, ...]:
        """Bin edges in the detector observable (``detector.observable``)."""
        return self.detector.obs_edges

    @property
    def rn_lower(self) -> float | None:
        """Exclusive lower bound on ``rn`` [fm] (Helm limit), or ``None`` if unused."""
        opts = self.config.physics
        return form_factors.helm_min_rms_radius(opts.helm_skin_fm) if opts.uses_rn else None

    def params(self, **values) -> Params:
        """SM parameters of this analysis with some values changed (validated).

        ``sin2w`` and ``rn``, when not given, take this analysis' reference values, and the
        returned parameters remember it: using them with an analysis whose references differ
        raises ``ValueError`` instead of silently carrying, say, CsI's R_n to argon. Values set
        explicitly (here or with :meth:`Params.replace`) are used as given everywhere.

        Examples:
            >>> an = build("csi2017-oldqf")
            >>> an.params(sin2w=0.22).sin2w
            0.22
        """
        p = Params().replace(**values)
        for name, value in values.items():
            if value is not None:
                check_scalar(name, value)
        if p.rn is not None and np.any(np.asarray(p.rn) != self.rn_ref):
            require_rn(self)
        refs = {"sin2w": self.sin2w_ref, "rn": self.rn_ref}
        filled = {n: (self.name, ref) for n, ref in refs.items() if values.get(n) is None}
        p = p.replace(**{n: ref for n, (_, ref) in filled.items()})
        validate(p, rn_lower=self.rn_lower)
        # remember which values are this analysis' references (refused by another analysis)
        return with_origin(p, filled)

    def options(self) -> dict:
        """All options of this analysis as a flat dictionary."""
        return self.config.flat()


def build(name, preset: str | None = None, **options) -> Analysis:
    """Build an analysis: grids, flux moments and data, once, outside jit.

    Args:
        name: a registered experiment (:data:`ANALYSES`, ``jcevns list``), a path to a TOML
            description (``"my_detector.toml"``), or an :class:`~jcevns.experiments.Experiment`.
        preset: one of the experiment's presets (default: its first, ``"calibrated"`` for the
            reference analyses); ``"printed"`` takes every input exactly as the paper prints it.
        **options: overrides of any option by name (see :meth:`Analysis.options`), e.g.
            ``form_factor="helm"`` or ``kn_radius_coeff_fm=1.23``.

    Returns:
        The :class:`Analysis`.

    Raises:
        ValueError: unknown analysis, preset or option, or an invalid option value.
    """
    exp = experiments.get(name)
    preset = exp.default_preset if preset is None else preset
    if preset not in exp.presets:
        raise ValueError(f"unknown preset {preset!r} for {exp.name}; valid presets: {', '.join(exp.presets)}")
    merged = exp.source.options() | dict(exp.defaults) | dict(exp.presets[preset]) | options
    config = _make_config(exp, merged)
    if not config.detector.mass_kg > 0:
        raise ValueError(f"option mass_kg must be positive, got {config.detector.mass_kg!r}")
    composition = tuple((nuclei.nucleus(iso), eta) for iso, eta in exp.targets)
    n_targets = tuple(config.detector.mass_kg * n for n in nuclei.targets_per_kg(composition))
    detector = exp.response(config.detector, tuple(n for n, _ in composition), n_targets)
    if config.physics.proton_rms_radius_fm is not None and len(config.physics.proton_rms_radius_fm) != len(
        detector.nuclei
    ):
        raise ValueError(
            f"option proton_rms_radius_fm needs one radius per isotope ({len(detector.nuclei)}), "
            f"got {config.physics.proton_rms_radius_fm!r}"
        )
    n_e = detector.n_bins
    factors = np.ones((3, n_e, 1)) if exp.bin_factors is None else np.asarray(exp.bin_factors(config.detector), float)
    if factors.shape != (3, n_e, exp.n_x) or not np.all(np.isfinite(factors)) or np.any(factors < 0):
        raise ValueError(
            f"{exp.name}: bin_factors must be a finite non-negative (3, {n_e}, {exp.n_x}) array, got {factors.shape}"
        )
    measured = {k: np.asarray(v, dtype=np.float64) for k, v in exp.data(config.detector).items()}
    for key, v in measured.items():
        if v.shape != (n_e * exp.n_x,):
            raise ValueError(f"{exp.name}: data {key!r} must have {n_e * exp.n_x} bins, got shape {v.shape}")

    t_nodes, t_weights, bin_index, moments = _recoil_grid(detector, config)
    if detector.smearing is None:
        matrix = bin_matrix(t_weights, bin_index, n_e, detector.response(t_nodes))
    else:
        matrix = np.asarray(detector.smearing(t_nodes), dtype=np.float64) * (detector.response(t_nodes) * t_weights)
    return Analysis(
        t_nodes=jnp.asarray(t_nodes),
        bin_matrix=jnp.asarray(matrix),
        moments=jnp.asarray(moments),
        data={k: jnp.asarray(v) for k, v in measured.items()},
        bin_factors=jnp.asarray(factors),
        name=exp.name,
        preset=preset,
        config=config,
        detector=detector,
        sin2w_ref=exp.sin2w_ref,
        rn_ref=exp.rn_ref(config.physics),
        experiment=exp,
    )


def kinematic_breakpoints(detector: Detector) -> list[float]:
    """Recoil energies [MeV] where the recoil integrand has a kink or a step: the end point of
    the prompt line and of the delayed spectra for every isotope, and the response breakpoints."""
    points = list(detector.breakpoints_mev)
    for nucleus in detector.nuclei:
        for e in (c.E_NU_PROMPT, c.E_NU_MAX_DELAYED):
            points.append(float(flux.t_max(e, nucleus.mass_mev)))
    return points


def _recoil_grid(detector: Detector, config: Config):
    nodes, weights, index = gauss_legendre_panels(
        detector.t_edges_mev, kinematic_breakpoints(detector), config.n_nodes, min_panel_width=1e-12
    )
    norm = flux.normalisation_per_cm2(config.exposure.nu_per_pot, config.exposure.n_pot, config.exposure.distance_m)
    moments = np.stack(
        [
            n_targets * norm * np.asarray(flux.moments(flux.e_min(nodes, nucleus.mass_mev)))
            for nucleus, n_targets in zip(detector.nuclei, detector.n_targets)
        ]
    )
    return nodes, weights, index, moments


def __getattr__(name: str):
    # ANALYSES: the registered experiments (:mod:`jcevns.experiments`, ``jcevns list``), listed on
    # first use rather than on import: experiment modules import this module and jcevns.forward,
    # so loading them while this module is still being imported would be circular.
    if name == "ANALYSES":
        globals()["ANALYSES"] = experiments.names()
        return globals()["ANALYSES"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

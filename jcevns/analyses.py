"""Analyses: frozen pytrees bundling grids, data and options for one reference analysis.

An :class:`Analysis` is built once, outside jit, by :func:`build`. Its array fields (recoil
nodes, the bin-integration matrix, flux moments, measured data) are pytree leaves; its
options are static metadata, so they are part of the jit cache key and never traced.

Three analyses, each with two presets (see the README's validation table and
``../shared/notes/conventions.md``):

* ``csi2017-oldqf``, ``csi2017-newqf``: COHERENT CsI[Na] 2017 with the constant (old) or the
  energy-dependent (new) quenching factor, seed 003 (Papoulias, PRD 102 113004).
* ``lar2020``: COHERENT CENNS-10 Analysis A, seed 000 (Miranda et al., JHEP 05 (2020) 130).

Presets: ``printed`` takes every input exactly as the paper prints it; ``calibrated`` takes the
choices that reproduce the paper's normalisation (Klein-Nystrand ``R_A = 1.2 A^1/3`` for CsI,
``r = 0.09`` nu/flavour/POT for LAr). Any option can be overridden by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

import jax
import jax.numpy as jnp
import numpy as np

from . import constants as c
from . import data as _data
from . import flux, form_factors
from .cross_sections import PhysicsOptions
from .detectors import Detector, csi2017, lar2020
from .params import Params, validate
from .quadrature import bin_matrix, gauss_legendre_panels

ANALYSES = ("csi2017-oldqf", "csi2017-newqf", "lar2020")
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
    """Beam exposure and geometry (seed 003 eq. 2; seed 000 eqs. 2.5-2.7).

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
    detector: csi2017.CsIOptions | lar2020.LArOptions
    data_bin_6_8: str = "release"
    n_nodes: int = DEFAULT_NODES

    def flat(self) -> dict:
        """All options as one ``{name: value}`` dictionary."""
        out = {}
        for group in (self.physics, self.exposure, self.detector):
            out.update(dataclasses.asdict(group))
        out["data_bin_6_8"] = self.data_bin_6_8
        out["n_nodes"] = self.n_nodes
        return out


def _presets(name: str, preset: str) -> dict:
    """Option overrides of each preset (flat names)."""
    if name.startswith("csi2017"):
        det = _data.load("csi2017_detector")
        common = dict(
            couplings="radiative",
            recoil_term=False,
            form_factor="klein-nystrand",
            scalar_charge="papoulias2020",
            nu_per_pot=det["nu_per_pot_per_flavour"],
            n_pot=det["n_pot"],
            distance_m=det["distance_m"],
            qf="constant" if name == "csi2017-oldqf" else "polynomial",
            mass_kg=det["mass_kg"],
            light_yield_pe_per_kevee=det["light_yield_pe_per_kevee"],
        )
        if preset == "printed":
            return common | dict(kn_radius_coeff_fm=1.23, charge_radius_convention="printed", fc_nsi="as_printed")
        return common | dict(kn_radius_coeff_fm=1.2, charge_radius_convention="standard", fc_nsi="incoherent")
    lar = _data.load("lar2020")
    common = dict(
        couplings="tree",
        recoil_term=True,
        form_factor="helm",
        helm_skin_fm=0.9,
        proton_rms_radius_fm=(3.14,),  # seed 000 below eq. 2.4
        scalar_charge="sigma_terms",
        n_pot=lar["n_pot_printed"],
        distance_m=lar["distance_m"],
        mass_kg=lar["mass_kg"],
        roi_max_kevnr=lar["roi_max_kevnr"],
    )
    if preset == "printed":
        return common | dict(
            nu_per_pot=lar["nu_per_pot_per_flavour_printed"], charge_radius_convention="printed", fc_nsi="as_printed"
        )
    return common | dict(
        nu_per_pot=lar["nu_per_pot_per_flavour_release"], charge_radius_convention="standard", fc_nsi="incoherent"
    )


def _make_config(name: str, options: dict) -> Config:
    groups = {
        "physics": PhysicsOptions,
        "exposure": Exposure,
        "detector": csi2017.CsIOptions if name.startswith("csi2017") else lar2020.LArOptions,
    }
    top = {"data_bin_6_8", "n_nodes"}
    known = set(top).union(*({f.name for f in fields(cls)} for cls in groups.values()))
    unknown = set(options) - known
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for analysis {name!r}; valid options: {sorted(known)}")
    kwargs = {
        g: cls(**{k: v for k, v in options.items() if k in {f.name for f in fields(cls)}}) for g, cls in groups.items()
    }
    extra = {k: options[k] for k in top if k in options}
    if extra.get("data_bin_6_8", "release") not in ("release", "digitized"):
        raise ValueError(f"option data_bin_6_8 must be 'release' or 'digitized', got {extra['data_bin_6_8']!r}")
    if not (isinstance(extra.get("n_nodes", DEFAULT_NODES), int) and 2 <= extra.get("n_nodes", DEFAULT_NODES) <= 200):
        raise ValueError(f"option n_nodes must be an integer in [2, 200], got {extra['n_nodes']!r}")
    return Config(**kwargs, **extra)


def _pytree_dataclass(data_fields, meta_fields):
    def wrap(cls):
        return jax.tree_util.register_dataclass(cls, data_fields=data_fields, meta_fields=meta_fields)

    return wrap


@_pytree_dataclass(
    data_fields=["t_nodes", "bin_matrix", "moments", "data"],
    meta_fields=["name", "preset", "config", "detector", "sin2w_ref", "rn_ref"],
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
        data: dictionary of measured arrays (``n_meas`` and backgrounds).
        name, preset: analysis and preset names.
        config: all static options (:class:`Config`).
        detector: the :class:`~jcevns.detectors.Detector` description.
        sin2w_ref, rn_ref: reference values used when a parameter is left at ``None``.
    """

    t_nodes: jax.Array
    bin_matrix: jax.Array
    moments: jax.Array
    data: dict
    name: str
    preset: str
    config: Config = field(repr=False)
    detector: Detector = field(repr=False)
    sin2w_ref: float = 0.0
    rn_ref: float = 0.0

    # Compare by identity: two builds are equal only if they are the same object, which keeps
    # the static metadata hashable without comparing arrays.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def n_bins(self) -> int:
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

        Example:
            >>> an = build("csi2017-oldqf")
            >>> an.params(sin2w=0.22).sin2w
            0.22
        """
        p = Params().replace(**values)
        if not self.config.physics.uses_rn and p.rn is not None and np.any(np.asarray(p.rn) != self.rn_ref):
            raise ValueError(
                f"parameter rn is not used by {self.name} with form_factor="
                f"{self.config.physics.form_factor!r}; build the analysis with form_factor='helm'"
            )
        if p.sin2w is None:
            p = p.replace(sin2w=self.sin2w_ref)
        if p.rn is None:
            p = p.replace(rn=self.rn_ref)
        validate(p, rn_lower=self.rn_lower)
        return p

    def options(self) -> dict:
        """All options of this analysis as a flat dictionary."""
        return self.config.flat()


def _reference_rn(name: str, config: Config) -> float:
    if name == "lar2020":
        return 3.36  # seed 000 below eq. 2.4 (Argon neutron rms radius)
    # CsI: seed 003 below eq. 12 (R_0 = 1.23 A^1/3, s = 0.9 fm), averaged over Cs and I.
    s = config.physics.helm_skin_fm
    return float(np.mean([form_factors.helm_rms_from_r0(1.23 * a ** (1 / 3), s) for a in (133, 127)]))


def build(name: str, preset: str = "calibrated", **options) -> Analysis:
    """Build an analysis: grids, flux moments and data, once, outside jit.

    Args:
        name: one of :data:`ANALYSES`.
        preset: ``"calibrated"`` (default) or ``"printed"``.
        **options: overrides of any option by name (see :meth:`Analysis.options`), e.g.
            ``form_factor="helm"`` or ``kn_radius_coeff_fm=1.23``.

    Returns:
        The :class:`Analysis`.

    Raises:
        ValueError: unknown analysis, preset or option, or an invalid option value.
    """
    if name not in ANALYSES:
        raise ValueError(f"unknown analysis {name!r}; valid analyses: {', '.join(ANALYSES)}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    config = _make_config(name, _presets(name, preset) | options)

    if name.startswith("csi2017"):
        table = _data.load("csi2017")
        detector = csi2017.build(config.detector, table["pe_edges"])
        n_meas = np.array(table["n_meas"], dtype=np.float64)
        if config.data_bin_6_8 == "digitized":
            n_meas[0] = table["n_meas_bin_6_8_digitized"]
        measured = {
            "n_meas": n_meas,
            "b_0n": np.array(table["b_0n"], dtype=np.float64),
            "b_ss": np.array(table["b_ss"], dtype=np.float64),
        }
        sin2w_ref = c.SIN2W_PAPOULIAS2020
    else:
        if "data_bin_6_8" in options:
            raise ValueError("option data_bin_6_8 applies only to the csi2017 analyses")
        table = _data.load("lar2020")
        detector = lar2020.build(config.detector)
        measured = {
            "n_meas": np.array([table["n_meas"]], dtype=np.float64),
            "n_brn": np.array([table["n_brn"]], dtype=np.float64),
        }
        sin2w_ref = c.SIN2W_MIRANDA2020
    if config.physics.proton_rms_radius_fm is not None and len(config.physics.proton_rms_radius_fm) != len(
        detector.nuclei
    ):
        raise ValueError(
            f"option proton_rms_radius_fm needs one radius per isotope ({len(detector.nuclei)}), "
            f"got {config.physics.proton_rms_radius_fm!r}"
        )

    t_nodes, t_weights, bin_index, moments = _recoil_grid(detector, config)
    matrix = bin_matrix(t_weights, bin_index, detector.n_bins, detector.response(t_nodes))
    return Analysis(
        t_nodes=jnp.asarray(t_nodes),
        bin_matrix=jnp.asarray(matrix),
        moments=jnp.asarray(moments),
        data={k: jnp.asarray(v) for k, v in measured.items()},
        name=name,
        preset=preset,
        config=config,
        detector=detector,
        sin2w_ref=sin2w_ref,
        rn_ref=_reference_rn(name, config),
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

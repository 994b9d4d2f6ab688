"""COHERENT CENNS-10 liquid argon, Analysis A, as the collaboration fitted it: a binned Poisson
likelihood in reconstructed energy x pulse-shape discrimination (F90) x arrival time.

Akimov et al. (COHERENT), PRL 126 (2021) 012002, arXiv:2003.10630; data release arXiv:2006.12659,
Zenodo 10.5281/zenodo.3903810 (files read by :mod:`jcevns.experiments._lar2020_release`).

Signal (the physics forward model, :func:`jcevns.forward.recoil_spectrum`): recoil spectrum of
40Ar per flavour, quenched with QF = 0.246 + 0.00078 T[keVnr], smeared with
sigma/E = 0.58/sqrt(E[keVee]), weighted by the Analysis A efficiency at reconstructed energy
(all release values) and binned in 12 x 10 keVee: the energy ``bin_matrix`` ``(12, n_nodes)``.
Each flavour's events then spread over F90 x time with ``bin_factors`` ``(3, 12, 80)``:
the arrival-time fractions of :mod:`jcevns.timing` with the release's proton-on-target timing
(Gaussian, 0.44 us mean, 0.15 us width) inside the -0.1-4.9 us window, times the F90
distribution of the release's CEvNS PDF in the same energy bin (its F90 and time
distributions factorise to 1e-6; the F90 distribution of a nuclear recoil is a detector
property that jcevns does not model). Events outside the time window are lost, so the
window efficiency is part of the prediction.

Backgrounds: the release's prompt and delayed beam-related-neutron (BRN) and steady-state (SS)
PDFs, with the release's prediction uncertainties as Gaussian priors on their normalisations;
optionally the release's shape systematics (``SystErrors``) as shape nuisances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import binned
from .. import constants as c
from ..detectors import Detector
from ..detectors.response import gaussian_bin_response, linear_quenching
from ..flux import t_max
from ..timing import bin_fractions
from . import SIGNAL, Background, Experiment, LikelihoodSpec, Observable, Published, Source, register
from . import _lar2020_release as release
from .lar2020 import ARGON_PHYSICS

NAME = "lar2020-3d"
CITATION = "Akimov et al. (COHERENT), PRL 126 (2021) 012002, arXiv:2003.10630 (data release arXiv:2006.12659)"
BACKGROUNDS = ("prompt_brn", "delayed_brn", "ss")

#: Relative uncertainty of the CEvNS prediction, 17/128 (release yaml), the prior of the signal
#: normalisation in physics fits (flux, quenching, efficiency, mass).
SIGNAL_NORM_SIGMA = release.NORMALISATIONS["cevns_prediction"][1] / release.NORMALISATIONS["cevns_prediction"][0]

#: Recoil range [keVnr]: from where the quenched energy is 0.25 keVee (the first efficiency
#: bin, efficiency zero) to the delayed end point; panels every ~2.5 keVee.
_T_MIN_KEVNR = 1.0
_PANEL_KEVEE = 2.5


@dataclass(frozen=True)
class Lar3DOptions:
    """Detector and timing options of the 3D analysis.

    Attributes:
        mass_kg: fiducial mass [kg] (24.4 +- 0.61, release yaml).
        pot_mean_us, pot_sigma_us: Gaussian proton-on-target trace [us] (0.44 +- 0.20 and 0.15,
            release yaml ``snsPOTTraceTiming``).
        time_offset_us: extra shift of every arrival time [us] (0: the release's t_trig clock
            has the proton trace at 0.44 us; the release CEvNS PDF prefers +0.012 us).
    """

    mass_kg: float = release.YAML["mass_kg"]
    pot_mean_us: float = release.YAML["pot_mean_us"]
    pot_sigma_us: float = release.YAML["pot_sigma_us"]
    time_offset_us: float = 0.0

    def __post_init__(self):
        if not self.mass_kg > 0:
            raise ValueError(f"option mass_kg must be positive, got {self.mass_kg!r}")
        if not 0.0 < self.pot_sigma_us <= 2.0:
            raise ValueError(f"option pot_sigma_us must be in (0, 2] us, got {self.pot_sigma_us!r}")
        for name in ("pot_mean_us", "time_offset_us"):
            if not -2.0 <= getattr(self, name) <= 2.0:
                raise ValueError(f"option {name} must be in [-2, 2] us, got {getattr(self, name)!r}")


def f90_distribution() -> np.ndarray:
    """``(12, 8)`` F90 distribution per energy bin from the release's CEvNS PDF (summed over
    time, normalised per energy bin). Energy bins where the release PDF is empty (above
    60 keVee) take the distribution of the highest non-empty bin."""
    per_e = release.pdf("cevns").sum(axis=2)
    total = per_e.sum(axis=1)
    out = np.zeros_like(per_e)
    last = None
    for e in range(per_e.shape[0]):
        if total[e] > 0:
            last = per_e[e] / total[e]
        out[e] = last
    return out


def bin_factors(opts: Lar3DOptions) -> np.ndarray:
    """``(3, 12, 80)`` F90 x time factors: each flavour's arrival-time fractions inside the
    window (:func:`jcevns.timing.bin_fractions`) times the F90 shares of the energy bin."""
    frac = np.asarray(bin_fractions(release.TIME_EDGES_US, opts.pot_mean_us, opts.pot_sigma_us, opts.time_offset_us))
    return np.einsum("ei,ft->feit", f90_distribution(), frac).reshape(3, release.SHAPE[0], release.N_X)


def energy_response(t_kevnr) -> np.ndarray:
    """``(12, n)`` probability x efficiency that a recoil ``T`` [keVnr] is reconstructed in each
    10 keVee bin (release quenching, resolution and efficiency)."""
    e_ee = linear_quenching(t_kevnr, release.YAML["qf_a"], release.YAML["qf_b_per_kevnr"])
    sigma = release.YAML["resolution_kevee_sqrt"] * np.sqrt(e_ee)
    # Simpson step 0.025 keVee: the efficiency knots (0.25 + 0.5 k keVee) fall on panel ends.
    return gaussian_bin_response(e_ee, sigma, release.ENERGY_EDGES_KEVEE, release.efficiency, step=0.025)


def _response(opts: Lar3DOptions, nuclei, n_targets) -> Detector:
    # Recoil panels end every ~2.5 keVee of quenched energy (the efficiency rises steeply below
    # 10 keVee); the kinematic end points are added when the analysis is built.
    t_fine = np.linspace(_T_MIN_KEVNR, 160.0, 4000)
    e_fine = linear_quenching(t_fine, release.YAML["qf_a"], release.YAML["qf_b_per_kevnr"])
    t_end = max(float(t_max(c.E_NU_MAX_DELAYED, n.mass_mev)) for n in nuclei)
    breaks = [float(np.interp(e, e_fine, t_fine)) * 1e-3 for e in np.arange(_PANEL_KEVEE, e_fine[-1], _PANEL_KEVEE)]
    return Detector(
        name="CENNS-10 LAr (Analysis A, energy x F90 x time)",
        nuclei=tuple(nuclei),
        n_targets=tuple(n_targets),
        t_edges_mev=(_T_MIN_KEVNR * 1e-3, t_end),
        observable="keVee",
        obs_edges=tuple(float(e) for e in release.ENERGY_EDGES_KEVEE),
        response=lambda t: np.ones_like(t),
        breakpoints_mev=tuple(b for b in breaks if b < t_end),
        smearing=lambda t_mev: energy_response(np.asarray(t_mev) * 1e3),
    )


def _data(opts: Lar3DOptions) -> dict:
    return {"n_meas": release.observed().ravel()} | {s: release.pdf(s).ravel() for s in BACKGROUNDS}


def shape_ratios(name: str):
    """``(sample, up, down)`` per-bin ratios of a release systematic to its nominal PDF; a
    one-sided variation is mirrored (``down = 2 - up``, floored at zero); bins where the
    nominal PDF is empty get ratio one."""
    sample, plus, minus = release.systematic(name)
    nominal = release.pdf(sample)
    safe = np.where(nominal > 0, nominal, 1.0)
    up = np.where(nominal > 0, plus / safe, 1.0)
    down = 2.0 - up if minus is None else np.where(nominal > 0, minus / safe, 1.0)
    return sample, up.ravel(), np.clip(down, 0.0, None).ravel()


def _nuisances() -> tuple:
    # Prior widths relative to each PDF's own total (the SS PDF sums to 3152, its yaml
    # prediction says 3154; the 2-event difference is far inside the 25-event prior).
    n = release.NORMALISATIONS
    norms = [binned.NormSys("cevns_norm", (SIGNAL,), SIGNAL_NORM_SIGMA)] + [
        binned.NormSys(f"{s}_norm", (s,), n[f"{s}_prediction"][1] / release.PDFS[s][1]) for s in BACKGROUNDS
    ]
    shapes = []
    for name in release.SYSTEMATICS:
        sample, up, down = shape_ratios(name)
        shapes.append(binned.ShapeSys(name, SIGNAL if sample == "cevns" else sample, up, down))
    return tuple(norms + shapes)


def binned_model(analysis, shape_systematics: bool = True, signal_prior: bool = True) -> binned.BinnedModel:
    """The binned Poisson likelihood of a built analysis (signal supplied at evaluation).

    Args:
        analysis: ``jcevns.build("lar2020-3d")``.
        shape_systematics: include the release's shape systematics (``SystErrors``).
        signal_prior: include the 13 % Gaussian prior on the signal normalisation (physics
            fits); the collaboration's fit of the CEvNS count has none.
    """
    spec = analysis.experiment.likelihood
    samples = [binned.Sample(SIGNAL)] + [
        binned.Sample(b.name, np.asarray(analysis.data[b.key])) for b in spec.backgrounds
    ]
    mods = [
        m
        for m in spec.nuisances
        if (shape_systematics or isinstance(m, binned.NormSys)) and (signal_prior or m.name != "cevns_norm")
    ]
    return binned.model(np.asarray(analysis.data[spec.observed]), samples, mods)


def _rn_ref(physics) -> float:
    return 3.36  # Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, below eq. 2.4


def _experiment() -> Experiment:
    n = release.NORMALISATIONS
    yaml = "COHERENT CENNS-10 data release, arXiv:2006.12659, LArParametersAnlA.yaml"
    return Experiment(
        name=NAME,
        target="LAr",
        dataset="COHERENT CENNS-10 Analysis A, 24.4 kg, 12 energy x 8 F90 x 10 time bins",
        citation=CITATION,
        label="LAr CENNS-10 3D",
        source=Source(nu_per_pot=release.YAML["nu_per_pot"], n_pot=release.YAML["n_pot"],
                      distance_m=release.YAML["distance_m"]),
        targets=(("Ar40", 1),),
        options=Lar3DOptions,
        response=_response,
        data=_data,
        observables=(Observable("f90", "", tuple(release.F90_EDGES)),
                      Observable("t_trig", "us", tuple(release.TIME_EDGES_US))),
        bin_factors=bin_factors,
        likelihood=LikelihoodSpec(
            observed="n_meas",
            backgrounds=tuple(Background(s, s) for s in BACKGROUNDS),
            nuisances=_nuisances(),
            statistics=("poisson",),
        ),
        # Radiative (PDG) couplings take the MS-bar sin2w at M_Z (Miranda et al. below eq. 2.3).
        sin2w_ref=c.SIN2W_MIRANDA2020,
        rn_ref=_rn_ref,
        defaults=dict(
            ARGON_PHYSICS,
            couplings="radiative",
            charge_radius_convention="standard",
            fc_nsi="incoherent",
        ),
        presets={"release": {}},
        reproduction="coherent2021-lar3d",
        published={
            "sm_total": Published(128.0, f"{yaml}, cevnsPredictionNormalization = 128 +- 17 (in the time window)"),
            **{
                f"{s}_bestfit": Published(list(n[f"{s}_bestfit"]), f"{yaml}, best-fit normalisation")
                for s in ("cevns",) + BACKGROUNDS
            },
        },
    )


LAR2020_3D = register(_experiment())

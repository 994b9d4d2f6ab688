"""COHERENT CENNS-10 liquid argon, Analysis A, as the collaboration fitted it: a binned Poisson
likelihood in reconstructed energy x pulse-shape discrimination (F90) x arrival time.

Akimov et al. (COHERENT), PRL 126 (2021) 012002, arXiv:2003.10630; data release arXiv:2006.12659,
Zenodo 10.5281/zenodo.3903810 (files read by :mod:`jcevns.experiments.lar2020_release`).

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

import jax
import jax.numpy as jnp
import numpy as np

from .. import analyses, binned, forward
from ..analyses import Analysis
from ..detectors import Detector
from ..detectors.response import gaussian_bin_response, linear_quenching
from ..nuclei import AR40, targets_per_kg
from ..timing import bin_fractions
from . import lar2020_release as release

NAME = "lar2020-3d"

#: Physics and exposure choices on top of the single-bin ``lar2020`` options: radiative
#: (PDG) couplings with the MS-bar sin2w at M_Z, the release's exposure (13.8e22 POT,
#: 0.09 nu/flavour/POT, 27.5 m, 24.4 kg). Helm form factor with the proton rms radius and
#: reference R_n of Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050 (below eq. 2.4).
OPTIONS = dict(
    couplings="radiative",
    n_pot=release.YAML["n_pot"],
    nu_per_pot=release.YAML["nu_per_pot"],
    distance_m=release.YAML["distance_m"],
    mass_kg=release.YAML["mass_kg"],
)

#: Relative uncertainty of the CEvNS prediction, 17/128 (release yaml), used as the prior of the
#: signal normalisation in physics fits (flux, quenching, efficiency, mass).
SIGNAL_NORM_SIGMA = release.NORMALISATIONS["cevns_prediction"][1] / release.NORMALISATIONS["cevns_prediction"][0]

#: Recoil range [keVnr]: from where the quenched energy is 0.25 keVee (the first efficiency
#: bin, efficiency zero) to the delayed end point; panels every ~2.5 keVee.
_T_MIN_KEVNR = 1.0
_PANEL_KEVEE = 2.5
_bin_fractions = jax.jit(bin_fractions)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Lar3D:
    """The 3D analysis: an energy-binned :class:`~jcevns.Analysis` plus the per-flavour
    spread of each energy bin over (F90, time) bins.

    Attributes:
        analysis: recoil grid, flux moments and the ``(12, n_nodes)`` energy bin matrix.
        bin_factors: ``(3, 12, 80)``; ``counts[e * 80 + x] = sum_f per_flavour[f, e] * bin_factors[f, e, x]``
            with ``x = f90_bin * 10 + time_bin`` (release order, energy slowest).
    """

    analysis: Analysis
    bin_factors: jax.Array

    def params(self, **values):
        """Standard-Model parameters with some values changed (validated)."""
        return self.analysis.params(**values)


def f90_distribution() -> np.ndarray:
    """``(12, 8)`` F90 distribution per energy bin from the release's CEvNS PDF (summed over
    time, normalised per energy bin). Energy bins where the release PDF is empty (above
    50 keVee) take the distribution of the highest non-empty bin."""
    per_e = release.pdf("cevns").sum(axis=2)
    total = per_e.sum(axis=1)
    out = np.zeros_like(per_e)
    last = None
    for e in range(per_e.shape[0]):
        if total[e] > 0:
            last = per_e[e] / total[e]
        out[e] = last
    return out


def bin_factors(pot_mean_us=None, pot_sigma_us=None, offset_us=0.0) -> np.ndarray:
    """``(3, 12, 80)`` F90 x time factors (time fractions inside the window times F90 shares)."""
    mean = release.YAML["pot_mean_us"] if pot_mean_us is None else pot_mean_us
    sigma = release.YAML["pot_sigma_us"] if pot_sigma_us is None else pot_sigma_us
    frac = np.asarray(_bin_fractions(release.TIME_EDGES_US, mean, sigma, offset_us))  # (3, 10)
    f90 = f90_distribution()  # (12, 8)
    return np.einsum("ei,ft->feit", f90, frac).reshape(3, release.SHAPE[0], release.N_X)


def energy_response(t_kevnr) -> np.ndarray:
    """``(12, n)`` probability x efficiency that a recoil ``T`` [keVnr] is reconstructed in each
    10 keVee bin (release quenching, resolution and efficiency)."""
    e_ee = linear_quenching(t_kevnr, release.YAML["qf_a"], release.YAML["qf_b_per_kevnr"])
    sigma = release.YAML["resolution_kevee_sqrt"] * np.sqrt(e_ee)
    # Simpson step 0.025 keVee: the efficiency knots (0.25 + 0.5 k keVee) fall on panel ends.
    return gaussian_bin_response(e_ee, sigma, release.ENERGY_EDGES_KEVEE, release.efficiency, step=0.025)


def _detector(config) -> Detector:
    # Recoil panels: a breakpoint every ~2.5 keVee of quenched energy (the efficiency rises
    # steeply below 10 keVee); kinematic end points are added by analyses.kinematic_breakpoints.
    t_fine = np.linspace(_T_MIN_KEVNR, 160.0, 4000)
    e_fine = linear_quenching(t_fine, release.YAML["qf_a"], release.YAML["qf_b_per_kevnr"])
    t_max = float(analyses.flux.t_max(analyses.c.E_NU_MAX_DELAYED, AR40.mass_mev)) * 1e3
    steps = np.arange(_PANEL_KEVEE, e_fine[-1], _PANEL_KEVEE)
    breaks = [float(np.interp(e, e_fine, t_fine)) * 1e-3 for e in steps]
    return Detector(
        name="CENNS-10 LAr (Analysis A, 3D)",
        nuclei=(AR40,),
        n_targets=(config.detector.mass_kg * targets_per_kg(((AR40, 1),))[0],),
        t_edges_mev=(_T_MIN_KEVNR * 1e-3, t_max * 1e-3),
        observable="keVee",
        obs_edges=tuple(float(e) for e in release.ENERGY_EDGES_KEVEE),
        response=lambda t: np.ones_like(t),
        breakpoints_mev=tuple(b for b in breaks if b < t_max * 1e-3),
    )


def build(pot_mean_us=None, pot_sigma_us=None, time_offset_us=0.0, **options) -> Lar3D:
    """Build the 3D analysis once, outside jit.

    Args:
        pot_mean_us, pot_sigma_us: proton-on-target timing [us] (default: release yaml).
        time_offset_us: shift of all neutrino arrival times [us].
        **options: overrides of the physics/exposure options (as for :func:`jcevns.build`).
    """
    config = analyses._make_config("lar2020", analyses._presets("lar2020", "calibrated") | OPTIONS | options)
    detector = _detector(config)
    t_nodes, t_weights, _, moments = analyses._recoil_grid(detector, config)
    matrix = t_weights[None, :] * energy_response(t_nodes * 1e3)
    analysis = Analysis(
        t_nodes=jnp.asarray(t_nodes),
        bin_matrix=jnp.asarray(matrix),
        moments=jnp.asarray(moments),
        data={"n_meas": jnp.asarray(release.observed().ravel())},
        name=NAME,
        preset="release",
        config=config,
        detector=detector,
        sin2w_ref=analyses.c.SIN2W_MIRANDA2020,
        rn_ref=analyses._reference_rn("lar2020", config),
    )
    return Lar3D(analysis=analysis, bin_factors=jnp.asarray(bin_factors(pot_mean_us, pot_sigma_us, time_offset_us)))


def contract(per_flavour, factors):
    """``(3, 12)`` per-flavour energy-bin counts -> ``(960,)`` counts (CONTRACT order)."""
    return jnp.einsum("fe,fex->ex", per_flavour, factors).reshape(-1)


@jax.jit
def _predict(params, lar: Lar3D):
    return contract(forward._per_flavour(params, lar.analysis), lar.bin_factors)


def predict(params, lar: Lar3D):
    """Expected CEvNS events in the 960 bins (energy slowest, then F90, then time)."""
    return _predict(forward._prepare(params, lar.analysis), lar)


def predict_from_templates(params, templates: forward.EventTemplates, lar: Lar3D):
    """Same as :func:`predict` from event templates (jit/vmap friendly, no checks)."""
    return contract(forward.templates_per_flavour(params, templates), lar.bin_factors)


def binned_model(shape_systematics: bool = False, signal_norm_sigma: float | None = None) -> binned.BinnedModel:
    """The release likelihood: observed counts, background PDFs with Gaussian priors on their
    normalisations (release yaml prediction widths), optionally the release shape systematics
    and a Gaussian prior on the signal normalisation.

    Samples: ``cevns`` (supplied at evaluation), ``prompt_brn``, ``delayed_brn``, ``ss``.
    """
    n = release.NORMALISATIONS
    samples = [binned.Sample("cevns")] + [
        binned.Sample(s, release.pdf(s).ravel()) for s in ("prompt_brn", "delayed_brn", "ss")
    ]
    # Prior widths relative to each PDF's own total (the SS PDF sums to 3152, its yaml
    # prediction says 3154; the 2-event difference is far inside the 25-event prior).
    mods = [
        binned.NormSys(f"{s}_norm", (s,), n[f"{s}_prediction"][1] / release.PDFS[s][1])
        for s in ("prompt_brn", "delayed_brn", "ss")
    ]
    if signal_norm_sigma is not None:
        mods.append(binned.NormSys("cevns_norm", ("cevns",), signal_norm_sigma))
    if shape_systematics:
        mods += [binned.ShapeSys(name, *shape_ratios(name)) for name in release.SYSTEMATICS]
    return binned.model(release.observed().ravel(), samples, mods)


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

"""COHERENT CsI[Na] complete dataset in reconstructed PE x arrival time.

Data: Akimov et al. (COHERENT), PRL 129 (2022) 081801, arXiv:2110.07730, ancillary files (shipped
verbatim in ``jcevns/data/csi2021/``). Region of interest (ROI): ``0 <= PE < 60``, ``0 <= t < 6 us``.

Response, per recoil ``T`` (the physics -- cross sections, flux, form factors -- is jcevns'):

1. quenching: ``E_ee(T)`` from the release's scintillation-response polynomial (nominal or one of
   the four +-1 sigma curves of its two systematic models);
2. light: mean ``13.35 E_ee[keVee]`` photoelectrons, Gamma distributed
   (:mod:`jcevns.detectors.response`, ``a = 1 / mean``, ``b = 9.56 E_ee``);
3. energy efficiency of the release on the reconstructed PE (clipped to [0, 1], zero above 60);
4. arrival time: the SNS timing model (:mod:`jcevns.timing`) with the Gaussian proton pulse of
   150 ns and a time zero established from the release's own neutrino-induced-neutron template,
   times the release's time efficiency.

Energy and time factorise: ``bin_matrix`` ``(n_PE, n_nodes)`` carries steps 1-3,
``bin_factors`` ``(3, n_PE, n_t)`` step 4 (the same for every PE bin), and the counts are
``counts[e * n_t + x] = sum_f per_flavour[f, e] * bin_factors[f, e, x]``. Registered as
``csi2021``: ``jcevns.build("csi2021")``, ``jcevns.predict``, ``jcevns.likelihood`` and every
command work on it; the fits of :mod:`.csi2021_fits` use the same analysis.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jax
import numpy as np

from .. import data as _data
from .. import flux, forward, timing
from ..binned import NormSys, ShapeSys
from ..detectors import Detector
from ..detectors.response import gamma_smearing_matrix, logistic_efficiency, logistic_zero, quenching_polynomial
from ..nuclei import CS133, I127
from ..params import Params
from . import register
from ._description import SIGNAL, Background, Experiment, LikelihoodSpec, Observable, Source

#: Reconstructed-PE bin edges. The efficiency vanishes below 7.1 PE, so 0-8 PE is one bin; above,
#: 4-PE bins match the Gamma resolution (sigma = mean / sqrt(1 + b): 4 PE at 13 PE, 6 PE at 40 PE),
#: so finer bins would add little information and more empty bins.
PE_EDGES = np.array([0.0, 8.0] + list(np.arange(12.0, 60.1, 4.0)))
#: Arrival-time bin edges [us]: 0.25 us while the prompt signal and the neutron backgrounds
#: (pulse width 0.15 us, BRN peak at 0.66 us) vary, 0.5 us on the slow muon-decay tail.
T_EDGES_US = np.concatenate([np.arange(0.0, 2.0, 0.25), np.arange(2.0, 6.01, 0.5)])
#: Names of the quenching curves and efficiency curves of the release.
QF_CURVES = ("nominal", "model0_plus", "model0_minus", "model1_plus", "model1_minus")
EFFICIENCY_CURVES = ("nominal", "plus", "minus")
#: Reference weak mixing angle at low momentum transfer, MS-bar sin^2 theta_W(0) = 0.23857
#: (Erler & Ferro-Hernandez, JHEP 03 (2018) 196, arXiv:1712.09146).
SIN2W_REF = 0.23857
#: Reference neutron rms radius [fm], one Helm radius for Cs and I: nuclear-structure
#: calculations give 4.7-4.9 fm (Hoferichter et al., PRD 102 (2020) 074018, arXiv:2007.08529).
RN_REF = 4.8
#: Point-proton rms radii [fm] of Cs133 and I127 from the charge radii 4.8041 and 4.7500 fm
#: (Angeli & Marinova, ADNDT 99 (2013) 69) minus the proton (0.8409 fm) and neutron
#: (-0.1161 N/Z fm^2) charge radii in quadrature (CODATA 2018).
PROTON_RMS_FM = (4.747, 4.691)


def release_file(name: str) -> np.ndarray:
    """A shipped ancillary file of arXiv:2110.07730 (``"dataBeamOnC"``, ``"brnPE"``, ...)."""
    text = resources.files(_data).joinpath(f"csi2021/{name}.txt").read_text(encoding="utf-8")
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return np.array(rows, dtype=np.float64)


@lru_cache(maxsize=None)
def constants() -> dict:
    """Scalar inputs and derived values (``jcevns/data/csi2021.json``, with sources)."""
    return _data.load("csi2021")


def roi_events(window: str) -> np.ndarray:
    """``(n, 2)`` events (PE, t [us]) in the ROI; ``window`` is ``"C"`` or ``"AC"``."""
    if window not in ("C", "AC"):
        raise ValueError(f"window must be 'C' (coincidence) or 'AC' (anti-coincidence), got {window!r}")
    ev = release_file(f"dataBeamOn{window}")
    keep = (ev[:, 0] >= 0) & (ev[:, 0] < PE_EDGES[-1]) & (ev[:, 1] >= 0) & (ev[:, 1] < T_EDGES_US[-1])
    return ev[keep]


def histogram(window: str) -> np.ndarray:
    """Events of one window binned in ``(n_PE, n_t)``."""
    ev = roi_events(window)
    return np.histogram2d(ev[:, 0], ev[:, 1], bins=(PE_EDGES, T_EDGES_US))[0]


def time_efficiency(t_us):
    """The release's time efficiency: 1 below 0.52 us, ``exp(-0.0494/us (t - 0.52 us))`` above."""
    te = constants()["time_efficiency"]
    t = np.asarray(t_us, dtype=np.float64)
    return np.where(t < te["t0_us"], 1.0, np.exp(-te["slope_per_us"] * (t - te["t0_us"])))


def efficiency_coefficients(curve: str = "nominal") -> tuple[float, ...]:
    """``(a, b, c, d)`` of the release's energy efficiency (``effCoefficients.txt``; the file
    labels both variants "+1 sigma", the second lies on the other side of the nominal)."""
    rows = release_file("effCoefficients")
    return tuple(rows[EFFICIENCY_CURVES.index(curve)])


def energy_efficiency(pe, curve: str = "nominal"):
    """Efficiency on reconstructed PE, clipped to [0, 1] and zero above 60 PE."""
    return logistic_efficiency(pe, *efficiency_coefficients(curve), x_max=constants()["efficiency_pe_max"])


def quenching_coefficients(curve: str = "nominal") -> tuple[float, ...]:
    """``(a, b, c, d)`` of ``E_ee[MeV] = a T + b T^2 + c T^3 + d T^4`` (T in MeV); the rows of
    ``scintRespCoefficients.txt`` are nominal, model 0 +-1 sigma, model 1 +-1 sigma."""
    return tuple(release_file("scintRespCoefficients")[QF_CURVES.index(curve)])


@dataclass(frozen=True)
class CsI2021Options:
    """Detector choices (static, hashable).

    Attributes:
        qf: quenching curve, one of :data:`QF_CURVES`.
        efficiency: energy-efficiency curve, one of :data:`EFFICIENCY_CURVES`.
        light_yield_pe_per_kevee, mass_kg: see ``jcevns/data/csi2021.json``.
        pot_mean_us, pot_sigma_us: Gaussian proton pulse on the data's time axis [us]
            (``None``: the time zero derived from the release, ``csi2021.json``).
        time_offset_us: extra shift of the neutrino arrival times [us].
        t_min_kevnr: lowest recoil energy integrated (below it no event passes the cuts).
    """

    qf: str = "nominal"
    efficiency: str = "nominal"
    light_yield_pe_per_kevee: float = 13.35
    mass_kg: float = 14.6
    pot_mean_us: float | None = None
    pot_sigma_us: float = 0.15
    time_offset_us: float = 0.0
    t_min_kevnr: float = 1.0

    def __post_init__(self):
        if self.qf not in QF_CURVES:
            raise ValueError(f"option qf must be one of {QF_CURVES}, got {self.qf!r}")
        if self.efficiency not in EFFICIENCY_CURVES:
            raise ValueError(f"option efficiency must be one of {EFFICIENCY_CURVES}, got {self.efficiency!r}")
        for name in ("light_yield_pe_per_kevee", "mass_kg", "pot_sigma_us", "t_min_kevnr"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"option {name} must be positive, got {getattr(self, name)!r}")
        if not -2.0 <= self.time_offset_us <= 2.0:
            raise ValueError(f"option time_offset_us must be in [-2, 2] us, got {self.time_offset_us!r}")


def pot_mean_us(opts: CsI2021Options) -> float:
    return constants()["time_zero"]["pot_mean_us"] if opts.pot_mean_us is None else float(opts.pot_mean_us)


def time_factors(opts: CsI2021Options, edges_us=T_EDGES_US, sub_bins: int = 50) -> np.ndarray:
    """``(3, n_t)``: probability per flavour of arriving in each time bin, times the time
    efficiency (integrated on ``sub_bins`` equal sub-bins per bin, midpoint efficiency)."""
    edges = np.asarray(edges_us, dtype=np.float64)
    fine = np.concatenate([np.linspace(a, b, sub_bins + 1)[:-1] for a, b in zip(edges[:-1], edges[1:])] + [edges[-1:]])
    frac = np.asarray(timing.bin_fractions(fine, pot_mean_us(opts), opts.pot_sigma_us, opts.time_offset_us))
    weighted = frac * time_efficiency(0.5 * (fine[1:] + fine[:-1]))[None, :]
    return weighted.reshape(3, edges.size - 1, sub_bins).sum(axis=2)


def mean_pe(t_mev, opts: CsI2021Options):
    """Mean photoelectrons ``L_Y E_ee(T)`` for recoil ``T`` [MeV]."""
    return opts.light_yield_pe_per_kevee * 1e3 * quenching_polynomial(t_mev, quenching_coefficients(opts.qf))


def pe_response(t_mev, opts: CsI2021Options) -> np.ndarray:
    """``(n_PE, n)``: probability that a recoil ``T`` gives a reconstructed PE in each bin,
    times the energy efficiency (Gamma law of the release)."""
    e_ee_kev = 1e3 * quenching_polynomial(t_mev, quenching_coefficients(opts.qf))
    b = constants()["gamma_b_per_kevee"] * e_ee_kev
    coeffs = efficiency_coefficients(opts.efficiency)
    return gamma_smearing_matrix(
        opts.light_yield_pe_per_kevee * e_ee_kev,
        b,
        PE_EDGES,
        efficiency=lambda x: energy_efficiency(x, opts.efficiency),
        breakpoints=(logistic_zero(*coeffs),),
    )


def _panel_edges(opts: CsI2021Options) -> np.ndarray:
    t_max = float(max(flux.t_max(52.9, n.mass_mev) for n in (CS133, I127)))
    return np.geomspace(opts.t_min_kevnr * 1e-3, t_max * 1.001, 25)


def response(opts: CsI2021Options, nuclei, n_targets) -> Detector:
    """The detector: recoil panels up to the kinematic end point, and the Gamma PE smearing with
    the energy efficiency as the ``smearing`` matrix (steps 1-3 of the module doc)."""
    return Detector(
        name="CsI[Na] 2021",
        nuclei=tuple(nuclei),
        n_targets=tuple(n_targets),
        t_edges_mev=tuple(_panel_edges(opts)),
        observable="nPE",
        obs_edges=tuple(PE_EDGES),
        response=lambda t: np.ones_like(t),
        smearing=lambda t: pe_response(t, opts),
    )


def bin_factors(opts: CsI2021Options) -> np.ndarray:
    """``(3, n_PE, n_t)``: the time probabilities times efficiency, the same in every PE bin."""
    return np.array(np.broadcast_to(time_factors(opts)[:, None, :], (3, PE_EDGES.size - 1, T_EDGES_US.size - 1)))


def data(opts: CsI2021Options) -> dict:
    """Observed coincidence counts, anti-coincidence counts and the background templates."""
    from . import csi2021_backgrounds as bkg

    return {
        "n_meas": histogram("C").ravel(),
        "n_ac": histogram("AC").ravel(),
        "ss": bkg.ss_template(),
        "brn": bkg.neutron_template("brn"),
        "nin": bkg.neutron_template("nin"),
    }


def _nuisances() -> tuple:
    """Normalisations (sources in ``csi2021.json``) and the signal/BRN shape templates shipped in
    ``csi2021.json`` (``shape_templates``, derived by ``tools/derive_csi2021.py`` with
    :func:`jcevns.experiments.csi2021_likelihood.shape_ratios`)."""
    k = constants()
    b = k["backgrounds"]
    mods = [
        NormSys("flux", (SIGNAL,), k["nu_per_pot_relative_uncertainty"]),
        NormSys("ss_norm", ("ss",), b["ss_relative_uncertainty"]),
        NormSys("brn_norm", ("brn",), b["brn_relative_uncertainty"]),
        NormSys("nin_norm", ("nin",), b["nin_relative_uncertainty"]),
    ]
    for name, t in k.get("shape_templates", {}).items():
        if name != "source":
            mods.append(ShapeSys(name, t["sample"], np.array(t["up"]), np.array(t["down"])))
    return tuple(mods)


EXPERIMENT = register(
    Experiment(
        name="csi2021",
        target="CsI[Na]",
        dataset="COHERENT complete CsI dataset, 3.198e23 POT, 14.6 kg, PE x arrival time",
        citation="Akimov et al. (COHERENT), PRL 129 (2022) 081801, arXiv:2110.07730",
        label="CsI 2021",
        source=Source(nu_per_pot=0.0848, n_pot=3.198e23, distance_m=19.3),
        targets=(("Cs133", 1), ("I127", 1)),
        options=CsI2021Options,
        response=response,
        data=data,
        likelihood=LikelihoodSpec(
            observed="n_meas",
            backgrounds=(Background("ss", "ss"), Background("brn", "brn"), Background("nin", "nin")),
            nuisances=_nuisances(),
            statistics=("poisson",),
        ),
        sin2w_ref=SIN2W_REF,
        rn_ref=lambda physics: RN_REF,
        defaults=dict(
            couplings="radiative",
            form_factor="helm",
            helm_skin_fm=0.9,
            proton_rms_radius_fm=PROTON_RMS_FM,
            charge_radius_convention="standard",
            fc_nsi="incoherent",
        ),
        # One set of inputs, the release's; both package-wide preset names map to it.
        presets={"calibrated": {}, "printed": {}},
        observables=(Observable("time", "us", tuple(float(x) for x in T_EDGES_US)),),
        bin_factors=bin_factors,
    )
)


def build(**options):
    """``jcevns.build("csi2021", **options)``: the registered analysis."""
    from ..analyses import build as build_analysis

    return build_analysis("csi2021", **options)


def shape(analysis) -> tuple[int, int]:
    """``(n_PE, n_t)`` of the analysis bins."""
    return analysis.bin_factors.shape[1:]


def variant_counts(params: Params, analysis, **options) -> np.ndarray:
    """Counts ``(n_PE * n_t,)`` with other detector options (quenching curve, efficiency, timing)
    on the nominal recoil grid: one recoil spectrum, numpy contractions, no recompilation."""
    from ..analyses import _recoil_grid

    opts = dataclasses.replace(analysis.config.detector, **options)
    spectrum = np.asarray(_spectrum(forward._prepare(params, analysis), analysis))
    nodes, weights, _, _ = _recoil_grid(analysis.detector, analysis.config)
    matrix = pe_response(nodes, opts) * weights[None, :]
    return np.einsum("fe,fex->ex", spectrum @ matrix.T, bin_factors(opts)).ravel()


_spectrum = jax.jit(forward.recoil_spectrum)

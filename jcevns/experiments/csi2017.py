"""COHERENT CsI[Na] 2017 (Akimov et al., Science 357 (2017) 1123, arXiv:1708.01294; data release
arXiv:1804.09459) as analysed by Papoulias, PRD 102 (2020) 113004, arXiv:1907.11644.

Two experiments: ``csi2017-oldqf`` (constant quenching factor 0.0878, signal normalisation
uncertainty 28 % from the Science paper) and ``csi2017-newqf`` (COHERENT's energy-dependent
quenching polynomial, arXiv:2110.07730, 12.8 %). Twelve 2-PE bins 6 <= nPE < 30 and the
chi-square of Papoulias eq. (10):

    chi2 = sum_i ((N_i - S_i (1 + a1) - B0n_i (1 + a2)) / sigma_i)^2 + (a1/s1)^2 + (a2/s2)^2,
    sigma_i^2 = N_i + B0n_i + 2 Bss_i

with the steady-state background ``Bss`` already subtracted from ``N_i``. For R_n fits the
paper uses a Helm form factor and drops the 5 % form-factor term from ``s1`` (footnote 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import constants as c
from .. import data as _data
from .. import form_factors
from ..binned import NormSys
from ..detectors import csi2017 as detector
from . import SIGNAL, Background, Experiment, LikelihoodSpec, Published, Source, register

CITATION = "Papoulias, PRD 102 (2020) 113004, arXiv:1907.11644"
DATA_CITATION = "Akimov et al. (COHERENT), Science 357 (2017) 1123, arXiv:1708.01294; release arXiv:1804.09459"


@dataclass(frozen=True)
class CsI2017Options(detector.CsIOptions):
    """Detector options (:class:`jcevns.detectors.csi2017.CsIOptions`) and the data choice.

    Attributes:
        data_bin_6_8: ``"release"`` (the public release) or ``"digitized"`` (the paper's figure)
            for the first bin, 6 <= nPE < 8.
    """

    data_bin_6_8: str = "release"

    def __post_init__(self):
        super().__post_init__()
        if self.data_bin_6_8 not in ("release", "digitized"):
            raise ValueError(f"option data_bin_6_8 must be 'release' or 'digitized', got {self.data_bin_6_8!r}")


def _response(opts: CsI2017Options, nuclei, n_targets):
    return detector.build(opts, _data.load("csi2017")["pe_edges"], nuclei, n_targets)


def _data_arrays(opts: CsI2017Options) -> dict:
    table = _data.load("csi2017")
    n_meas = np.array(table["n_meas"], dtype=np.float64)
    if opts.data_bin_6_8 == "digitized":
        n_meas[0] = table["n_meas_bin_6_8_digitized"]
    return {
        "n_meas": n_meas,
        "b_0n": np.array(table["b_0n"], dtype=np.float64),
        "b_ss": np.array(table["b_ss"], dtype=np.float64),
    }


def _reference_rn(physics) -> float:
    # Papoulias below eq. 12 (R_0 = 1.23 A^1/3, s = 0.9 fm), averaged over Cs and I.
    s = physics.helm_skin_fm
    return float(np.mean([form_factors.helm_rms_from_r0(1.23 * a ** (1 / 3), s) for a in (133, 127)]))


def _likelihood(sigma_signal: float) -> LikelihoodSpec:
    # Papoulias eq. (10); widths below it: s1 (0.28 old QF, 0.128 new QF), s2 = 0.25.
    return LikelihoodSpec(
        observed="n_meas",
        backgrounds=(Background("b_0n", "b_0n"), Background("b_ss", "b_ss", subtracted=True)),
        nuisances=(NormSys("a1", (SIGNAL,), sigma_signal), NormSys("a2", ("b_0n",), 0.25)),
        statistics=("chi2", "poisson"),
        chi2_variance=(("n_meas", 1.0), ("b_0n", 1.0), ("b_ss", 2.0)),
        form_factor_sigma=0.05,  # Papoulias below eq. 10 and footnote 4
        rn_fit_options={"form_factor": "helm"},
    )


def _source() -> Source:
    det = _data.load("csi2017_detector")
    return Source(nu_per_pot=det["nu_per_pot_per_flavour"], n_pot=det["n_pot"], distance_m=det["distance_m"])


_PHYSICS = dict(couplings="radiative", recoil_term=False, form_factor="klein-nystrand", scalar_charge="papoulias2020")
_PRESETS = {
    # choices that reproduce the paper's normalisation (Klein-Nystrand R_A = 1.2 A^1/3)
    "calibrated": dict(kn_radius_coeff_fm=1.2, charge_radius_convention="standard", fc_nsi="incoherent"),
    # every input exactly as the paper prints it
    "printed": dict(kn_radius_coeff_fm=1.23, charge_radius_convention="printed", fc_nsi="as_printed"),
}

_TABLE_I = "Papoulias, PRD 102 (2020) 113004, arXiv:1907.11644, Table I (90 % CL)"
_EXPLANATIONS = {
    "sin2w": "quenching-factor curve (new QF: public COHERENT polynomial)",
    "rn": "Helm with one R_n for Cs and I; 5 % FF term dropped (footnote 4)",
    "eps_ee_u": "form-factor radius (KN R_A) sets the normalisation",
    "eps_ee_d": "form-factor radius (KN R_A) sets the normalisation",
    "eps_mumu_u": "two minima (weak charge flipped); grid interval ends",
    "eps_mumu_d": "two minima (weak charge flipped); grid interval ends",
    "mu_nu": "paper disagrees with itself: Table I vs eq. 16",
    "r2_nue": "charge-radius coefficient (standard = half of printed)",
    "r2_numu": "charge-radius coefficient (standard = half of printed)",
    "r2_numubar": "charge-radius coefficient (standard = half of printed)",
}


def _published(table_i: dict, best: dict, one_sigma: dict, mu_eq16: float, sm_total: float) -> dict:
    return {
        "sm_total": Published(sm_total, "Papoulias, PRD 102 (2020) 113004, arXiv:1907.11644, sec. II"),
        "intervals_90": Published(table_i, _TABLE_I),
        "explanations": Published(_EXPLANATIONS, _TABLE_I, "why a jcevns interval may differ, per parameter"),
        "best_fit": Published(best, "Papoulias, arXiv:1907.11644, eqs. 11 and 13"),
        "one_sigma_half_width": Published(one_sigma, "Papoulias, arXiv:1907.11644, text below eqs. 11 and 13"),
        "mu_nu_eq16": Published(mu_eq16, "Papoulias, arXiv:1907.11644, eq. 16", "differs from Table I"),
    }


def _experiment(name: str, qf: str, sigma_signal: float, label: str, published: dict) -> Experiment:
    return Experiment(
        name=name,
        target="CsI[Na]",
        dataset=f"COHERENT 2017, 14.6 kg, 12 PE bins, {'constant' if qf == 'constant' else 'polynomial'} QF",
        citation=CITATION,
        label=label,
        source=_source(),
        targets=(("Cs133", 1), ("I127", 1)),
        options=CsI2017Options,
        response=_response,
        data=_data_arrays,
        likelihood=_likelihood(sigma_signal),
        sin2w_ref=c.SIN2W_PAPOULIAS2020,
        rn_ref=_reference_rn,
        defaults=_PHYSICS | dict(qf=qf, mass_kg=_data.load("csi2017_detector")["mass_kg"]),
        presets=_PRESETS,
        published=published,
        reproduction="papoulias2020",
    )


OLDQF = register(
    _experiment(
        "csi2017-oldqf",
        "constant",
        0.28,
        "CsI, old QF",
        _published(
            {
                "sin2w": [[0.116, 0.321]],
                "rn": [[3.5, 7.1]],
                "eps_ee_u": [[-0.12, 0.53]],
                "eps_ee_d": [[-0.11, 0.48]],
                "eps_mumu_u": [[-0.07, 0.13], [0.28, 0.49]],
                "eps_mumu_d": [[-0.06, 0.12], [0.25, 0.43]],
                "mu_nu": [[0.0, 30.0]],
                "r2_nue": [[-76.0, 17.0]],
                "r2_numu": [[-84.0, 25.0]],
                "r2_numubar": [[-71.0, 12.0]],
            },
            {"sin2w": 0.197, "rn": 5.6},
            {"sin2w": 0.057, "rn": 1.01},
            31.0,
            174.0,
        ),
    )
)
NEWQF = register(
    _experiment(
        "csi2017-newqf",
        "polynomial",
        0.128,
        "CsI, new QF",
        _published(
            {
                "sin2w": [[0.140, 0.282]],
                "rn": [[4.3, 6.7]],
                "eps_ee_u": [[-0.06, 0.48]],
                "eps_ee_d": [[-0.06, 0.43]],
                "eps_mumu_u": [[-0.04, 0.10], [0.32, 0.45]],
                "eps_mumu_d": [[-0.03, 0.09], [0.28, 0.40]],
                "mu_nu": [[0.0, 21.0]],
                "r2_nue": [[-68.0, 9.0]],
                "r2_numu": [[-80.0, 21.0]],
                "r2_numubar": [[-65.0, -32.0], [-27.0, 6.0]],
            },
            {"sin2w": 0.209, "rn": 5.6},
            {"sin2w": 0.042, "rn": 0.76},
            26.0,
            158.0,
        ),
    )
)

"""COHERENT CENNS-10 liquid argon, Analysis A (Akimov et al., PRL 126 (2021) 012002,
arXiv:2003.10630; data release arXiv:2006.12659, Zenodo 10.5281/zenodo.3903810) as analysed by
Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050.

One bin of nuclear recoils up to 120 keVnr and the chi-square of Miranda et al. eq. (3.1):

    chi2 = (N_meas - N_th (1 + a))^2 / (N_meas + N_BRN) + (a / 0.085)^2

with the beam-related neutron background ``N_BRN`` already subtracted from ``N_meas``.
"""

from __future__ import annotations

import numpy as np

from .. import constants as c
from .. import data as _data
from ..binned import NormSys
from ..detectors import lar2020 as detector
from . import SIGNAL, Background, Experiment, LikelihoodSpec, Published, Source, register

CITATION = "Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050"


#: The argon nucleus as Miranda et al. model it, shared by every CENNS-10 analysis: Helm form
#: factor with skin 0.9 fm and proton rms radius 3.14 fm (below eq. 2.4), recoil term of eq. 2.1,
#: scalar charge from the nucleon sigma terms (eq. 3.13).
ARGON_PHYSICS = dict(
    recoil_term=True,
    form_factor="helm",
    helm_skin_fm=0.9,
    proton_rms_radius_fm=(3.14,),
    scalar_charge="sigma_terms",
)

def _response(opts: detector.LArOptions, nuclei, n_targets):
    return detector.build(opts, nuclei, n_targets)


def _data_arrays(opts: detector.LArOptions) -> dict:
    table = _data.load("lar2020")
    return {
        "n_meas": np.array([table["n_meas"]], dtype=np.float64),
        "n_brn": np.array([table["n_brn"]], dtype=np.float64),
    }


def _reference_rn(physics) -> float:
    return 3.36  # Miranda et al. below eq. 2.4 (argon neutron rms radius)


def _experiment() -> Experiment:
    lar = _data.load("lar2020")
    return Experiment(
        name="lar2020",
        target="LAr",
        dataset="COHERENT CENNS-10 Analysis A, 24.4 kg, one bin up to 120 keVnr",
        citation=CITATION,
        label="LAr CENNS-10",
        source=Source(nu_per_pot=lar["nu_per_pot_per_flavour_release"], n_pot=lar["n_pot_printed"],
                      distance_m=lar["distance_m"]),
        targets=(("Ar40", 1),),
        options=detector.LArOptions,
        response=_response,
        data=_data_arrays,
        bin_factors=detector.time_window_factors,  # option time_window_us (off in both presets)
        # Miranda et al. eq. (3.1); alpha's width 8.5 % below it.
        likelihood=LikelihoodSpec(
            observed="n_meas",
            backgrounds=(Background("n_brn", "n_brn", subtracted=True),),
            nuisances=(NormSys("alpha", (SIGNAL,), 0.085),),
            statistics=("chi2", "poisson"),
            chi2_variance=(("n_meas", 1.0), ("n_brn", 1.0)),
        ),
        sin2w_ref=c.SIN2W_MIRANDA2020,
        rn_ref=_reference_rn,
        defaults=dict(
            ARGON_PHYSICS,
            couplings="tree",
            mass_kg=lar["mass_kg"],
            roi_max_kevnr=lar["roi_max_kevnr"],
        ),
        presets={
            # r = 0.09 nu/flavour/POT (release), which reproduces the paper's normalisation
            "calibrated": dict(nu_per_pot=lar["nu_per_pot_per_flavour_release"], charge_radius_convention="standard",
                               fc_nsi="incoherent"),
            # every input exactly as the paper prints it
            "printed": dict(nu_per_pot=lar["nu_per_pot_per_flavour_printed"], charge_radius_convention="printed",
                            fc_nsi="as_printed"),
        },
        published={
            "sm_total": Published(130.0, "Miranda et al., arXiv:2003.12050, sec. 3.3 (130 events expected in the SM)"),
            # sin2w best fit and 90 % CL (eq. 3.2), R_n < 4.33 fm (eq. 3.3), the 90 % sin2w band
            # widths with R_n fixed and free (sec. 3.5), magnetic moments [1e-10 mu_B] (eq. 3.7) and
            # charge radii [1e-32 cm^2] (eq. 3.9); NSI only as figures (figs. 3 and 4).
            "results": Published(
                {
                    "sin2w_best": 0.258,
                    "sin2w": [[0.208, 0.306]],
                    "rn": [[None, 4.33]],
                    "sin2w_width_fixed_rn": 0.097,
                    "sin2w_width_free_rn": 0.128,
                    "mu_nu_e": 94.0,
                    "mu_nu_mu": 53.0,
                    "mu_nu_mubar": 78.0,
                    "r2_nue": [[-64.0, -41.0], [-7.0, 16.0]],
                    "r2_numu": [[-69.0, -37.0], [-10.0, 21.0]],
                    "r2_numubar": [[-60.0, -43.0], [-5.0, 12.0]],
                },
                "Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, eqs. 3.2, 3.3, 3.7, 3.9 and sec. 3.5",
            ),
            # the flux normalisation the paper prints; its magnetic-moment limits follow it
            "nu_per_pot_printed": Published(lar["nu_per_pot_per_flavour_printed"],
                                            "Miranda et al., arXiv:2003.12050, sec. 2 (r = 0.08)"),
        },
        reproduction="miranda2020",
    )


LAR2020 = register(_experiment())

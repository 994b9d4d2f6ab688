"""COHERENT CsI[Na] 2017 detector (Akimov et al., Science 357 1123; data release
arXiv:1804.09459) as used by Papoulias, PRD 102 113004 (2020), arXiv:1907.11644.

Recoil ``T`` becomes photoelectrons ``n_PE = L_Y E_ee(T)`` (Papoulias 2020 eq. 7) with light yield
13.348 PE/keVee and either the constant quenching factor 0.0878 (``E_ee = 0.0878 T``) or
COHERENT's energy-dependent polynomial (arXiv:2110.07730 ancillary files). The acceptance
of Papoulias 2020 eqs. 8-9 is applied as a continuous function of ``n_PE(T)``. The analysis uses
the twelve 2-PE bins 6 <= n_PE < 30.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .. import data
from ..nuclei import CS133, I127, targets_per_kg
from . import Detector

QF_MODELS = ("constant", "polynomial")


@dataclass(frozen=True)
class CsIOptions:
    """Detector choices for CsI 2017.

    Attributes:
        qf: ``"constant"`` (old, 0.0878) or ``"polynomial"`` (new, energy dependent).
        qf_polynomial: ``"nominal"`` or one of the release's +-1 sigma curves
            (``"plus_1sigma_model0"``, ...), for the polynomial QF.
        light_yield_pe_per_kevee: light yield [PE/keVee].
        mass_kg: detector mass [kg].
    """

    qf: str = "constant"
    qf_polynomial: str = "nominal"
    light_yield_pe_per_kevee: float = 13.348
    mass_kg: float = 14.57

    def __post_init__(self):
        if self.qf not in QF_MODELS:
            raise ValueError(f"option qf must be one of {QF_MODELS}, got {self.qf!r}")
        variants = ("nominal",) + tuple(k for k in _detector_table()["qf_polynomial"] if "sigma" in k)
        if self.qf_polynomial not in variants:
            raise ValueError(f"option qf_polynomial must be one of {variants}, got {self.qf_polynomial!r}")
        for name in ("light_yield_pe_per_kevee", "mass_kg"):
            if not getattr(self, name) > 0:
                raise ValueError(f"option {name} must be positive, got {getattr(self, name)!r}")


def _detector_table() -> dict:
    return data.load("csi2017_detector")


def electron_equivalent_mev(t_mev, opts: CsIOptions):
    """Electron-equivalent energy E_ee [MeV] for nuclear recoil T [MeV]."""
    table = _detector_table()
    t = np.asarray(t_mev, dtype=np.float64)
    if opts.qf == "constant":
        return table["qf_constant"] * t
    key = "coefficients_mev" if opts.qf_polynomial == "nominal" else opts.qf_polynomial
    coeffs = table["qf_polynomial"][key]
    return sum(ci * t ** (i + 1) for i, ci in enumerate(coeffs))


def photoelectrons(t_mev, opts: CsIOptions):
    """Mean number of photoelectrons for nuclear recoil T [MeV] (Papoulias 2020 eq. 7)."""
    return opts.light_yield_pe_per_kevee * 1e3 * electron_equivalent_mev(t_mev, opts)


def acceptance(n_pe):
    """PE acceptance of Papoulias 2020 eqs. 8-9 (release ``coherent_parameters.yaml``)."""
    acc = _detector_table()["acceptance"]
    x = np.asarray(n_pe, dtype=np.float64)
    step = np.where(x < acc["step_lo"], 0.0, np.where(x < acc["step_hi"], 0.5, 1.0))
    return acc["a"] / (1.0 + np.exp(-acc["k"] * (x - acc["x0"]))) * step


def recoil_for_photoelectrons(n_pe: float, opts: CsIOptions) -> float:
    """Invert ``n_PE(T)`` [MeV] (monotonic on 0 < T < 60 keV for both QF models)."""
    return brentq(lambda t: photoelectrons(t, opts) - n_pe, 1e-9, 0.06, xtol=1e-16, rtol=1e-15)


def build(opts: CsIOptions, pe_edges, nuclei=(CS133, I127), n_targets=None) -> Detector:
    """The CsI detector with analysis bins given in photoelectrons (``n_targets`` default:
    ``mass_kg`` of CsI)."""
    t_edges = tuple(recoil_for_photoelectrons(float(x), opts) for x in pe_edges)
    if n_targets is None:
        n_targets = tuple(opts.mass_kg * n for n in targets_per_kg(((CS133, 1), (I127, 1))))
    acc = _detector_table()["acceptance"]
    steps = tuple(recoil_for_photoelectrons(float(acc[k]), opts) for k in ("step_lo", "step_hi"))
    return Detector(
        name="CsI[Na] 2017",
        nuclei=tuple(nuclei),
        n_targets=tuple(n_targets),
        t_edges_mev=t_edges,
        observable="nPE",
        obs_edges=tuple(float(x) for x in pe_edges),
        response=lambda t: acceptance(photoelectrons(t, opts)),
        breakpoints_mev=steps,
    )

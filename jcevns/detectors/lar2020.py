"""COHERENT CENNS-10 liquid argon, Analysis A (Akimov et al., PRL 126 012002; data release
arXiv:2006.12659, Zenodo 10.5281/zenodo.3903810) as used by Miranda et al. (
JHEP 05 (2020) 130).

One bin: nuclear recoils up to ``roi_max_kevnr`` (120 keVnr, Miranda et al. 2020 sec. 3), weighted by the
release's Analysis A efficiency table, linearly interpolated in keVnr (zero below the first
row, the last value above the last row, as the release document says).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data
from ..nuclei import AR40, targets_per_kg
from . import Detector


@dataclass(frozen=True)
class LArOptions:
    """Detector choices for CENNS-10.

    Attributes:
        roi_max_kevnr: upper end of the region of interest [keVnr].
        mass_kg: fiducial mass [kg] (24.4 kg, release; the paper says "24 kg").
        time_window_us: ``None`` (default, Miranda et al.'s convention): every arrival time
            counts. A number: only neutrinos arriving in ``[-0.1, time_window_us]`` us of the
            release's t_trig clock count (the release's window ends at 4.9 us and keeps 86.7 %
            of the delayed neutrinos), from :mod:`jcevns.timing` with the release's
            proton-on-target timing.
    """

    roi_max_kevnr: float = 120.0
    mass_kg: float = 24.4
    time_window_us: float | None = None

    def __post_init__(self):
        lo = float(_table()["efficiency"]["kevnr"][0])
        if not self.roi_max_kevnr > lo:
            raise ValueError(f"option roi_max_kevnr must exceed {lo:g} keVnr, got {self.roi_max_kevnr!r}")
        if not self.mass_kg > 0:
            raise ValueError(f"option mass_kg must be positive, got {self.mass_kg!r}")
        if self.time_window_us is not None and not 0.0 < self.time_window_us <= 50.0:
            raise ValueError(f"option time_window_us must be None or in (0, 50] us, got {self.time_window_us!r}")


def _table() -> dict:
    return data.load("lar2020")


def efficiency(t_mev):
    """Analysis A efficiency at nuclear recoil T [MeV]."""
    eff = _table()["efficiency"]
    t_kev = np.asarray(t_mev, dtype=np.float64) * 1e3
    return np.interp(t_kev, eff["kevnr"], eff["efficiency"], left=0.0, right=eff["efficiency"][-1])


def build(opts: LArOptions, nuclei=(AR40,), n_targets=None) -> Detector:
    """The CENNS-10 detector with its single region-of-interest bin (``n_targets`` default:
    ``mass_kg`` of argon-40)."""
    if n_targets is None:
        n_targets = (opts.mass_kg * targets_per_kg(((AR40, 1),))[0],)
    knots_kev = np.asarray(_table()["efficiency"]["kevnr"], dtype=np.float64)
    lo, hi = knots_kev[0], opts.roi_max_kevnr
    return Detector(
        name="CENNS-10 LAr (Analysis A)",
        nuclei=tuple(nuclei),
        n_targets=tuple(n_targets),
        t_edges_mev=(lo * 1e-3, hi * 1e-3),
        observable="keVnr",
        obs_edges=(float(lo), float(hi)),
        response=efficiency,
        breakpoints_mev=tuple(float(k) * 1e-3 for k in knots_kev[1:] if k < hi),
    )


#: Release t_trig window start [us] and proton-on-target timing (mean, width) [us]: COHERENT
#: CENNS-10 data release (arXiv:2006.12659), binning table and LArParametersAnlA.yaml.
WINDOW_START_US = -0.1
POT_TIMING_US = (0.44, 0.15)


def time_window_factors(opts: LArOptions) -> np.ndarray:
    """``(3, 1, 1)`` fraction of each flavour inside the arrival-time window (ones without one)."""
    if opts.time_window_us is None:
        return np.ones((3, 1, 1))
    from ..timing import bin_fractions

    edges = np.array([WINDOW_START_US, opts.time_window_us])
    return np.asarray(bin_fractions(edges, *POT_TIMING_US)).reshape(3, 1, 1)

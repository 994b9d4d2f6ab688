"""Detector responses: how a recoil spectrum dN/dT becomes counts in analysis bins.

A :class:`Detector` is a plain description built once, in numpy, outside jit: target
isotopes and their numbers, the analysis bins as recoil-energy intervals, the response
(acceptance or efficiency) as a function of recoil energy, and the recoil energies where the
response is not smooth. Physics is shared; only these objects differ between CsI and LAr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..nuclei import Nucleus


@dataclass(frozen=True)
class Detector:
    """Recoil-space description of one detector and its analysis bins.

    Attributes:
        name: detector label.
        nuclei: target isotopes.
        n_targets: number of nuclei of each isotope in the fiducial mass.
        t_edges_mev: analysis bin edges in nuclear recoil energy [MeV] (increasing).
        observable: name and unit of the binned observable, e.g. ``"nPE"``.
        obs_edges: bin edges in the observable.
        response: numpy function, recoil T [MeV] -> acceptance in [0, 1]. Used only when an
            analysis is built (it is folded into the bin matrix), so it takes no part in
            equality: two detectors built from the same options compare and hash equal, and an
            analysis rebuilt with the same options reuses every compiled kernel.
        breakpoints_mev: recoil energies where ``response`` is not smooth.
        smearing: optional numpy function, recoil nodes T ``(n,)`` [MeV] -> ``(n_bins, n)``, the
            probability that a recoil at T is reconstructed in each observable bin (times any
            efficiency in the reconstructed observable). Without it a recoil lands in the bin
            whose ``t_edges_mev`` interval contains it; with it ``t_edges_mev`` only partitions the
            recoil range that contributes (quadrature panels) and ``obs_edges`` defines the bins.
    """

    name: str
    nuclei: tuple[Nucleus, ...]
    n_targets: tuple[float, ...]
    t_edges_mev: tuple[float, ...]
    observable: str
    obs_edges: tuple[float, ...]
    response: Callable[[np.ndarray], np.ndarray] = field(compare=False)
    breakpoints_mev: tuple[float, ...] = ()
    smearing: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)

    @property
    def n_bins(self) -> int:
        return len(self.obs_edges) - 1

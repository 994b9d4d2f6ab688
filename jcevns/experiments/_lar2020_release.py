"""The COHERENT CENNS-10 Analysis A data release, read verbatim.

Akimov et al. (COHERENT), PRL 126 (2021) 012002, arXiv:2003.10630; data release arXiv:2006.12659,
Zenodo 10.5281/zenodo.3903810. The files ship unchanged in ``jcevns/data/lar2020_3d/`` (see its
PROVENANCE.md). This module only reads them: 3D arrays ``(12 energy, 8 F90, 10 time)`` in the
release's bin order, the efficiency table, the 1D projections and the numbers of
``LArParametersAnlA.yaml`` (copied here so that the package needs no YAML parser; a test checks
them against the shipped file).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

#: Bin edges of the release (release document arXiv:2006.12659, Table 1).
ENERGY_EDGES_KEVEE = np.linspace(0.0, 120.0, 13)
F90_EDGES = np.linspace(0.5, 0.9, 9)
TIME_EDGES_US = np.linspace(-0.1, 4.9, 11)
SHAPE = (12, 8, 10)
N_X = SHAPE[1] * SHAPE[2]

#: LArParametersAnlA.yaml (release): fiducial mass [kg], distance [m], POT, neutrinos per
#: flavour per proton, quenching factor QF = a + b T[keVnr], resolution sigma/E = c/sqrt(E[keVee]),
#: proton-on-target trace (Gaussian mean and width [us]).
YAML = {
    "mass_kg": 24.4,
    "distance_m": 27.5,
    "n_pot": 13.8e22,
    "nu_per_pot": 0.09,
    "qf_a": 0.246,
    "qf_b_per_kevnr": 0.00078,
    "resolution_kevee_sqrt": 0.58,
    "pot_mean_us": 0.440,
    "pot_mean_uncertainty_us": 0.200,
    "pot_sigma_us": 0.150,
}

#: Normalisations of the yaml: ``(value, uncertainty)``. ``*_prediction`` are the predictions the
#: PDFs are normalised to (the widths are the priors of the fit), ``*_bestfit`` the 3D fit result.
NORMALISATIONS = {
    "cevns_prediction": (128.0, 17.0),
    "prompt_brn_prediction": (497.0, 160.0),
    "delayed_brn_prediction": (33.0, 33.0),
    "ss_prediction": (3154.0, 25.0),
    "cevns_bestfit": (159.0, 43.0),
    "prompt_brn_bestfit": (553.0, 34.0),
    "delayed_brn_bestfit": (10.0, 11.0),
    "ss_bestfit": (3131.0, 23.0),
}

#: Release PDF file of each sample and its stated total (release document; PROVENANCE.md).
PDFS = {
    "cevns": ("cevnspdf.txt", 128.0),
    "prompt_brn": ("brnpdf.txt", 497.0),
    "delayed_brn": ("delbrnpdf.txt", 33.0),
    "ss": ("bkgpdf.txt", 3152.0),
}
DATA_FILE = "datanobkgsub.txt"

#: Alternative PDFs of the shape systematics (release ``SystErrors/``): name -> (sample, +1 sigma
#: file, -1 sigma file or ``None`` for a one-sided variation, mirrored about the nominal).
SYSTEMATICS = {
    "cevns_f90": ("cevns", "cevnspdf+1sigF90.txt", "cevnspdf-1sigF90.txt"),
    "cevns_timing_mean": ("cevns", "cevnspdfCEvNSTimingMeanSyst.txt", None),
    "brn_energy": ("prompt_brn", "brnpdf+1sigEnergy.txt", "brnpdf-1sigEnergy.txt"),
    "brn_timing_mean": ("prompt_brn", "brnpdf+1sigBRNTimingMean.txt", "brnpdf-1sigBRNTimingMean.txt"),
    "brn_timing_width": ("prompt_brn", "brnpdfBRNTimingWidthSyst.txt", None),
}

PROJECTIONS = {"energy": "energydata1d.txt", "f90": "f90data1d.txt", "time": "timingdata1d.txt"}
PROJECTION_COLUMNS = (
    "centre", "ss_subtracted_data", "stat_error", "cevns", "brn", "cevns_brn", "syst_low", "syst_high"
)


def path(name: str):
    """Traversable of a shipped release file (``name`` relative to ``lar2020_3d/``)."""
    return resources.files("jcevns.data").joinpath("lar2020_3d", *name.split("/"))


@functools.lru_cache(maxsize=None)
def _table(name: str) -> np.ndarray:
    with path(name).open("r", encoding="ascii") as fh:
        return np.loadtxt(fh, dtype=np.float64)


def bin_centres():
    """Centres ``(energy, f90, time)`` of the release bins."""
    return tuple(0.5 * (e[1:] + e[:-1]) for e in (ENERGY_EDGES_KEVEE, F90_EDGES, TIME_EDGES_US))


def load_3d(name: str) -> np.ndarray:
    """A 3D release file as an array ``(12, 8, 10)`` (energy, F90, time), checking its bin columns.

    Raises:
        ValueError: the file's bin-centre columns are not the release binning.
    """
    table = _table(name)
    e, f, t = np.meshgrid(*bin_centres(), indexing="ij")
    expected = np.stack([e.ravel(), f.ravel(), t.ravel()], axis=1)
    if table.shape != (960, 4) or not np.allclose(table[:, :3], expected, atol=1e-9):
        raise ValueError(f"release file {name!r} does not have the 12 x 8 x 10 release binning")
    return table[:, 3].reshape(SHAPE).copy()


def observed() -> np.ndarray:
    """Beam-on counts per bin ``(12, 8, 10)``, no background subtracted (3752 events)."""
    return load_3d(DATA_FILE)


def pdf(sample: str) -> np.ndarray:
    """Release PDF of a sample (``cevns``, ``prompt_brn``, ``delayed_brn``, ``ss``) in events per bin."""
    if sample not in PDFS:
        raise ValueError(f"sample must be one of {tuple(PDFS)}, got {sample!r}")
    return load_3d(PDFS[sample][0])


def systematic(name: str) -> tuple[str, np.ndarray, np.ndarray | None]:
    """``(sample, plus, minus)`` alternative PDFs of a shape systematic (``minus`` None if one-sided)."""
    if name not in SYSTEMATICS:
        raise ValueError(f"systematic must be one of {tuple(SYSTEMATICS)}, got {name!r}")
    sample, up, down = SYSTEMATICS[name]
    return sample, load_3d("SystErrors/" + up), None if down is None else load_3d("SystErrors/" + down)


def projection(axis: str) -> dict:
    """A release 1D projection (PRL Fig. 4) as ``{column: array}``; see :data:`PROJECTION_COLUMNS`."""
    if axis not in PROJECTIONS:
        raise ValueError(f"axis must be one of {tuple(PROJECTIONS)}, got {axis!r}")
    with path("OneDProjections/" + PROJECTIONS[axis]).open("r", encoding="ascii") as fh:
        table = np.loadtxt(fh, skiprows=1, dtype=np.float64)
    return dict(zip(PROJECTION_COLUMNS, table.T))


def efficiency_table() -> tuple[np.ndarray, np.ndarray]:
    """Analysis A efficiency: bin centres [keVee] (0.5 keVee bins, 0.25-39.75) and efficiency."""
    table = _table("CENNS10AnlAEfficiency.txt")
    return table[:, 0].copy(), table[:, 2].copy()


def efficiency(e_kevee):
    """Efficiency at reconstructed energy [keVee]: linear between the table's bin centres, zero
    below the first, the last value (0.96345) above the last, as the release document says."""
    centres, eff = efficiency_table()
    return np.interp(np.asarray(e_kevee, dtype=np.float64), centres, eff, left=0.0, right=eff[-1])

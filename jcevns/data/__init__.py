"""Shipped experimental inputs of jcevns (JSON package data) and their loader.

Files (see ``README.md`` in this folder for sources and licences):

* ``csi2017``          COHERENT CsI[Na] 2017 binned data for the 12-bin chi-square of
                       Papoulias, PRD 102 (2020) 113004, eq. (10): N_meas, B_0n, B_ss per
                       2-PE bin (6 <= nPE < 30) plus full 0-50 PE spectra. Re-derived from the
                       public release by ``python tools/derive_csi2017.py``.
* ``csi2017_detector`` CsI[Na] 2017 detector/beam constants: mass, POT, baseline, neutrinos
                       per POT, light yield, constant QF, acceptance, and the energy-dependent
                       COHERENT QF polynomial (arXiv:2110.07730 ancillary).
* ``lar2020``          COHERENT CENNS-10 (LAr) Analysis A inputs: efficiency table, exposure,
                       QF, and the single-bin numbers of Miranda et al., JHEP 05 (2020) 130.

Scalars carry a sibling ``<key>_source`` string; blocks (dicts) carry a ``source`` key.

>>> from jcevns import data
>>> d = data.load("csi2017")
>>> sum(d["n_meas"])
142.0

Only ``json`` and the standard library are used here (no jax), so importing this module is cheap.
"""

from __future__ import annotations

import json
from importlib import resources

__all__ = ["available", "load"]


def _json_files():
    return resources.files(__name__).iterdir()


def available() -> tuple[str, ...]:
    """Names accepted by :func:`load` (the ``*.json`` files of this package), sorted."""
    return tuple(sorted(f.name[: -len(".json")] for f in _json_files() if f.name.endswith(".json")))


def load(name: str) -> dict:
    """Load the shipped data set ``name`` (e.g. ``"csi2017"``) as a fresh dict.

    Raises ``ValueError`` naming the valid names if ``name`` is unknown.
    """
    names = available()
    if name not in names:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(names)}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)

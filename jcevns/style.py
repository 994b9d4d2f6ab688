"""One look for every figure of jcevns: a colour per experiment, axis labels in physics notation,
and figures that leave matplotlib's global state alone.

* :data:`EXPERIMENT_COLOURS` is the one mapping from an experiment (or a combination ``a+b``) to
  its colour; :func:`colour` falls back to a fixed palette, by registry order, for experiments
  not listed (e.g. a ``.toml`` description).
* :func:`axis_label` turns a parameter name of :data:`jcevns.SPECS` into a LaTeX label with its
  unit in brackets, e.g. ``rn`` -> ``$R_n$ [fm]``, ``eps_ee_u`` -> ``$\\varepsilon_{ee}^{u}$``.
* :func:`subplots` builds a :class:`matplotlib.figure.Figure` without pyplot: no backend is
  chosen and no figure is registered, so plotting from a notebook or a script keeps the user's
  backend (the command line alone selects ``Agg``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Colour of each experiment in every figure (the combination of CsI 2017 and LAr in black).
EXPERIMENT_COLOURS = {
    "csi2017-oldqf": "tab:blue",
    "csi2017-newqf": "tab:red",
    "csi2021": "tab:purple",
    "lar2020": "tab:green",
    "lar2020-3d": "tab:olive",
    "csi2017-newqf+lar2020": "black",
}
_FALLBACK = ("tab:orange", "tab:brown", "tab:pink", "tab:cyan", "tab:gray")

_FLAVOURS = {"e": r"\nu_e", "mu": r"\nu_\mu", "mubar": r"\bar\nu_\mu",
             "nue": r"\nu_e", "numu": r"\nu_\mu", "numubar": r"\bar\nu_\mu"}
_NUCLEI = {"c": "C", "o": "O", "f": "F", "na": "Na", "ar": "Ar", "ge": "Ge", "i": "I", "xe": "Xe", "cs": "Cs"}
_FLAVOUR_PAIRS = {"ee": "ee", "mumu": r"\mu\mu", "emu": r"e\mu", "etau": r"e\tau", "mutau": r"\mu\tau"}


def colour(name: str) -> str:
    """The colour of an experiment or combination: :data:`EXPERIMENT_COLOURS`, else a fallback
    palette by registry order (the same name always gets the same colour)."""
    if name in EXPERIMENT_COLOURS:
        return EXPERIMENT_COLOURS[name]
    from . import experiments

    others = [n for n in experiments.names() if n not in EXPERIMENT_COLOURS]
    k = others.index(name) if name in others else len(others) + sum(map(ord, name))
    return _FALLBACK[k % len(_FALLBACK)]


def label(name: str) -> str:
    """Legend label of an experiment: its description's ``label``, else the name; a combination
    ``a+b`` joins its components' labels."""
    from . import experiments

    if "+" in name:
        return " + ".join(label(part) for part in name.split("+") if part)
    return (experiments.get(name).label or name) if name in experiments.names() else name


def symbol(name: str) -> str:
    """The LaTeX symbol of a parameter (no unit), e.g. ``mu_nu_e`` -> ``$\\mu_{\\nu_e}$``."""
    head, _, tail = name.partition("_")
    if name == "sin2w":
        s = r"\sin^2\theta_W"
    elif name == "rn":
        s = "R_n"
    elif head == "rn":
        s = rf"R_n^{{\mathrm{{{_NUCLEI.get(tail, tail)}}}}}"
    elif head == "eps":
        pair, _, quark = tail.rpartition("_")
        s = rf"\varepsilon_{{{_FLAVOUR_PAIRS.get(pair, pair)}}}^{{{quark}}}"
    elif name == "mu_nu":
        s = r"\mu_\nu"
    elif name.startswith("mu_nu_"):
        s = rf"\mu_{{{_FLAVOURS[name[6:]]}}}"
    elif head == "r2":
        s = rf"\langle r^2_{{{_FLAVOURS[tail]}}}\rangle"
    elif name in ("zprime_g", "zprime_m"):
        s = "g_{Z'}" if name.endswith("_g") else "M_{Z'}"
    elif name in ("scalar_g", "scalar_m"):
        s = r"g_\phi" if name.endswith("_g") else r"M_\phi"
    else:
        return name
    return f"${s}$"


_UNITS = {"fm": "fm", "MeV": "MeV", "1e-10 mu_B": r"$10^{-10}\,\mu_B$", "1e-32 cm^2": r"$10^{-32}$ cm$^2$"}


def axis_label(name: str) -> str:
    """Axis label of a parameter: its symbol and, if it has one, its unit in brackets."""
    from .params import SPECS

    unit = SPECS[name].unit if name in SPECS else ""
    return f"{symbol(name)} [{_UNITS.get(unit, unit)}]" if unit else symbol(name)


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``(figure, axes)`` like :func:`matplotlib.pyplot.subplots`, without pyplot's global state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None))
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig, path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` atomically (a temporary file in the same folder, then
    ``os.replace``): a reader never sees half a PNG."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix or ".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path

"""Figures of a posterior run (:class:`jcevns.posterior_output.PosteriorResult`): the corner
plot (a histogram with the 90 % credible interval for one parameter, ArviZ KDE pair plot with
68 % and 90 % HDI contours for more) and the ArviZ trace plot of every sampled site."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np

from . import style
from .posterior_output import _az


def _coords(result) -> list[str]:
    """Sampled coordinates of the physics parameters (``log10_<name>`` for log-uniform priors)."""
    priors = result.settings.get("priors", {})
    return [f"log10_{n}" if priors.get(n, {}).get("kind") == "log-uniform" else n for n in result.names]


def corner_plot(result, path: Path) -> None:
    """Write the corner plot of ``result`` (a ``PosteriorResult``) to ``path``."""
    with _quiet_plots():
        _corner_plot(result, path)


def _corner_plot(result, path: Path) -> None:
    az = _az()
    coords = _coords(result)
    if len(coords) == 1:
        name = coords[0]
        x = result.samples[name].ravel()
        lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
        fig, ax = style.subplots(figsize=(5.0, 3.6))
        ax.hist(x, bins=60, density=True, color="tab:blue", alpha=0.7)
        ax.axvspan(lo, hi, color="tab:orange", alpha=0.2, label=f"90 % credible [{lo:.4g}, {hi:.4g}]")
        ax.axvline(med, color="k", lw=1, label=f"median {med:.4g}")
        ax.set_xlabel(style.axis_label(name))
        ax.set_ylabel("posterior density")
        ax.legend(fontsize=8)
    else:
        axes = az.plot_pair(
            result.inference_data,
            var_names=coords,
            kind="kde",
            marginals=True,
            kde_kwargs={"contourf_kwargs": {"cmap": "Blues"}, "hdi_probs": [0.68, 0.9]},
            figsize=(2.6 * len(coords) + 1, 2.6 * len(coords) + 1),
        )
        fig = np.asarray(axes).ravel()[0].figure
    fig.suptitle(f"{result.settings.get('analysis')}: posterior", fontsize=10)
    if len(coords) == 1:
        fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    if len(coords) > 1:
        _plt().close(fig)  # ArviZ drew it with pyplot


def trace_plot(result, path: Path) -> None:
    """Write the trace plot of the physics coordinates and sampled pulls of ``result`` to ``path``."""
    with _quiet_plots():
        az = _az()
        plt = _plt()
        var_names = _coords(result) + list(result.nuisance)
        axes = az.plot_trace(result.inference_data, var_names=var_names, compact=False)
        fig = np.asarray(axes).ravel()[0].figure
        fig.tight_layout()
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)


@contextlib.contextmanager
def _quiet_plots():
    """Silence the deprecation chatter of ArviZ 0.2x plotting under recent Matplotlib."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # MatplotlibDeprecationWarning too
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*tight_layout.*")
        yield


def _plt():
    """pyplot, for closing the figures ArviZ draws with it (the backend stays the caller's)."""
    import matplotlib.pyplot as plt

    return plt

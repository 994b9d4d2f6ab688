"""Figures of Neyman belts and coverage (:mod:`jcevns.toys`), written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    style.save(fig, path, dpi=120)


def belt_figure(res, path, title: str = "") -> None:
    """Observed ``t`` and the critical values ``c`` on the grid, with both intervals shaded."""
    from .toys import wilks_level

    fig, ax = style.subplots(figsize=(6, 4))
    ax.plot(res.grid, res.t_obs, "k-", label="observed t")
    ax.plot(res.grid, res.critical, "C0-", label=f"FC critical value ({res.n_toys or 'exact'} toys)")
    ax.axhline(wilks_level(res.cl), color="C1", ls="--", label="Wilks")
    for i in res.fc:
        ax.axvspan(i.lo, i.hi, color="C0", alpha=0.15)
    for i in res.wilks:
        ax.axvspan(i.lo, i.hi, ymax=0.05, color="C1", alpha=0.6)
    top = max(4.0 * wilks_level(res.cl), float(np.max(res.critical)) * 1.3)
    ax.set_ylim(0, top)
    ax.set_xlabel(style.axis_label(res.param))
    ax.set_ylabel(r"$t = q(x) - q_\mathrm{min}$")
    ax.set_title(title)
    ax.legend(fontsize=8)
    _save(fig, path)


def coverage_figure(results: dict, path, title: str = "") -> None:
    """Coverage vs true value per label: ``{label: CoverageResult}``; Wilks and FC with
    binomial error bars, the nominal level dashed."""
    fig, axes = style.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), squeeze=False)
    for ax, (label, r) in zip(axes[0], results.items()):
        ax.errorbar(r.true_values, r.wilks, r.wilks_err, fmt="o", color="C1", label="Wilks")
        ax.errorbar(r.true_values, r.fc, r.fc_err, fmt="s", color="C0", label="Feldman-Cousins")
        ax.axhline(r.cl, color="k", ls="--", lw=1)
        ax.set_xlabel(style.axis_label(r.param))
        ax.set_ylabel("coverage")
        ax.set_title(label, fontsize=9)
        ax.set_ylim(min(0.75, float(np.min(r.wilks)) - 0.03), 1.0)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    _save(fig, path)

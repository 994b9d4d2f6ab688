"""Figures for reports: Delta chi2 profiles, 2D regions, exclusion curves, spectra.

Every figure uses :mod:`jcevns.style`: one colour per experiment, axis labels in physics
notation, no pyplot state (the caller's matplotlib backend is left alone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .intervals import DCHI2_90_1D, DCHI2_90_2D


def _label(name: str) -> str:
    return style.axis_label(name)


def _colour(name: str) -> str:
    return style.colour(name)


def _legend(name: str) -> str:
    return style.label(name)


def _save(fig, path) -> Path:
    fig.tight_layout()
    return style.save(fig, path)


def profiles_figure(curves: dict, names: list[str], path: Path, paper: dict | None = None):
    """Delta chi2 profiles of several parameters, one panel each, analyses overlaid."""
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = style.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False)
    for ax, p in zip(axes.ravel(), names):
        for an_name, c in curves.items():
            r = c["one_d"].get(p)
            if r is None:
                continue
            ax.plot(r["x"], r["delta"], color=_colour(an_name), label=_legend(an_name))
            if paper and p in paper.get(an_name, {}):
                for lo, hi in paper[an_name][p]:
                    ax.axvspan(lo, hi, color=_colour(an_name), alpha=0.08)
        ax.axhline(DCHI2_90_1D, color="k", ls="--", lw=0.8)
        ax.set_ylim(0, 10)
        ax.set_xlabel(_label(p))
        ax.set_ylabel(r"$\Delta\chi^2$")
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7, title="shaded: paper 90 %", title_fontsize=7)
    return _save(fig, path)


def contours_figure(curves: dict, key_per_analysis: dict, path: Path, title: str):
    """90 % CL regions (Delta chi2 = 4.61) of a 2D scan, analyses overlaid."""
    fig, ax = style.subplots(figsize=(4.6, 4.2))
    names = None
    for an_name, key in key_per_analysis.items():
        r = curves[an_name]["two_d"][key]
        x, y = r["axes"]
        ax.contourf(x, y, r["delta"].T, levels=[0, DCHI2_90_2D], colors=[_colour(an_name)], alpha=0.3)
        ax.contour(x, y, r["delta"].T, levels=[DCHI2_90_2D], colors=[_colour(an_name)])
        ax.plot([], [], color=_colour(an_name), label=_legend(an_name))
        names = r["names"]
    refs = [c["analysis"].params() for c in curves.values() if "analysis" in c]
    sm = [float(getattr(refs[0], n)) if refs else 0.0 for n in names]  # couplings: 0 in the SM
    ax.plot(*sm, "k+", ms=9, label="SM")
    ax.set_xlabel(_label(names[0]))
    ax.set_ylabel(_label(names[1]))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def exclusions_figure(curves: dict, kind: str, path: Path):
    """90 % CL exclusions in the (M, g^2) plane: the excluded region shaded above the lowest
    excluded coupling, the allowed band of a vector mediator inside it (where it flips the sign of
    the weak charge, :func:`jcevns.reproduce_papers._island`) hatched between its two edges."""
    fig, ax = style.subplots(figsize=(5.2, 4.2))
    bands = False
    for an_name, c in curves.items():
        for key, ls in ((kind, "-"), (kind + "_bl", ":")):
            r = c["mediators"].get(key)
            if r is None:
                continue
            m, g = np.asarray(r["m_mev"]), np.asarray(r["g"])
            col = _colour(an_name)
            label = _legend(an_name) + (" (B-L)" if key.endswith("_bl") else "")
            if "g_excluded_min" not in r:  # curves from elsewhere: the Delta chi2 = 4.61 contour
                ax.contour(m, g**2, r["delta"].T, levels=[DCHI2_90_2D], colors=[col], linestyles=ls)
                ax.plot([], [], color=col, ls=ls, label=label)
                continue
            g_min = np.asarray(r["g_excluded_min"], dtype=float)
            ax.plot(m, g_min**2, color=col, ls=ls, label=label)
            if ls == "-":
                ax.fill_between(m, g_min**2, g[-1] ** 2, where=np.isfinite(g_min), color=col, alpha=0.08, lw=0)
            island = r.get("island")
            if island is not None and np.any(np.isfinite(island["g_lo"])):
                lo, hi = np.asarray(island["g_lo"]), np.asarray(island["g_hi"])
                # white: cut out of the excluded shading; hatched in the experiment's colour
                ax.fill_between(m, lo**2, hi**2, where=np.isfinite(lo), facecolor="white", edgecolor=col,
                                hatch="////", lw=0.6)
                bands = True
    if bands:
        ax.fill_between([], [], [], facecolor="white", edgecolor="0.3", hatch="////", lw=0.6,
                        label="allowed band (weak charge flipped)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_label(f"{kind}_m"))
    ax.set_ylabel(style.symbol(f"{kind}_g")[:-1] + "^2$")
    what = "vector Z'" if kind == "zprime" else "scalar"
    ax.set_title(f"{what}: 90 % CL, excluded above each line (shaded)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def csi_spectrum_figure(curves: dict, path: Path):
    """CsI 2017 data (N_meas) vs SM prediction plus prompt neutrons (analyses with ``b_0n``, ``b_ss``)."""
    from .forward import predict_per_flavour

    fig, ax = style.subplots(figsize=(5.2, 3.8))
    drawn_data = False
    for an_name, c in curves.items():
        an = c["analysis"]
        if not {"b_0n", "b_ss"} <= set(an.data):
            continue
        edges = np.asarray(an.bin_edges)
        centres = 0.5 * (edges[1:] + edges[:-1])
        sm = np.asarray(predict_per_flavour(an.params(), an)).sum(axis=0)
        b0n = np.asarray(an.data["b_0n"])
        ax.step(edges, np.append(sm + b0n, sm[-1] + b0n[-1]), where="post", color=_colour(an_name),
                label=f"SM + prompt n, {_legend(an_name)} ({sm.sum():.0f} CEvNS)")
        if not drawn_data:
            n = np.asarray(an.data["n_meas"])
            err = np.sqrt(n + b0n + 2 * np.asarray(an.data["b_ss"]))
            ax.errorbar(centres, n, yerr=err, fmt="ko", ms=3, label=f"data, C - AC ({n.sum():.0f})")
            drawn_data = True
    ax.set_xlabel("photoelectrons")
    ax.set_ylabel("events / 2 PE")
    ax.legend(fontsize=7)
    return _save(fig, path)


def reproduction_figures(curves: dict, out_dir: Path) -> list[Path]:
    """Every figure of ``jcevns reproduce``; returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    recipe = {k: v["analysis"].experiment.reproduction for k, v in curves.items()}
    csi = {k: v for k, v in curves.items() if recipe[k] == "papoulias2020"}
    lar = {k: v for k, v in curves.items() if recipe[k] == "miranda2020"}
    if csi:
        paper = {k: v["analysis"].experiment.published["intervals_90"].value for k, v in csi.items()}
        names = list(next(iter(paper.values())))
        written.append(profiles_figure(csi, names, out_dir / "csi_profiles.png", paper))
        written.append(
            contours_figure(csi, {k: "nsi_ee" for k in csi}, out_dir / "csi_nsi_ee.png",
                            "CsI 2017: 90 % CL, NSI ($ee$)")
        )
        written.append(
            contours_figure(csi, {k: "nsi_mumu" for k in csi}, out_dir / "csi_nsi_mumu.png",
                            r"CsI 2017: 90 % CL, NSI ($\mu\mu$)")
        )
        written.append(csi_spectrum_figure(csi, out_dir / "csi_spectrum.png"))
    if lar:
        names = list(next(iter(lar.values()))["one_d"])
        written.append(profiles_figure(lar, names, out_dir / "lar_profiles.png"))
        for key in ("nsi_ee_etau", "nsi_ee", "sin2w_rn"):
            written.append(
                contours_figure(lar, {k: key for k in lar}, out_dir / f"lar_{key}.png", "CENNS-10 LAr: 90 % CL region")
            )
    for kind in ("zprime", "scalar"):
        written.append(exclusions_figure(curves, kind, out_dir / f"exclusion_{kind}.png"))
    return written


def combined_figures(curves: dict, out_dir: Path) -> list[Path]:
    """Figures of :func:`jcevns.reproduce_papers.run_combined`: profiles, the NSI plane and the Z'
    exclusion, the combination beside each experiment alone."""
    out_dir = Path(out_dir)
    return [
        profiles_figure(curves, ["sin2w", "eps_ee_u", "eps_ee_d"], out_dir / "combined_profiles.png"),
        contours_figure(curves, {k: "nsi_ee" for k in curves}, out_dir / "combined_nsi_ee.png",
                        "CsI 2017 (new QF) + LAr: 90 % CL, NSI ($ee$)"),
        exclusions_figure(curves, "zprime", out_dir / "combined_exclusion_zprime.png"),
    ]


def scan_figure(result, path: Path, title: str = ""):
    """Delta chi2 of a :class:`~jcevns.ScanResult`: a curve with the 90 % and 1-sigma lines (1D), or
    the 90 % CL region, Delta chi2 = 4.61, with its best point (2D)."""
    delta = result.delta
    fig, ax = style.subplots(figsize=(5.4, 4.0))
    log = [bool(np.all(a > 0) and a[-1] / a[0] > 100) for a in result.axes]
    if len(result.names) == 1:
        ax.plot(result.axes[0], delta, color="tab:blue")
        ax.axhline(DCHI2_90_1D, color="k", ls="--", lw=0.8, label="90 % CL")
        ax.axhline(1.0, color="k", ls=":", lw=0.8, label=r"1$\sigma$")
        ax.set_ylim(0, max(10.0, min(float(np.max(delta)), 25.0)))
        ax.set_ylabel(r"$\Delta\chi^2$")
        ax.legend(fontsize=8)
    else:
        x, y = result.axes
        ax.contourf(x, y, delta.T, levels=[0, DCHI2_90_2D], colors=["tab:blue"], alpha=0.3)
        ax.contour(x, y, delta.T, levels=[DCHI2_90_2D], colors=["tab:blue"])
        best = result.argmin()
        ax.plot(best[result.names[0]], best[result.names[1]], "k*", label=r"best fit; region $\Delta\chi^2 \leq 4.61$")
        ax.set_ylabel(_label(result.names[1]))
        if log[1]:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    if log[0]:
        ax.set_xscale("log")
    ax.set_xlabel(_label(result.names[0]))
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def forecast_figure(forecast, path: Path, title: str = ""):
    """1 and 2 sigma ellipses (Delta chi2 = 2.30, 6.18) of every pair of forecast parameters, or
    the Gaussian Delta chi2 of a single one; written atomically."""
    names, centre, cov = forecast.names, forecast.values, forecast.covariance
    k = len(names)
    fig, axes = style.subplots(max(k - 1, 1), max(k - 1, 1), figsize=(3.6 * max(k - 1, 1), 3.2 * max(k - 1, 1)),
                             squeeze=False)
    if k == 1:
        x = np.linspace(-3, 3, 201)
        axes[0, 0].plot(centre[0] + x * forecast.sigma[0], x**2)
        axes[0, 0].set_xlabel(_label(names[0]))
        axes[0, 0].set_ylabel(r"$\Delta\chi^2$")
    t = np.linspace(0, 2 * np.pi, 200)
    for i in range(1, k):
        for j in range(k - 1):
            ax = axes[i - 1, j]
            if j >= i:
                ax.axis("off")
                continue
            sub = cov[np.ix_([j, i], [j, i])]
            vals, vecs = np.linalg.eigh(sub)
            for level, ls in ((2.30, "-"), (6.18, "--")):
                pts = vecs @ (np.sqrt(level * np.maximum(vals, 0))[:, None] * np.stack([np.cos(t), np.sin(t)]))
                ax.plot(centre[j] + pts[0], centre[i] + pts[1], ls, color="C0")
            ax.plot(centre[j], centre[i], "+", color="k")
            ax.set_xlabel(_label(names[j]))
            ax.set_ylabel(_label(names[i]))
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)

"""The CsI 2021 section of ``jcevns reproduce``: fitted counts, significance, cross section,
physics intervals and figures (data vs fit on PE and on time, with residuals).

These are blind results: nothing is compared with, or tuned to, COHERENT's own numbers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .. import forward
from ..intervals import DCHI2_90_1D, DCHI2_90_2D, exclusion_curve, intervals_1d
from . import csi2021 as base
from . import csi2021_fits as fits
from . import csi2021_likelihood as lik

SIN2W_GRID = np.linspace(0.10, 0.40, 601)
RN_GRID = np.linspace(3.0, 8.0, 101)
NSI_AXIS = np.linspace(-0.6, 0.9, 76)
MU_GRID = np.linspace(0.0, 60.0, 121)
ZP_MASSES = np.geomspace(1.0, 1e4, 17)
ZP_COUPLINGS = np.geomspace(1e-6, 3e-2, 46)


def _intervals(x, values, level=DCHI2_90_1D):
    d = np.asarray(values) - np.min(values)
    return [list(map(float, i.as_list())) for i in intervals_1d(np.asarray(x), d, level)]


def run(tick=lambda *_: None) -> tuple[dict, dict]:
    """Compute every CsI 2021 result. Returns ``(results, curves)`` (curves feed :func:`figures`)."""
    exp = base.build()
    p = exp.params()
    sm = np.asarray(forward.predict(p, exp))
    bm_counts = lik.binned_model(flux=False)
    fit = fits.strength_fit(bm_counts, sm)
    counts = fits.component_counts(bm_counts, sm, fit)
    tick()
    bm = lik.binned_model(flux=True)
    fx = fits.strength_fit(bm, sm)
    xsec_sm = fits.flux_averaged_xsec_1e40(exp)
    xsec = [fx["mu"] * xsec_sm, (fx["mu"] - fx["mu_1sigma"][0]) * xsec_sm, (fx["mu_1sigma"][1] - fx["mu"]) * xsec_sm]
    tick()

    # every template scan in one vmapped call: (sin2w, eps_ee_u, eps_ee_d, mu_nu)
    ref = (p.sin2w, 0.0, 0.0, 0.0)
    rows = [np.column_stack([SIN2W_GRID] + [np.full_like(SIN2W_GRID, r) for r in ref[1:]])]
    uu, dd = np.meshgrid(NSI_AXIS, NSI_AXIS, indexing="ij")
    rows.append(np.column_stack([np.full(uu.size, ref[0]), uu.ravel(), dd.ravel(), np.zeros(uu.size)]))
    rows.append(np.column_stack([np.full_like(MU_GRID, ref[0]), 0 * MU_GRID, 0 * MU_GRID, MU_GRID]))
    values, ok_t = fits.template_scan(exp, bm, ("sin2w", "eps_ee_u", "eps_ee_d", "mu_nu"), np.vstack(rows))
    v_s2w, v_nsi, v_mu = np.split(values, np.cumsum([SIN2W_GRID.size, uu.size]))
    tick()
    # every full-prediction scan in one call: (rn, zprime_m, zprime_g)
    mm, gg = np.meshgrid(ZP_MASSES, ZP_COUPLINGS, indexing="ij")
    rows = [np.column_stack([RN_GRID, np.full_like(RN_GRID, p.zprime_m), np.zeros_like(RN_GRID)]),
            np.column_stack([np.full(mm.size, p.rn), mm.ravel(), gg.ravel()])]
    values, ok_f = fits.full_scan(exp, bm, ("rn", "zprime_m", "zprime_g"), np.vstack(rows))
    v_rn, v_zp = values[: RN_GRID.size], values[RN_GRID.size:].reshape(mm.shape)
    tick()

    nsi = v_nsi.reshape(uu.shape)
    d_nsi = nsi - nsi.min()
    i0 = int(np.argmin(np.abs(NSI_AXIS)))
    zp_delta = v_zp - v_zp.min()  # against the minimum of the (M, g) plane
    fitted = {k: [float(v[0]), float(v[1])] for k, v in counts.items()}
    results = {
        "sm_total": float(sm.sum()),
        "observed_total": float(exp.data["n_meas"].sum()),
        "fitted_counts": fitted,
        "signal_strength": [fit["mu"], *fit["mu_1sigma"]],
        "significance_sigma": fit["significance_sigma"],
        "twice_nll_best": fit["twice_nll"],
        "n_bins": int(sm.size),
        "pulls_best_fit": fit["pulls"],
        "flux_avg_xsec_1e40": xsec,
        "flux_avg_xsec_sm_1e40": xsec_sm,
        "best_fit": {
            "sin2w": float(SIN2W_GRID[np.argmin(v_s2w)]),
            "rn": float(RN_GRID[np.argmin(v_rn)]),
            "eps_ee_u": float(uu.ravel()[np.argmin(nsi)]),
            "eps_ee_d": float(dd.ravel()[np.argmin(nsi)]),
            "mu_nu": float(MU_GRID[np.argmin(v_mu)]),
        },
        "intervals_90": {
            "sin2w": _intervals(SIN2W_GRID, v_s2w),
            "rn": _intervals(RN_GRID, v_rn),
            "eps_ee_u": _intervals(NSI_AXIS, nsi[:, i0]),
            "eps_ee_d": _intervals(NSI_AXIS, nsi[i0, :]),
            "mu_nu": _intervals(MU_GRID, v_mu),
        },
        "one_sigma": {"sin2w": _intervals(SIN2W_GRID, v_s2w, 1.0), "rn": _intervals(RN_GRID, v_rn, 1.0)},
        "nsi_ee_region_90": {"fraction_of_plane_allowed": float(np.mean(d_nsi <= DCHI2_90_2D)),
                             "axis": [float(NSI_AXIS[0]), float(NSI_AXIS[-1])]},
        "exclusions_90": {"zprime": {"m_mev": ZP_MASSES.tolist(),
                                     "g_excluded_min": exclusion_curve(ZP_MASSES, ZP_COUPLINGS, zp_delta).tolist()}},
        "converged": {"count_fit": fit["converged"], "flux_fit": fx["converged"],
                      "scans_fraction": float(np.mean(np.concatenate([ok_t, ok_f])))},
        "time_zero_pot_mean_us": base.constants()["time_zero"]["pot_mean_us"],
    }
    curves = {"exp": exp, "sm": sm, "fit": fit, "bm": bm_counts, "nsi": (NSI_AXIS, d_nsi), "zp": (ZP_MASSES, results[
        "exclusions_90"]["zprime"]["g_excluded_min"]), "sin2w": (SIN2W_GRID, v_s2w - v_s2w.min())}
    return results, curves


def report_lines(r: dict) -> list[str]:
    """Markdown lines of the CsI 2021 section."""
    fc = r["fitted_counts"]
    x = r["flux_avg_xsec_1e40"]
    lines = [
        "",
        "## COHERENT CsI[Na] complete dataset (Akimov et al., PRL 129 (2022) 081801, arXiv:2110.07730) — csi2021",
        "",
        "Blind analysis: 2D Poisson likelihood in PE x arrival time (ROI 0-60 PE, 0-6 us, "
        f"{r['n_bins']} bins), all nuisances profiled. COHERENT's own numbers are not used.",
        "",
        f"- SM CEvNS prediction in the ROI: {r['sm_total']:.1f} events; "
        f"observed (coincidence) {r['observed_total']:.0f}",
        "- fitted counts (profile-likelihood 1 sigma): " + ", ".join(f"{k} {v[0]:.1f} +- {v[1]:.1f}"
                                                                      for k, v in fc.items()),
        f"- significance of CEvNS against no CEvNS: {r['significance_sigma']:.1f} sigma",
        f"- flux-averaged cross section per nucleus: {x[0]:.1f} -{x[1]:.1f} +{x[2]:.1f} x 1e-40 cm^2 "
        f"(SM {r['flux_avg_xsec_sm_1e40']:.1f})",
        "",
        "| parameter | best fit | 90 % CL |",
        "|---|---|---|",
    ]
    for k, ints in r["intervals_90"].items():
        lines.append(f"| {k} | {r['best_fit'][k]:.4g} | " + " and ".join(f"{a:.3g} – {b:.3g}" for a, b in ints) + " |")
    return lines


def figures(curves: dict, out_dir: Path) -> list[Path]:
    """Data vs best fit projected on PE and on time with residuals; NSI region; Z' curve."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exp, sm, fit, bm = curves["exp"], curves["sm"], curves["fit"], curves["bm"]
    cm = lik.compact(bm)
    theta = fit["best"].theta
    shape = base.shape(exp)
    comps = {}
    for k, name in enumerate(bm.sample_names):
        keep = np.zeros(len(bm.sample_names))
        keep[k] = 1.0
        only = dataclasses.replace(cm, backgrounds=cm.backgrounds * keep[1:, None])
        comps[name] = np.asarray(lik.expected(only, float(theta[0]) * sm * keep[0], theta[1:])).reshape(shape)
    data = np.asarray(bm.observed).reshape(shape)
    fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex="col", gridspec_kw=dict(height_ratios=[3, 1]))
    for col, (axis, edges, label, unit) in enumerate([(1, base.PE_EDGES, "reconstructed PE", "PE"),
                                                      (0, base.T_EDGES_US, "arrival time [us]", "us")]):
        widths = np.diff(edges)
        bottom = np.zeros(len(widths))
        for name, colour in zip(("ss", "nin", "brn", "cevns"), ("0.7", "tab:green", "tab:orange", "tab:blue")):
            y = comps[name].sum(axis=axis) / widths
            axes[0, col].bar(edges[:-1], y, widths, bottom=bottom, align="edge", color=colour, label=name, alpha=0.8)
            bottom = bottom + y
        d = data.sum(axis=axis)
        centres = 0.5 * (edges[1:] + edges[:-1])
        axes[0, col].errorbar(centres, d / widths, np.sqrt(d) / widths, fmt="k.", label="data (C)")
        total = sum(c.sum(axis=axis) for c in comps.values())
        axes[1, col].errorbar(centres, (d - total) / np.sqrt(total), 1.0, fmt="k.")
        axes[1, col].axhline(0, color="0.5")
        axes[1, col].set_xlabel(label)
        axes[0, col].set_ylabel(f"events / {unit}")
        axes[1, col].set_ylabel("(data - fit) / sqrt(fit)")
    axes[0, 0].legend()
    fig.suptitle("CsI[Na] complete dataset: data vs best fit")
    fig.tight_layout()
    paths = [out_dir / "csi2021_projections.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    axis, d_nsi = curves["nsi"]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    from .. import style

    ax[0].contourf(axis, axis, d_nsi.T, levels=[0, DCHI2_90_2D], colors=[style.colour("csi2021")], alpha=0.5)
    ax[0].set_xlabel(style.axis_label("eps_ee_u"))
    ax[0].set_ylabel(style.axis_label("eps_ee_d"))
    ax[0].set_title(r"90 % CL allowed ($\Delta\chi^2 \leq 4.61$)")
    m, g = curves["zp"]
    ax[1].loglog(m, np.array(g, dtype=float), color=style.colour("csi2021"))
    ax[1].set_xlabel(style.axis_label("zprime_m"))
    ax[1].set_ylabel(f"lowest excluded {style.symbol('zprime_g')} (90 % CL)")
    fig.tight_layout()
    paths.append(out_dir / "csi2021_physics.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths

"""``jcevns reproduce``: regenerate the results of the two reference papers.

Seed 003 (Papoulias, PRD 102 113004, CsI 2017, old and new quenching factor): every row of
Table I, the best fits and 1-sigma bands of eqs. 11 and 13, the NSI 2D regions, the Z' and
scalar exclusions. Seed 000 (Miranda et al., JHEP 05 (2020) 130, CENNS-10 LAr): sin^2 theta_W,
the R_n limit, magnetic moments and charge radii per flavour, NSI (diagonal, flavour
changing, 2D), Z' (universal and B-L) and scalar exclusions, and the sin^2 theta_W width with
R_n free.

Nothing here is tuned to the published numbers: they are only read to print the comparison.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from . import __version__
from .analyses import build
from .forward import predict, predict_per_flavour
from .intervals import DCHI2_90_1D, DCHI2_90_2D, exclusion_curve, fit_1d, intervals_1d
from .likelihoods import likelihood, profiled, statistic
from .params import SPECS
from .scans import scan

#: Seed 003 Table I (90 % CL), eq. 11 and eq. 13, eq. 16; units as in :data:`jcevns.SPECS`.
PAPER_003 = {
    "csi2017-oldqf": {
        "sin2w": [[0.116, 0.321]],
        "rn": [[3.5, 7.1]],
        "eps_ee_u": [[-0.12, 0.53]],
        "eps_ee_d": [[-0.11, 0.48]],
        "eps_mumu_u": [[-0.07, 0.13], [0.28, 0.49]],
        "eps_mumu_d": [[-0.06, 0.12], [0.25, 0.43]],
        "mu_nu": [[0.0, 30.0]],
        "r2_nue": [[-76.0, 17.0]],
        "r2_numu": [[-84.0, 25.0]],
        "r2_numubar": [[-71.0, 12.0]],
    },
    "csi2017-newqf": {
        "sin2w": [[0.140, 0.282]],
        "rn": [[4.3, 6.7]],
        "eps_ee_u": [[-0.06, 0.48]],
        "eps_ee_d": [[-0.06, 0.43]],
        "eps_mumu_u": [[-0.04, 0.10], [0.32, 0.45]],
        "eps_mumu_d": [[-0.03, 0.09], [0.28, 0.40]],
        "mu_nu": [[0.0, 21.0]],
        "r2_nue": [[-68.0, 9.0]],
        "r2_numu": [[-80.0, 21.0]],
        "r2_numubar": [[-65.0, -32.0], [-27.0, 6.0]],
    },
}
#: Seed 003 eqs. 11 and 13 (best fit and 90 % CL errors), 1-sigma bands (text below them),
#: and eq. 16 (the magnetic-moment limits the text quotes, which differ from Table I).
PAPER_003_BEST = {
    "csi2017-oldqf": {"sin2w": 0.197, "rn": 5.6},
    "csi2017-newqf": {"sin2w": 0.209, "rn": 5.6},
}
PAPER_003_ONE_SIGMA = {
    "csi2017-oldqf": {"sin2w": 0.057, "rn": 1.01},
    "csi2017-newqf": {"sin2w": 0.042, "rn": 0.76},
}
PAPER_003_MU_EQ16 = {"csi2017-oldqf": 31.0, "csi2017-newqf": 26.0}
#: Seed 003 SM totals (sec. II) and seed 000's "130 events expected in the SM" (sec. 3.3).
PAPER_SM = {"csi2017-oldqf": 174.0, "csi2017-newqf": 158.0, "lar2020": 130.0}

#: Why a jcevns number may differ from the paper, per parameter (the notes' ambiguities).
EXPLANATIONS = {
    "sin2w": "quenching-factor curve (new QF: public COHERENT polynomial)",
    "rn": "Helm with one R_n for Cs and I; 5 % FF term dropped (footnote 4)",
    "eps_ee_u": "form-factor radius (KN R_A) sets the normalisation",
    "eps_ee_d": "form-factor radius (KN R_A) sets the normalisation",
    "eps_mumu_u": "two minima (weak charge flipped); grid interval ends",
    "eps_mumu_d": "two minima (weak charge flipped); grid interval ends",
    "mu_nu": "paper disagrees with itself: Table I vs eq. 16",
    "r2_nue": "charge-radius coefficient (standard = half of printed)",
    "r2_numu": "charge-radius coefficient (standard = half of printed)",
    "r2_numubar": "charge-radius coefficient (standard = half of printed)",
}

_EPS = np.linspace(-1.0, 1.0, 801)
_GRIDS = {
    "sin2w": np.linspace(0.0, 0.6, 601),
    "mu_nu": np.linspace(0.0, 120.0, 601),
    "r2": np.linspace(-200.0, 120.0, 641),
}
_MED_MASS = np.logspace(0.0, 4.5, 46)  # MeV
_ZP_G = np.logspace(-6.5, -1.0, 111)
_SC_G = np.logspace(-7.5, -2.0, 111)
_NSI_2D = np.linspace(-1.0, 1.0, 161)


def _rn_grid(an) -> np.ndarray:
    """From the Helm limit to the top of the valid range of ``rn`` (15 fm, jcevns.params.SPECS)."""
    return np.linspace(an.rn_lower * (1 + 1e-9), SPECS["rn"].upper, 601)


def _free_rn_band(plane: dict, rn_cap: float) -> dict:
    """90 % CL sin2w band with R_n profiled over ``[Helm limit, rn_cap]`` on the (sin2w, rn) plane."""
    sin2w, rn = plane["axes"]
    prof = plane["delta"][:, rn <= rn_cap].min(axis=1)
    ints = intervals_1d(sin2w, prof - prof.min(), DCHI2_90_1D, boundaries=(0.0, None))
    return {
        "rn_cap_fm": float(rn_cap),
        "width": sum(i.hi - i.lo for i in ints),
        "intervals": [i.as_list() for i in ints],
        "kinds": [[i.lo_kind, i.hi_kind] for i in ints],
    }


def _one_d(lik, name: str, grid, boundaries=(None, None), base=None):
    """Scan, best fit (refined), 90 % and 1-sigma intervals of one parameter."""
    an = lik.analysis
    base = an.params() if base is None else base
    res = scan(lik, {name: grid}, base=base)

    def chi2(x):
        return float(statistic(base.replace(**{name: x}), lik))

    fit = fit_1d(grid, res.values, f=chi2, boundaries=boundaries)
    half = [0.5 * (i.hi - i.lo) for i in fit.one_sigma if i.lo <= fit.best <= i.hi]
    return {
        "best": fit.best,
        "chi2_min": fit.minimum,
        "intervals": [i.as_list() for i in fit.cl90],
        "kinds": [[i.lo_kind, i.hi_kind] for i in fit.cl90],
        "one_sigma_half_width": half[0] if half else None,
        "x": grid,
        "delta": fit.delta,
    }


def _two_d(lik, names, axes, base=None):
    res = scan(lik, dict(zip(names, axes)), base=base)
    return {"names": list(names), "axes": [a for a in axes], "delta": res.delta, "best": res.argmin()}


def _mediator(lik, kind: str):
    g_name, m_name = f"{kind}_g", f"{kind}_m"
    g_grid = _ZP_G if kind == "zprime" else _SC_G
    res = scan(lik, {m_name: _MED_MASS, g_name: g_grid})
    delta = res.delta
    return {
        "m_mev": _MED_MASS,
        "g": g_grid,
        "delta": delta,
        "g_excluded_min": exclusion_curve(_MED_MASS, g_grid, delta, DCHI2_90_2D),
    }


def _finite(x):
    """JSON-safe: NaN -> None."""
    return [None if (v is None or not math.isfinite(v)) else float(v) for v in x]


def run_csi(name: str, preset: str, tick=lambda *_: None) -> tuple[dict, dict]:
    """All seed 003 results for one CsI analysis: ``(summary, curves)``."""
    an = build(name, preset)
    lik = likelihood(an)
    an_rn = build(name, preset, form_factor="helm")
    lik_rn = likelihood(an_rn, drop_form_factor_uncertainty=True)
    one = {}
    one["sin2w"] = _one_d(lik, "sin2w", _GRIDS["sin2w"])
    tick()
    one["rn"] = _one_d(lik_rn, "rn", _rn_grid(an_rn), boundaries=(an_rn.rn_lower * (1 + 1e-9), None))
    tick()
    for p in ("eps_ee_u", "eps_ee_d", "eps_mumu_u", "eps_mumu_d"):
        one[p] = _one_d(lik, p, _EPS)
    tick()
    one["mu_nu"] = _one_d(lik, "mu_nu", _GRIDS["mu_nu"], boundaries=(0.0, None))
    for p in ("r2_nue", "r2_numu", "r2_numubar"):
        one[p] = _one_d(lik, p, _GRIDS["r2"])
    tick()
    two = {
        "nsi_ee": _two_d(lik, ("eps_ee_d", "eps_ee_u"), (_NSI_2D, _NSI_2D)),
        "nsi_mumu": _two_d(lik, ("eps_mumu_d", "eps_mumu_u"), (_NSI_2D, _NSI_2D)),
    }
    tick()
    med = {"zprime": _mediator(lik, "zprime"), "scalar": _mediator(lik, "scalar")}
    tick()
    return _summary(an, lik, one, med), {"one_d": one, "two_d": two, "mediators": med, "analysis": an}


def run_lar(preset: str, tick=lambda *_: None) -> tuple[dict, dict]:
    """All seed 000 results for CENNS-10: ``(summary, curves)``."""
    an = build("lar2020", preset)
    lik = likelihood(an)
    one = {}
    one["sin2w"] = _one_d(lik, "sin2w", _GRIDS["sin2w"])
    one["rn"] = _one_d(lik, "rn", _rn_grid(an), boundaries=(an.rn_lower * (1 + 1e-9), None))
    tick()
    for p in ("mu_nu_e", "mu_nu_mu", "mu_nu_mubar"):
        one[p] = _one_d(lik, p, _GRIDS["mu_nu"], boundaries=(0.0, None))
    for p in ("r2_nue", "r2_numu", "r2_numubar"):
        one[p] = _one_d(lik, p, _GRIDS["r2"])
    tick()
    for p in ("eps_ee_u", "eps_ee_d", "eps_mumu_u", "eps_mumu_d", "eps_emu_u", "eps_emu_d",
              "eps_etau_u", "eps_etau_d", "eps_mutau_u", "eps_mutau_d"):
        one[p] = _one_d(lik, p, _EPS)
    tick()
    two = {
        "nsi_ee_etau": _two_d(lik, ("eps_ee_d", "eps_etau_d"), (_NSI_2D, _NSI_2D)),
        "nsi_ee": _two_d(lik, ("eps_ee_d", "eps_ee_u"), (_NSI_2D, _NSI_2D)),
        "sin2w_rn": _two_d(lik, ("sin2w", "rn"), (np.linspace(0.0, 0.8, 321), _rn_grid(an)[::4])),
    }
    # Seed 000 sec. 3.5: width of the 90 % sin2w band with R_n fixed vs free. A larger R_n lowers
    # the rate exactly as a larger sin2w raises it, so with R_n free the band is bounded only by
    # the range allowed to R_n: report it for R_n up to its own 90 % upper limit (the line drawn
    # in seed 000 fig. 8) and up to the top of the valid range.
    rn_limit = max(hi for _, hi in one["rn"]["intervals"])
    extra = {
        "sin2w_width_fixed_rn": sum(hi - lo for lo, hi in one["sin2w"]["intervals"]),
        "sin2w_free_rn": [_free_rn_band(two["sin2w_rn"], cap) for cap in (rn_limit, SPECS["rn"].upper)],
    }
    tick()
    lik_bl = likelihood(build("lar2020", preset, zprime_couplings="b-l"))
    med = {
        "zprime": _mediator(lik, "zprime"),
        "zprime_bl": _mediator(lik_bl, "zprime"),
        "scalar": _mediator(lik, "scalar"),
    }
    tick()
    summary = _summary(an, lik, one, med)
    summary["extra"] = extra
    return summary, {"one_d": one, "two_d": two, "mediators": med, "analysis": an}


def _summary(an, lik, one: dict, med: dict) -> dict:
    sm = an.params()
    chi2_sm, pulls = profiled(sm, lik)
    return {
        "preset": an.preset,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in an.options().items()},
        "sm_total": float(predict(sm, an).sum()),
        "sm_per_flavour": [float(v) for v in np.asarray(predict_per_flavour(sm, an)).sum(axis=1)],
        "chi2_sm": float(chi2_sm),
        "pulls_sm": [float(v) for v in pulls],
        "best_fit": {p: r["best"] for p, r in one.items()},
        "chi2_min": {p: r["chi2_min"] for p, r in one.items()},
        "intervals_90": {p: r["intervals"] for p, r in one.items()},
        "interval_kinds": {p: r["kinds"] for p, r in one.items()},
        "one_sigma_half_width": {p: r["one_sigma_half_width"] for p, r in one.items()},
        "exclusions_90": {
            k: {"m_mev": [float(m) for m in v["m_mev"]], "g_excluded_min": _finite(v["g_excluded_min"])}
            for k, v in med.items()
        },
    }


def run(preset: str = "calibrated", only: str | None = None, progress: bool = True):
    """Compute every result. Returns ``(results, curves, wall_seconds)``."""
    jobs = []
    if only in (None, "csi"):
        jobs += [("csi2017-oldqf", 6), ("csi2017-newqf", 6)]
    if only in (None, "lar"):
        jobs += [("lar2020", 5)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(n for _, n in jobs), desc="jcevns reproduce", unit="step")
    tick = (lambda *_: bar.update(1)) if bar is not None else (lambda *_: None)
    start = time.perf_counter()
    results, curves = {}, {}
    for name, _ in jobs:
        if name == "lar2020":
            results[name], curves[name] = run_lar(preset, tick)
        else:
            results[name], curves[name] = run_csi(name, preset, tick)
    if bar is not None:
        bar.close()
    return results, curves, time.perf_counter() - start


def _fmt_intervals(ints) -> str:
    if not ints:
        return "none"
    return " and ".join(f"{lo:.3g} – {hi:.3g}" for lo, hi in ints)


def _fmt_diff(ours, paper) -> str:
    if len(ours) != len(paper):
        return f"{len(ours)} vs {len(paper)} regions"
    return ", ".join(f"{o[0] - p[0]:+.3g} / {o[1] - p[1]:+.3g}" for o, p in zip(ours, paper))


def write_report(results: dict, wall_s: float, path: Path) -> None:
    """Markdown report: each number beside the paper's value with the difference."""
    lines = [
        "# jcevns reproduction of the reference analyses",
        "",
        f"jcevns {__version__}; wall time {wall_s:.1f} s; generated {time.strftime('%Y-%m-%d %H:%M:%S')}.",
        "Intervals are 90 % CL (Delta chi2 = 2.71, one parameter at a time, others at SM values);",
        "2D regions use Delta chi2 = 4.61 against the global minimum. Nothing is tuned to the papers.",
        "",
        "## SM predictions",
        "",
        "| analysis | preset | jcevns | paper | difference | chi2 at SM |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        paper = PAPER_SM[name]
        lines.append(
            f"| {name} | {r['preset']} | {r['sm_total']:.1f} | {paper:.0f} "
            f"| {100 * (r['sm_total'] / paper - 1):+.1f} % | {r['chi2_sm']:.2f} |"
        )
    for name in ("csi2017-oldqf", "csi2017-newqf"):
        if name not in results:
            continue
        r = results[name]
        lines += [
            "",
            f"## Seed 003 (Papoulias, PRD 102 113004), Table I — {name} ({r['preset']} preset)",
            "",
            "| parameter | unit | jcevns 90 % CL | paper 90 % CL | difference (lo / hi) "
            "| convention behind a difference |",
            "|---|---|---|---|---|---|",
        ]

        for p, paper in PAPER_003[name].items():
            ours = r["intervals_90"][p]
            note = EXPLANATIONS.get(p, "")
            if p == "mu_nu":
                ours_ul = [[0.0, ours[0][1]]] if ours else ours
                lines.append(
                    f"| {p} | {SPECS[p].unit} | < {ours[0][1]:.3g} | < {paper[0][1]:.3g} (Table I), "
                    f"< {PAPER_003_MU_EQ16[name]:.3g} (eq. 16) | "
                    f"{_fmt_diff(ours_ul, paper)} | {note} |"
                )
                continue
            lines.append(
                f"| {p} | {SPECS[p].unit} | {_fmt_intervals(ours)} | {_fmt_intervals(paper)} "
                f"| {_fmt_diff(ours, paper)} | {note} |"
            )
        lines += [
            "",
            "Best fits (eqs. 11, 13) and 1-sigma half widths:",
            "",
            "| parameter | jcevns best fit | paper | jcevns 1-sigma | paper 1-sigma |",
            "|---|---|---|---|---|",
        ]
        for p in ("sin2w", "rn"):
            hw = r["one_sigma_half_width"][p]
            lines.append(
                f"| {p} | {r['best_fit'][p]:.3f} | {PAPER_003_BEST[name][p]} | {hw:.3f} "
                f"| {PAPER_003_ONE_SIGMA[name][p]} |"
                if hw is not None
                else f"| {p} | {r['best_fit'][p]:.3f} | {PAPER_003_BEST[name][p]} | n/a "
                f"| {PAPER_003_ONE_SIGMA[name][p]} |"
            )
    if "lar2020" in results:
        r = results["lar2020"]
        lines += [
            "",
            f"## Seed 000 (Miranda et al., JHEP 05 (2020) 130) — lar2020 ({r['preset']} preset)",
            "",
            "The paper's final numbers are withheld from this repository for a blind check: jcevns",
            "derives them; they are compared afterwards.",
            "",
            "| parameter | jcevns best fit | jcevns 90 % CL |",
            "|---|---|---|",
        ]
        for p, ints in r["intervals_90"].items():
            lines.append(f"| {p} | {r['best_fit'][p]:.4g} | {_fmt_intervals(ints)} |")
        e = r["extra"]
        free = ", ".join(
            f"{b['width']:.3f} for R_n <= {b['rn_cap_fm']:.2f} fm"
            + (" (reaches the end of the sin2w grid)" if "grid_edge" in sum(b["kinds"], []) else "")
            for b in e["sin2w_free_rn"]
        )
        lines += [
            "",
            f"sin2w 90 % band width (seed 000 sec. 3.5): fixed R_n {e['sin2w_width_fixed_rn']:.3f}; "
            f"R_n free (profiled on the grid from the Helm limit) {free}. With R_n free the band is",
            "bounded only by the range allowed to R_n (a larger radius lowers the rate as a larger sin2w",
            "raises it), so the width is quoted for R_n up to its own 90 % upper limit and up to 15 fm.",
            "Magnetic moments per flavour: the flux components carry equal numbers of neutrinos and the",
            "moment cross section goes as 1/T, so nearly equal limits are expected (see the notes).",
        ]
    lines += [
        "",
        "## Mediator exclusions (90 % CL, smallest excluded coupling g; g^2 = g_nu g_q)",
        "",
        "| analysis | mediator | M = 1 MeV | M = 10 MeV | M = 100 MeV | M = 1 GeV | M = 10 GeV |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        for kind, ex in r["exclusions_90"].items():
            m = np.asarray(ex["m_mev"])
            g = np.array([np.nan if v is None else v for v in ex["g_excluded_min"]])
            cols = []
            for target in (1.0, 10.0, 100.0, 1e3, 1e4):
                k = int(np.argmin(np.abs(np.log(m / target))))
                cols.append("—" if not np.isfinite(g[k]) else f"{g[k]:.2e}")
            lines.append(f"| {name} | {kind} | " + " | ".join(cols) + " |")
    lines += [
        "",
        "With the sign conventions as printed, the universal Z' interferes destructively with the SM:",
        "an allowed island (weak charge flipped) appears at larger couplings above ~60 MeV; the",
        "curves above give the lowest excluded coupling.",
    ]
    path.write_text("\n".join(lines) + "\n")


def _jsonable(results: dict) -> dict:
    def conv(x):
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        if isinstance(x, (np.floating, float)):
            return None if not math.isfinite(float(x)) else float(x)
        if isinstance(x, np.integer):
            return int(x)
        return x

    return conv(results)


def main(
    out: str = "results", preset: str = "calibrated", only: str | None = None, progress: bool = True,
    toys: bool = False,
) -> int:
    """Run everything and write ``results.json``, ``report.md`` and ``figures/*.png``."""
    from . import plots

    out_dir = Path(out)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    results, curves, wall = run(preset, only, progress)
    payload = _jsonable(results)
    payload["meta"] = {"jcevns": __version__, "wall_s": wall, "preset": preset}
    (out_dir / "results.json").write_text(json.dumps(payload, indent=1))
    write_report(results, wall, out_dir / "report.md")
    figures = plots.reproduction_figures(curves, out_dir / "figures")
    print(f"wrote {out_dir / 'results.json'}, {out_dir / 'report.md'} and {len(figures)} figures in {wall:.1f} s")
    if toys:  # Feldman-Cousins vs Wilks with toys (jcevns.toyreport), off by default: minutes, not seconds
        from . import toyreport

        toyreport.main(out, preset, progress)
    return 0

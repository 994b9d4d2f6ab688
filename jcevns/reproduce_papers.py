"""The fits behind ``jcevns reproduce`` for the two reference papers and their combination.

Papoulias (PRD 102 113004 (2020), arXiv:1907.11644, CsI 2017, old and new quenching factor):
every row of Table I, the best fits and 1-sigma bands of eqs. 11 and 13, the NSI 2D regions,
the Z' and scalar exclusions. Miranda et al. (JHEP 05 (2020) 130, arXiv:2003.12050, CENNS-10
LAr): sin^2 theta_W, the R_n limit, magnetic moments and charge radii per flavour, NSI
(diagonal, flavour changing, 2D), Z' (universal and B-L) and scalar exclusions, and the
sin^2 theta_W width with R_n free. Each runner returns ``(summary, curves)``: the JSON-ready
numbers and the arrays the figures need.

Nothing here is tuned to the published numbers: they are only read to print the comparison.
"""

from __future__ import annotations

import numpy as np

from . import experiments
from .analyses import build
from .forward import predict, predict_per_flavour
from .intervals import DCHI2_90_1D, DCHI2_90_2D, exclusion_curve, fit_1d, intervals_1d
from .likelihoods import likelihood, profiled, statistic
from .outputs import json_safe
from .params import SPECS
from .scans import scan

#: The papers' reference values (Table I, best fits, 1-sigma bands, SM totals) live with each
#: experiment's description (``Experiment.published``, jcevns/experiments/csi2017.py and
#: lar2020.py); this module only reads them to print the comparison.


def _published(name: str, key: str):
    return experiments.get(name).published[key].value


def _view(key: str, recipe: str | None = None) -> dict:
    """``{experiment: published value}`` for the experiments (of one recipe) that publish ``key``."""
    return {
        n: _published(n, key)
        for n in experiments.names()
        if key in experiments.get(n).published and recipe in (None, experiments.get(n).reproduction)
    }


# Read-only views of the descriptions' tables under their former names (notebooks use them).
PAPER_003 = _view("intervals_90", "papoulias2020")
PAPER_003_BEST = _view("best_fit", "papoulias2020")
PAPER_003_ONE_SIGMA = _view("one_sigma_half_width", "papoulias2020")
PAPER_003_MU_EQ16 = _view("mu_nu_eq16", "papoulias2020")
PAPER_SM = _view("sm_total")
PAPER_LAR = next(iter(_view("results", "miranda2020").values()))


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
    out = {
        "m_mev": _MED_MASS,
        "g": g_grid,
        "delta": delta,
        "g_excluded_min": exclusion_curve(_MED_MASS, g_grid, delta, DCHI2_90_2D),
    }
    if kind == "zprime":
        out["island"] = _island(lik, kind, g_grid, delta, res.minimum)
    return out


def _island(lik, kind: str, g_grid, delta, minimum: float) -> dict:
    """The allowed band of a vector mediator above its lowest excluded coupling, per mass.

    With the sign conventions of the papers the universal Z' interferes destructively: where it
    flips the sign of the weak charge the rate is back at the SM one, a band narrower than a step
    of the coupling grid. Around the second dip of Delta chi2 (after it has risen above the
    exclusion boundary) of each mass, a finer grid (81 points over +-2 coarse steps) finds both
    edges of that band. Returns
    ``{"g_lo", "g_hi"}``, NaN where the band is not allowed at 90 % CL (Delta chi2 = 4.61 from
    the minimum of the coarse plane)."""
    step = float(np.log10(g_grid[1] / g_grid[0]))
    lo, hi = np.full(_MED_MASS.size, np.nan), np.full(_MED_MASS.size, np.nan)
    for i, m in enumerate(_MED_MASS):
        excluded = np.nonzero(delta[i] > DCHI2_90_2D)[0]
        if excluded.size == 0:
            continue
        d, peak = delta[i], excluded[0]
        while peak + 1 < d.size and d[peak + 1] >= d[peak]:  # climb out of the lower boundary
            peak += 1
        if peak + 1 >= d.size:
            continue  # Delta chi2 only grows: no second dip
        k = peak + int(np.argmin(d[peak:]))
        centre = np.log10(g_grid[k])
        log_g = np.linspace(max(centre - 2 * step, np.log10(g_grid[peak])), centre + 2 * step, 81)
        fine = scan(lik, {f"{kind}_m": np.array([m]), f"{kind}_g": 10.0**log_g}).values[0] - minimum
        bands = intervals_1d(log_g, fine, DCHI2_90_2D)
        if bands:
            lo[i], hi[i] = 10.0 ** bands[0].lo, 10.0 ** bands[-1].hi
    return {"g_lo": lo, "g_hi": hi}


def run_csi(name: str, preset: str, tick=lambda *_: None) -> tuple[dict, dict]:
    """All Papoulias 2020 results for one CsI analysis: ``(summary, curves)``."""
    an = build(name, preset)
    lik = likelihood(an)
    spec = an.experiment.likelihood
    an_rn = build(name, preset, **spec.rn_fit_options)
    lik_rn = likelihood(an_rn, drop_form_factor_uncertainty=spec.form_factor_sigma is not None)
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


def run_lar(name: str, preset: str, tick=lambda *_: None) -> tuple[dict, dict]:
    """All Miranda et al. 2020 results for CENNS-10: ``(summary, curves)``."""
    an = build(name, preset)
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
    # Miranda et al. 2020 sec. 3.5: width of the 90 % sin2w band with R_n fixed vs free. A larger R_n lowers
    # the rate exactly as a larger sin2w raises it, so with R_n free the band is bounded only by
    # the range allowed to R_n: report it for R_n up to its own 90 % upper limit (the line drawn
    # in Miranda et al. 2020 fig. 8) and up to the top of the valid range.
    rn_limit = max(hi for _, hi in one["rn"]["intervals"])
    extra = {
        "sin2w_width_fixed_rn": sum(hi - lo for lo, hi in one["sin2w"]["intervals"]),
        "sin2w_free_rn": [_free_rn_band(two["sin2w_rn"], cap) for cap in (rn_limit, SPECS["rn"].upper)],
    }
    # Miranda et al. quote their free-R_n width from the two-parameter 90 % region of fig. 8
    # (Delta chi2 = 4.61 in the (sin2w, R_n) plane); that band is a valley of constant width, so
    # its sin2w width at any fixed R_n is the 4.61 crossing of the fixed-R_n profile.
    fixed = one["sin2w"]
    def chi2_sin2w(x):
        return float(statistic(an.params(sin2w=x), lik)) - fixed["chi2_min"]

    band = intervals_1d(fixed["x"], fixed["delta"], DCHI2_90_2D, f=chi2_sin2w, boundaries=(0.0, None))
    extra["sin2w_width_2d_band"] = sum(i.hi - i.lo for i in band)
    # The paper's magnetic-moment limits with the flux normalisation it prints (r = 0.08).
    lik_r = likelihood(build(name, preset, nu_per_pot=_published(name, "nu_per_pot_printed")))
    extra["mu_nu_limit_printed_flux"] = {
        p: max(hi for _, hi in _one_d(lik_r, p, _GRIDS["mu_nu"], boundaries=(0.0, None))["intervals"])
        for p in ("mu_nu_e", "mu_nu_mu", "mu_nu_mubar")
    }
    tick()
    lik_bl = likelihood(build(name, preset, zprime_couplings="b-l"))
    med = {
        "zprime": _mediator(lik, "zprime"),
        "zprime_bl": _mediator(lik_bl, "zprime"),
        "scalar": _mediator(lik, "scalar"),
    }
    tick()
    summary = _summary(an, lik, one, med)
    summary["extra"] = extra
    return summary, {"one_d": one, "two_d": two, "mediators": med, "analysis": an}


#: The combined section: CsI 2017 with the new quenching factor and CENNS-10 LAr, fitted together.
COMBINED = "csi2017-newqf+lar2020"


def run_combined(preset: str, tick=lambda *_: None) -> tuple[dict, dict]:
    """CsI 2017 (new QF) and LAr 2020 combined (:func:`jcevns.combine`: shared physics, each
    experiment's own pulls), beside each alone: sin2w and the ee NSI couplings (1D and the
    (eps_ee_d, eps_ee_u) plane) and the universal Z' exclusion. Returns ``(summary, curves)``
    with the fields of a single analysis; ``curves`` holds the three fits for the figures.

    Every fit here, alone or combined, uses the combination's reference ``sin2w`` (that of the
    first component, Papoulias 2020) so that the three curves differ only by the data."""
    from .combined import combine

    liks = {name: likelihood(build(name, preset)) for name in COMBINED.split("+")}
    liks[COMBINED] = combine(*liks.values())
    sin2w = float(liks[COMBINED].analysis.params().sin2w)
    curves = {}
    for name, lik in liks.items():
        base = lik.analysis.params(sin2w=sin2w)
        one = {p: _one_d(lik, p, _GRIDS["sin2w"] if p == "sin2w" else _EPS, base=base)
               for p in ("sin2w", "eps_ee_u", "eps_ee_d")}
        two = {"nsi_ee": _two_d(lik, ("eps_ee_d", "eps_ee_u"), (_NSI_2D, _NSI_2D), base=base)}
        curves[name] = {"one_d": one, "two_d": two, "mediators": {"zprime": _mediator(lik, "zprime")}}
        tick()
    c = curves[COMBINED]
    summary = _summary(liks[COMBINED].analysis, liks[COMBINED], c["one_d"], c["mediators"])
    summary["alone"] = {
        name: {"best_fit": {p: r["best"] for p, r in curves[name]["one_d"].items()},
               "intervals_90": {p: r["intervals"] for p, r in curves[name]["one_d"].items()}}
        for name in liks if name != COMBINED
    }
    summary["nsi_ee_best"] = c["two_d"]["nsi_ee"]["best"]
    return summary, curves


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
            k: {"m_mev": [float(m) for m in v["m_mev"]], "g_excluded_min": json_safe(v["g_excluded_min"])}
            for k, v in med.items()
        },
    }


def _recipe(name: str) -> str | None:
    """The reproduction recipe of a registered experiment; ``None`` for other results keys, such as
    the combination ``a+b``."""
    return experiments.get(name).reproduction if name in experiments.names() else None

"""Background templates of the CsI 2021 analysis and the fits that establish them from the release.

* Steady state (SS): measured in the anti-coincidence (AC) window. Only ~6 AC events fall in an
  average (PE, t) bin, so the binned AC histogram would carry its Poisson noise into the signal
  fit. Instead the SS template is a smooth function fitted to the AC events: in PE a turn-on times
  an exponential of a cubic (:func:`ss_pe_density`, unbinned maximum likelihood), in time the
  release's time efficiency (a random-coincidence rate is constant in time, and the same
  time-dependent cut acts on it), normalised to the AC count in the ROI. The fits and their
  quality are checked by :func:`ss_pe_fit_quality` and :func:`ss_time_test`.
* Beam-related neutrons (BRN) and neutrino-induced neutrons (NIN): the release's PE and time
  distributions (``brnPE``/``brnTrec``, ``ninPE``/``ninTrec``) as a product, times the time
  efficiency, normalised to 18.4 and 5.6 events in the ROI.
* Time zero: the neutrino-induced neutrons follow the neutrino arrival times (dominated by nu_e
  charged-current interactions in lead, i.e. the delayed muon-decay neutrinos), so the POT pulse
  position on the data's time axis is the fit of the SNS timing model to ``ninTrec``
  (:func:`fit_time_zero`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares, minimize
from scipy.stats import chi2 as chi2_dist

from .. import timing
from . import csi2021 as base

_X_SCALE = 60.0


def ss_pe_density(x, theta):
    """Unnormalised SS PE density: ``exp(c1 u + c2 u^2 + c3 u^3) / (1 + exp(-(x - x0) / w))``,
    ``u = x / 60``; ``theta = (x0, log w, c1, c2, c3)``."""
    x = np.asarray(x, dtype=np.float64)
    x0, log_w, *c = theta
    u = x / _X_SCALE
    poly = sum(ci * u ** (i + 1) for i, ci in enumerate(c))
    return np.exp(poly - np.logaddexp(0.0, -(x - x0) / np.exp(log_w)))


def _norm(theta, lo=0.0, hi=60.0, n=2401):
    x = np.linspace(lo, hi, n)
    return np.trapezoid(ss_pe_density(x, theta), x)


def fit_ss_pe(pe) -> np.ndarray:
    """Unbinned maximum-likelihood fit of :func:`ss_pe_density` to AC events in ``[0, 60)`` PE."""
    pe = np.asarray(pe, dtype=np.float64)

    def nll(theta):
        return -np.sum(np.log(ss_pe_density(pe, theta))) + pe.size * np.log(_norm(theta))

    res = minimize(nll, np.array([8.0, 0.0, -0.5, 0.0, 0.0]), method="Nelder-Mead",
                   options=dict(maxiter=20000, maxfev=20000, xatol=1e-7, fatol=1e-9))
    res = minimize(nll, res.x, method="BFGS")
    return res.x


def ss_pe_probabilities(theta, edges=base.PE_EDGES) -> np.ndarray:
    """Probability of each PE bin under the fitted SS density (normalised over the ROI)."""
    per_bin = np.array([_norm(theta, a, b, 401) for a, b in zip(edges[:-1], edges[1:])])
    return per_bin / per_bin.sum()  # the edges span the ROI


def ss_pe_fit_quality(theta, pe, edges=np.arange(0.0, 60.1, 2.0)) -> dict:
    """Pearson chi-square of the SS PE fit in 2-PE bins (bins with expectation >= 5)."""
    counts = np.histogram(pe, bins=edges)[0]
    expected = len(pe) * ss_pe_probabilities(theta, edges)
    ok = expected >= 5
    chi2 = float(np.sum((counts[ok] - expected[ok]) ** 2 / expected[ok]))
    ndf = int(ok.sum() - len(theta) - 1)
    return {"chi2": chi2, "ndf": ndf, "p_value": float(chi2_dist.sf(chi2, ndf))}


def _time_shape_nll(t, slope):
    """Unbinned -ln L of times on [0, 6) us for density ~ eps_T(t)^(slope / 0.0494)."""
    te = base.constants()["time_efficiency"]
    grid = np.linspace(0.0, base.T_EDGES_US[-1], 6001)
    k = slope / te["slope_per_us"]
    norm = np.trapezoid(base.time_efficiency(grid) ** k, grid)
    return -np.sum(k * np.log(base.time_efficiency(t))) + t.size * np.log(norm)


def ss_time_test(t) -> dict:
    """Compare the AC arrival times with a flat distribution and with the time efficiency
    (a free exponential slope after 0.52 us): likelihood ratios and the fitted slope [1/us]."""
    t = np.asarray(t, dtype=np.float64)
    nominal = base.constants()["time_efficiency"]["slope_per_us"]
    best = minimize(lambda s: _time_shape_nll(t, s[0]), [nominal], method="Nelder-Mead").x[0]
    curv = (_time_shape_nll(t, best + 1e-3) - 2 * _time_shape_nll(t, best) + _time_shape_nll(t, best - 1e-3)) / 1e-6
    d_flat = 2 * (_time_shape_nll(t, 0.0) - _time_shape_nll(t, best))
    d_eff = 2 * (_time_shape_nll(t, nominal) - _time_shape_nll(t, best))
    return {
        "fitted_slope_per_us": float(best),
        "slope_error_per_us": float(1.0 / np.sqrt(curv)),
        "delta_2lnl_flat": float(d_flat),
        "p_value_flat": float(chi2_dist.sf(d_flat, 1)),
        "delta_2lnl_time_efficiency": float(d_eff),
        "p_value_time_efficiency": float(chi2_dist.sf(d_eff, 1)),
    }


def ss_time_probabilities(edges=base.T_EDGES_US, sub_bins: int = 50) -> np.ndarray:
    """Probability of each time bin for a constant rate times the time efficiency."""
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        x = np.linspace(a, b, sub_bins + 1)
        out.append(np.mean(base.time_efficiency(0.5 * (x[1:] + x[:-1]))) * (b - a))
    out = np.array(out)
    return out / out.sum()


def ss_template(theta=None, n_roi=None) -> np.ndarray:
    """Smooth SS template ``(n_PE * n_t,)`` normalised to the AC events in the ROI."""
    theta = np.asarray(base.constants()["ss_pe_fit"]["theta"] if theta is None else theta)
    n_roi = base.histogram("AC").sum() if n_roi is None else n_roi
    return (n_roi * np.outer(ss_pe_probabilities(theta), ss_time_probabilities())).ravel()


def _rebin_pe(name: str) -> np.ndarray:
    centre, w = base.release_file(name).T
    return np.histogram(centre, bins=base.PE_EDGES, weights=w)[0]


def _rebin_time(name: str, shift_us: float = 0.0) -> np.ndarray:
    """Release time template (10-ns bins) shifted by ``shift_us``, times the time efficiency,
    integrated over the analysis time bins (shift by linear interpolation of the cumulative)."""
    centre, w = base.release_file(name).T
    edges = np.append(centre - 0.005, centre[-1] + 0.005) + shift_us
    cum = np.concatenate([[0.0], np.cumsum(w)])
    fine = np.linspace(0.0, base.T_EDGES_US[-1], 6001)
    per_fine = np.diff(np.interp(fine, edges, cum)) * base.time_efficiency(0.5 * (fine[1:] + fine[:-1]))
    index = np.searchsorted(base.T_EDGES_US, 0.5 * (fine[1:] + fine[:-1]), side="right") - 1
    return np.bincount(index, weights=per_fine, minlength=base.T_EDGES_US.size - 1)


def neutron_template(kind: str, shift_us: float = 0.0) -> np.ndarray:
    """BRN or NIN template ``(n_PE * n_t,)`` normalised to its ROI count (``kind``: "brn"/"nin")."""
    if kind not in ("brn", "nin"):
        raise ValueError(f"kind must be 'brn' or 'nin', got {kind!r}")
    pe, t = _rebin_pe(f"{kind}PE"), _rebin_time(f"{kind}Trec", shift_us)
    total = base.constants()["backgrounds"][f"{kind}_roi"]
    nominal_t = _rebin_time(f"{kind}Trec")
    # normalised at zero shift, so a shift moves events in or out of the ROI
    return (total * np.outer(pe / pe.sum(), t / nominal_t.sum())).ravel()


def fit_time_zero(pot_sigma_us: float = 0.15) -> dict:
    """Fit ``ninTrec`` with the SNS timing model (prompt fraction, POT mean, scale)."""
    centre, w = base.release_file("ninTrec").T
    edges = np.append(centre - 0.005, centre[-1] + 0.005)

    def model(p):
        n, f, mu = p
        fr = np.asarray(timing.bin_fractions(edges, mu, pot_sigma_us))
        return n * (f * fr[0] + (1 - f) * 0.5 * (fr[1] + fr[2]))

    # weights: relative errors, floor at 1e-3 of the peak
    res = least_squares(lambda p: (model(p) - w) / np.sqrt(w + 1e-3 * w.max()), [w.sum(), 0.1, 0.5],
                        bounds=([0, 0, -1], [np.inf, 1, 3]))
    resid = model(res.x) - w
    return {
        "pot_mean_us": float(res.x[2]),
        "prompt_fraction": float(res.x[1]),
        "rms_residual_over_peak": float(np.sqrt(np.mean(resid**2)) / w.max()),
    }

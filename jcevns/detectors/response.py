"""Reusable detector-response pieces (numpy, evaluated once when an analysis is built).

* :func:`quenching_polynomial`: electron-equivalent energy as a polynomial in the recoil energy
  without constant term, the form of COHERENT's CsI[Na] scintillation response
  (Akimov et al., PRL 129 (2022) 081801, arXiv:2110.07730, ancillary ``scintRespCoefficients.txt``).
* :func:`logistic_efficiency`: ``a / (1 + exp(-b (x - c))) + d`` clipped to ``[0, 1]`` and zero
  at and above an upper cut (ancillary ``effCoefficients.txt`` of the same release).
* :func:`gamma_pe_pdf` and :func:`gamma_smearing_matrix`: the Gamma-distributed number of
  photoelectrons of the same release,

      P(x | a, b) = (a (1 + b))^(1 + b) / Gamma(1 + b) * x^b * exp(-a (1 + b) x),

  a Gamma law of shape ``1 + b`` and rate ``a (1 + b)``: mean ``1 / a`` and variance
  ``1 / (a^2 (1 + b))``. COHERENT parametrises ``a = 0.0749 / E_ee`` and ``b = 9.56 E_ee``
  (``E_ee`` in keVee), i.e. a mean of ``E_ee / 0.0749 = 13.35 E_ee`` photoelectrons: the light
  yield. Here ``a = 1 / mean`` exactly, so that the mean is the light yield times ``E_ee``.
* :func:`linear_quenching` and :func:`gaussian_bin_response`: a quenching factor linear in the
  recoil and Gaussian smearing with an efficiency at reconstructed energy (COHERENT CENNS-10,
  data release arXiv:2006.12659).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ndtr


def quenching_polynomial(t_mev, coefficients):
    """``E_ee = sum_i c_i T^(i+1)`` [MeVee] for recoil ``T`` [MeVnr]."""
    t = np.asarray(t_mev, dtype=np.float64)
    return sum(c * t ** (i + 1) for i, c in enumerate(coefficients))


def logistic_efficiency(x, a, b, c, d, x_max=np.inf):
    """``a / (1 + exp(-b (x - c))) + d`` clipped to ``[0, 1]``, zero for ``x >= x_max``."""
    x = np.asarray(x, dtype=np.float64)
    eff = np.clip(a / (1.0 + np.exp(-b * (x - c))) + d, 0.0, 1.0)
    return np.where(x < x_max, eff, 0.0)


def logistic_zero(a, b, c, d) -> float:
    """The ``x`` where ``a / (1 + exp(-b (x - c))) + d`` crosses zero (the clip's kink)."""
    return float(c - np.log(a / -d - 1.0) / b)


def gamma_pe_pdf(x_pe, mean_pe, b):
    """Density of the reconstructed PE ``x`` for a mean ``mean_pe`` and shape parameter ``b``."""
    x = np.asarray(x_pe, dtype=np.float64)
    mean = np.asarray(mean_pe, dtype=np.float64)
    k = 1.0 + np.asarray(b, dtype=np.float64)
    rate = k / mean
    with np.errstate(divide="ignore"):
        log_pdf = k * np.log(rate) - gammaln(k) + (k - 1.0) * np.log(x) - rate * x
    return np.where(x > 0, np.exp(log_pdf), 0.0)


def gamma_smearing_matrix(mean_pe, b, pe_edges, efficiency=None, breakpoints=(), n_nodes: int = 8, step: float = 1.0):
    """``M[e, j] = int_{bin e} P(x | mean_pe[j], b[j]) eff(x) dx``, shape ``(n_bins, n_means)``.

    The integral over reconstructed PE uses Gauss-Legendre panels of width ``<= step`` split at
    ``breakpoints`` (kinks of ``efficiency``), so a clipped efficiency is integrated exactly up
    to the smoothness of the Gamma density.

    Args:
        mean_pe: mean PE per recoil node, shape ``(n,)`` (positive).
        b: Gamma shape parameter per node (``b >= 0``).
        pe_edges: increasing bin edges in reconstructed PE.
        efficiency: optional numpy function of the reconstructed PE.
    """
    from ..quadrature import gauss_legendre_panels

    edges = np.asarray(pe_edges, dtype=np.float64)
    fine = np.unique(np.concatenate([np.arange(edges[0], edges[-1], step), edges]))
    x, w, _ = gauss_legendre_panels(fine, breakpoints, n_nodes, min_panel_width=1e-9)
    weight = w * (efficiency(x) if efficiency is not None else 1.0)
    pdf = gamma_pe_pdf(x[:, None], np.asarray(mean_pe)[None, :], np.asarray(b)[None, :])  # (n_x, n)
    index = np.searchsorted(edges, x, side="right") - 1
    out = np.zeros((edges.size - 1, pdf.shape[1]))
    np.add.at(out, index, weight[:, None] * pdf)
    return out


def linear_quenching(t_kevnr, a: float, b_per_kevnr: float):
    """Electron-equivalent energy [keVee] for a quenching factor linear in the recoil,
    ``E_ee = (a + b T) T`` with ``T`` in keVnr."""
    t = np.asarray(t_kevnr, dtype=np.float64)
    return (a + b_per_kevnr * t) * t


def gaussian_bin_response(mean, sigma, edges, efficiency=None, step: float | None = None):
    """Probability that a Gaussian-smeared energy lands in each bin, weighted by an efficiency
    evaluated at the reconstructed energy.

    ``R[k, j] = int_{edges[k]}^{edges[k+1]} eff(E) N(E; mean_j, sigma_j) dE``.

    Args:
        mean: true energies, shape ``(n,)``.
        sigma: resolutions at those energies, shape ``(n,)`` (``sigma > 0``).
        edges: increasing reconstructed-energy bin edges, ``(n_bins + 1,)``.
        efficiency: numpy function of reconstructed energy, or ``None`` (exact erf differences).
        step: largest integration step for the efficiency-weighted case (composite Simpson
            rule, an even number of intervals per bin); default a tenth of the smallest
            ``sigma``. For a piecewise-linear efficiency choose it so that the knots fall on
            every other grid point, which keeps the rule fourth order.

    Returns:
        ``(n_bins, n)`` array.
    """
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    sigma = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    edges = np.asarray(edges, dtype=np.float64)
    if np.any(sigma <= 0) or np.any(~np.isfinite(mean)):
        raise ValueError("sigma must be positive and mean finite")
    if efficiency is None:
        cdf = ndtr((edges[:, None] - mean[None, :]) / sigma[None, :])
        return np.diff(cdf, axis=0)
    h = float(np.min(sigma)) / 10.0 if step is None else step
    out = np.zeros((edges.size - 1, mean.size))
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        n = 2 * max(int(np.ceil((hi - lo) / (2 * h) - 1e-9)), 1)
        x = np.linspace(lo, hi, n + 1)
        w = np.full(x.size, 2.0)
        w[1::2] = 4.0
        w[[0, -1]] = 1.0
        w *= (hi - lo) / n / 3.0
        dens = np.exp(-0.5 * ((x[:, None] - mean[None, :]) / sigma[None, :]) ** 2) / (np.sqrt(2 * np.pi) * sigma)
        out[k] = (w * efficiency(x)) @ dens
    return out

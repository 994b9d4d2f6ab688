"""Detector-response building blocks shared by the experiments (numpy, built once, outside jit).

Each function maps true deposited energies to probabilities in reconstructed-energy bins; an
experiment multiplies them by quadrature weights to get its bin matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


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
        mean, sigma: true energies and resolutions, shape ``(n,)`` (``sigma > 0``).
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

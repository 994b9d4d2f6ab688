"""Fixed Gauss-Legendre panel grids for the recoil-energy integral.

Grids are built once per analysis, in numpy, outside jit. Each analysis bin ``[lo, hi]`` is
split at every breakpoint inside it (kinematic end points, the prompt-line edge, knots of
tabulated efficiencies) and each panel gets ``n`` Gauss-Legendre nodes, so the integrand is
smooth on every panel and the rule converges exponentially.
"""

from __future__ import annotations

import numpy as np


def gauss_legendre_panels(edges, breakpoints, n_nodes: int, min_panel_width: float = 0.0):
    """Nodes and weights of a composite Gauss-Legendre rule over consecutive bins.

    Args:
        edges: increasing bin edges, shape ``(n_bins + 1,)``.
        breakpoints: points where the integrand is not smooth; those strictly inside a bin
            split it into panels.
        n_nodes: Gauss-Legendre nodes per panel.
        min_panel_width: panels narrower than this are merged into their neighbour (avoids
            degenerate panels when a breakpoint almost coincides with an edge).

    Returns:
        ``(nodes, weights, bin_index)``, flat arrays; ``bin_index[j]`` is the bin of node ``j``.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be a strictly increasing 1D array with at least 2 entries")
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    bps = np.sort(np.asarray(breakpoints, dtype=np.float64))
    nodes, weights, index = [], [], []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        cuts = [lo] + [b for b in bps if lo + min_panel_width < b < hi - min_panel_width] + [hi]
        for a, b in zip(cuts[:-1], cuts[1:]):
            half = 0.5 * (b - a)
            nodes.append(a + half * (x + 1.0))
            weights.append(half * w)
            index.append(np.full(n_nodes, i))
    return np.concatenate(nodes), np.concatenate(weights), np.concatenate(index)


def bin_matrix(weights, bin_index, n_bins: int, response=None):
    """Dense ``(n_bins, n_nodes)`` matrix ``W`` so that ``W @ f(nodes)`` integrates each bin.

    Args:
        weights: quadrature weights per node.
        bin_index: bin of each node.
        n_bins: number of bins.
        response: optional detector response per node (acceptance, efficiency), multiplied in.
    """
    w = np.asarray(weights, dtype=np.float64)
    if response is not None:
        w = w * np.asarray(response, dtype=np.float64)
    mat = np.zeros((n_bins, w.size))
    mat[np.asarray(bin_index), np.arange(w.size)] = w
    return mat

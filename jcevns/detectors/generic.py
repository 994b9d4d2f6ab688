"""A parametrised detector response for user-defined experiments (TOML descriptions).

A nuclear recoil of energy ``T`` becomes a reconstructed observable in three steps:

1. quenching, ``E_ee(T)`` [keVee] with ``T`` in keVnr: ``"none"`` (``E_ee = T``), ``"constant"``
   (``E_ee = q T``), ``"polynomial"`` (``E_ee = sum_i c_i T^(i+1)``, the form COHERENT uses
   for CsI[Na], arXiv:2110.07730) or ``"lindhard"`` (Lindhard et al., Mat. Fys. Medd. Dan. Vid.
   Selsk. 33 (1963) 10: ``E_ee = T k g / (1 + k g)``, ``g = 3 eps^0.15 + 0.7 eps^0.6 + eps``,
   ``eps = 11.5 Z^(-7/3) T/keV``);
2. the mean observable: ``keVnr`` (``T``), ``keVee`` (``E_ee``) or ``PE``
   (``light_yield_pe_per_kevee * E_ee``);
3. resolution: ``"none"``, ``"gaussian"`` (``sigma = a sqrt(x) + b x`` in the observable's
   units) or ``"poisson"`` (photoelectron counting: a Gamma density of mean ``x`` and variance
   ``x``, the continuous form of a Poisson number of PE), and an efficiency in the
   reconstructed observable: a table (linear interpolation, the end values outside it) and/or
   a step at a threshold.

Everything here is numpy, evaluated once when an analysis is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, ndtr

from ..quadrature import gauss_legendre_panels
from . import Detector

QUENCHING = ("none", "constant", "polynomial", "lindhard")
OBSERVABLES = ("keVnr", "keVee", "PE")
RESOLUTIONS = ("none", "gaussian", "poisson")
#: Largest recoil [keVnr] the response is evaluated at (SNS neutrinos, 52.8 MeV, on a nucleus as
#: light as carbon stay below ~500 keVnr).
T_MAX_KEVNR = 1000.0


@dataclass(frozen=True)
class GenericOptions:
    """The response parameters (validated by the TOML loader, which names the file and field).

    Attributes:
        mass_kg: target mass [kg].
        observable: ``"keVnr"``, ``"keVee"`` or ``"PE"``.
        edges: increasing bin edges in the observable.
        quenching: one of :data:`QUENCHING`; ``qf`` the constant, ``qf_polynomial`` the
            coefficients (``T`` in keVnr, ``E_ee`` in keVee), ``lindhard_k`` and ``lindhard_z``.
        light_yield_pe_per_kevee: PE per keVee (observable ``"PE"``).
        resolution: one of :data:`RESOLUTIONS`; ``resolution_sqrt`` (``a``) and
            ``resolution_linear`` (``b``) of the Gaussian width ``a sqrt(x) + b x``.
        efficiency_x, efficiency: efficiency table in the reconstructed observable (values in [0, 1]).
        threshold: efficiency 0 below, 1 above this reconstructed value (``None``: no step).
    """

    mass_kg: float
    observable: str = "keVnr"
    edges: tuple[float, ...] = ()
    quenching: str = "none"
    qf: float = 1.0
    qf_polynomial: tuple[float, ...] = ()
    lindhard_k: float = 0.157
    lindhard_z: int = 18
    light_yield_pe_per_kevee: float = 1.0
    resolution: str = "none"
    resolution_sqrt: float = 0.0
    resolution_linear: float = 0.0
    efficiency_x: tuple[float, ...] = ()
    efficiency: tuple[float, ...] = field(default=())
    threshold: float | None = None

    def __post_init__(self):
        # the TOML loader checks the file with file and field names; this guards option overrides
        for name, allowed in (("observable", OBSERVABLES), ("quenching", QUENCHING), ("resolution", RESOLUTIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"option {name} must be one of {allowed}, got {getattr(self, name)!r}")
        e = np.asarray(self.edges, dtype=np.float64)
        if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0) or e[0] < 0:
            raise ValueError(f"option edges must be non-negative and strictly increasing, got {self.edges!r}")
        if len(self.efficiency) != len(self.efficiency_x) or any(not 0.0 <= v <= 1.0 for v in self.efficiency):
            raise ValueError("option efficiency must have one value in [0, 1] per efficiency_x entry")
        for name in ("qf", "light_yield_pe_per_kevee", "lindhard_k"):
            if not getattr(self, name) > 0:
                raise ValueError(f"option {name} must be positive, got {getattr(self, name)!r}")


def electron_equivalent_kev(t_kev, o: GenericOptions):
    """``E_ee`` [keVee] for recoil ``T`` [keVnr]."""
    t = np.asarray(t_kev, dtype=np.float64)
    if o.quenching == "none":
        return t
    if o.quenching == "constant":
        return o.qf * t
    if o.quenching == "polynomial":
        return sum(c * t ** (i + 1) for i, c in enumerate(o.qf_polynomial))
    eps = 11.5 * o.lindhard_z ** (-7.0 / 3.0) * t
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return t * o.lindhard_k * g / (1.0 + o.lindhard_k * g)


def mean_observable(t_mev, o: GenericOptions):
    """Mean reconstructed observable for recoil ``T`` [MeV]."""
    t_kev = np.asarray(t_mev, dtype=np.float64) * 1e3
    if o.observable == "keVnr":
        return t_kev
    ee = electron_equivalent_kev(t_kev, o)
    return ee if o.observable == "keVee" else o.light_yield_pe_per_kevee * ee


def efficiency(x, o: GenericOptions):
    """Efficiency at reconstructed observable ``x``: the table times the threshold step."""
    x = np.asarray(x, dtype=np.float64)
    eff = np.ones_like(x)
    if o.efficiency:
        eff = np.interp(x, o.efficiency_x, o.efficiency)
    if o.threshold is not None:
        eff = np.where(x >= o.threshold, eff, 0.0)
    return eff


def _efficiency_kinks(o: GenericOptions) -> list[float]:
    return list(o.efficiency_x) + ([o.threshold] if o.threshold is not None else [])


def recoil_for(x: float, o: GenericOptions) -> float:
    """Recoil energy [MeV] whose mean observable is ``x`` (the quenching must be increasing)."""
    f = lambda t: float(mean_observable(t, o)) - x  # noqa: E731
    hi = T_MAX_KEVNR * 1e-3
    if f(hi) < 0:
        return hi
    return brentq(f, 1e-12, hi, xtol=1e-16, rtol=1e-14)


def check_monotonic(o: GenericOptions) -> bool:
    """Whether the mean observable increases with the recoil energy on (0, T_MAX_KEVNR]."""
    t = np.geomspace(1e-6, T_MAX_KEVNR * 1e-3, 2000)
    return bool(np.all(np.diff(mean_observable(t, o)) > 0))


def _pdf(x, mean, o: GenericOptions):
    """Density of the reconstructed observable ``x`` around ``mean`` (broadcasting)."""
    if o.resolution == "gaussian":
        sigma = np.maximum(o.resolution_sqrt * np.sqrt(mean) + o.resolution_linear * mean, 1e-300)
        return np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma)
    k = np.maximum(mean, 1e-300)  # Gamma(shape = mean, rate = 1): mean and variance = mean
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pdf = (k - 1.0) * np.log(x) - x - gammaln(k)
    return np.where(x > 0, np.exp(log_pdf), 0.0)


def _smearing(t_mev, o: GenericOptions):
    """``(n_bins, n)``: probability of each reconstructed bin times its efficiency, per recoil."""
    edges = np.asarray(o.edges, dtype=np.float64)
    mean = mean_observable(t_mev, o)
    if o.resolution == "gaussian" and not (o.efficiency or o.threshold is not None):
        sigma = np.maximum(o.resolution_sqrt * np.sqrt(mean) + o.resolution_linear * mean, 1e-300)
        cdf = ndtr((edges[:, None] - mean[None, :]) / sigma[None, :])
        return np.diff(cdf, axis=0)
    # reconstructed-observable quadrature on fine panels split at the efficiency kinks
    step = max((edges[-1] - edges[0]) / 400.0, 1e-3)
    fine = np.unique(np.concatenate([np.arange(edges[0], edges[-1], step), edges]))
    x, w, index = gauss_legendre_panels(fine, [k for k in _efficiency_kinks(o) if edges[0] < k < edges[-1]], 8)
    bins = np.searchsorted(edges, x, side="right") - 1
    weight = w * efficiency(x, o)
    out = np.zeros((edges.size - 1, mean.size))
    np.add.at(out, bins, weight[:, None] * _pdf(x[:, None], mean[None, :], o))
    return out


def build(o: GenericOptions, nuclei, n_targets, name: str = "user-defined detector") -> Detector:
    """The :class:`~jcevns.detectors.Detector` of a parametrised response."""
    edges = tuple(float(x) for x in o.edges)
    if o.resolution == "none":
        t_edges = tuple(recoil_for(x, o) for x in edges)
        kinks = [recoil_for(k, o) for k in _efficiency_kinks(o) if edges[0] < k < edges[-1]]
        return Detector(
            name=name,
            nuclei=tuple(nuclei),
            n_targets=tuple(n_targets),
            t_edges_mev=t_edges,
            observable=o.observable,
            obs_edges=edges,
            response=lambda t: efficiency(mean_observable(t, o), o),
            breakpoints_mev=tuple(kinks),
        )
    # With smearing, recoils from near zero up to well above the last edge contribute.
    width = o.resolution_sqrt * math.sqrt(edges[-1]) + o.resolution_linear * edges[-1]
    if o.resolution == "poisson":
        width = math.sqrt(edges[-1])
    lo = recoil_for(max(edges[0] - 6.0 * width, 1e-3 * max(edges[0], 1e-3)), o)
    hi = recoil_for(edges[-1] + 6.0 * width + 1.0, o)
    inner = [recoil_for(x, o) for x in edges]
    panels = sorted(set(np.geomspace(lo, hi, 41).tolist()) | {t for t in inner if lo < t < hi})
    return Detector(
        name=name,
        nuclei=tuple(nuclei),
        n_targets=tuple(n_targets),
        t_edges_mev=tuple(panels),
        observable=o.observable,
        obs_edges=edges,
        response=lambda t: np.ones_like(np.asarray(t, dtype=np.float64)),
        smearing=lambda t: _smearing(t, o),
    )

"""Arrival times of the SNS pion-decay-at-rest neutrinos.

The proton pulse on target is a Gaussian in time (mean ``pot_mean_us``, width ``pot_sigma_us``;
COHERENT CENNS-10 data release, ``LArParametersAnlA.yaml`` key ``snsPOTTraceTiming``: mean
440 +- 200 ns, width 150 ns; Zenodo 10.5281/zenodo.3903810, arXiv:2006.12659). A stopped pi+
decays after an exponential time with the pion lifetime; its nu_mu is the prompt flavour. The
mu+ then decays after a second exponential time with the muon lifetime and emits the delayed
nu_mu-bar and nu_e. Flight times (about 0.1 us over 20-30 m) are common to all flavours and
belong in ``offset_us``.

So the prompt arrival time is a Gaussian convolved with one exponential (an exponentially
modified Gaussian, EMG) and the delayed time a Gaussian convolved with the hypoexponential
density ``(exp(-t/tau_mu) - exp(-t/tau_pi)) / (tau_mu - tau_pi)``, whose CDF is the linear
combination ``(tau_mu F_mu - tau_pi F_pi) / (tau_mu - tau_pi)`` of two EMG CDFs. Everything is
closed form, differentiable in every argument, and numerically stable far in both tails
(the exponential factor is combined with ``log_ndtr`` instead of multiplying an overflowing
exponential by a vanishing normal CDF).

Flavour order is :data:`jcevns.flux.FLAVOURS` (prompt nu_mu, delayed nu_mu-bar, delayed nu_e).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr

#: pi+ mean lifetime [us]: 2.6033e-8 s; PDG (R.L. Workman et al., PTEP 2022 083C01).
TAU_PION_US = 2.6033e-2
#: mu+ mean lifetime [us]: 2.1969811e-6 s; PDG (R.L. Workman et al., PTEP 2022 083C01).
TAU_MUON_US = 2.1969811

#: Which flavours are delayed (muon decay), in :data:`jcevns.flux.FLAVOURS` order.
DELAYED = (False, True, True)


def emg_cdf(t, mean, sigma, tau):
    """CDF of a Gaussian ``N(mean, sigma)`` plus an independent exponential of mean ``tau``.

    ``Phi(z) - exp(-(t - mean)/tau + sigma^2 / (2 tau^2)) Phi(z - sigma/tau)``, with
    ``z = (t - mean) / sigma``; the second term is evaluated as ``exp(A + log Phi(B))``.
    """
    z = (t - mean) / sigma
    k = sigma / tau
    correction = jnp.exp(-k * z + 0.5 * k * k + log_ndtr(z - k))
    return ndtr(z) - correction


def emg_pdf(t, mean, sigma, tau):
    """Density of :func:`emg_cdf`: ``exp(-(t - mean)/tau + sigma^2/(2 tau^2)) Phi(z - sigma/tau) / tau``."""
    z = (t - mean) / sigma
    k = sigma / tau
    return jnp.exp(-k * z + 0.5 * k * k + log_ndtr(z - k)) / tau


def _mix(fn, t, delayed: bool, mean, sigma):
    """Prompt: one EMG; delayed: the hypoexponential combination of two EMGs."""
    if not delayed:
        return fn(t, mean, sigma, TAU_PION_US)
    a, b = TAU_MUON_US, TAU_PION_US
    return (a * fn(t, mean, sigma, a) - b * fn(t, mean, sigma, b)) / (a - b)


def _cdf(t, delayed: bool, mean, sigma):
    return _mix(emg_cdf, t, delayed, mean, sigma)


def arrival_time_cdf(t_us, flavour_index: int, pot_mean_us, pot_sigma_us, offset_us=0.0):
    """Probability that a neutrino of one flavour arrives before ``t_us``.

    Args:
        t_us: time [us] (any shape), on the clock where the proton pulse has mean
            ``pot_mean_us + offset_us``.
        flavour_index: 0 (prompt nu_mu), 1 (nu_mu-bar) or 2 (nu_e); static.
        pot_mean_us: mean of the Gaussian proton pulse [us].
        pot_sigma_us: width (standard deviation) of the Gaussian proton pulse [us].
        offset_us: shift of the whole distribution (flight time, clock offset) [us].

    Returns:
        The CDF, same shape as ``t_us``; NaN where ``pot_sigma_us <= 0``.

    Example:
        >>> round(float(arrival_time_cdf(1e3, 1, 0.44, 0.15)), 12)
        1.0
    """
    if flavour_index not in (0, 1, 2):
        raise ValueError(f"flavour_index must be 0, 1 or 2, got {flavour_index!r}")
    sigma = jnp.where(pot_sigma_us > 0, pot_sigma_us, jnp.nan)
    t = jnp.asarray(t_us, dtype=jnp.float64)
    return _cdf(t, DELAYED[flavour_index], pot_mean_us + offset_us, sigma)


def arrival_time_pdf(t_us, flavour_index: int, pot_mean_us, pot_sigma_us, offset_us=0.0):
    """Density [1/us] of the arrival time (the derivative of :func:`arrival_time_cdf`)."""
    if flavour_index not in (0, 1, 2):
        raise ValueError(f"flavour_index must be 0, 1 or 2, got {flavour_index!r}")
    sigma = jnp.where(pot_sigma_us > 0, pot_sigma_us, jnp.nan)
    t = jnp.asarray(t_us, dtype=jnp.float64)
    return _mix(emg_pdf, t, DELAYED[flavour_index], pot_mean_us + offset_us, sigma)


def bin_fractions(edges_us, pot_mean_us, pot_sigma_us, offset_us=0.0):
    """Fraction of each flavour's neutrinos arriving in each time bin.

    Args:
        edges_us: increasing bin edges [us], shape ``(n_t + 1,)``.
        pot_mean_us: mean of the proton pulse [us], as in :func:`arrival_time_cdf`.
        pot_sigma_us: width of the proton pulse [us].
        offset_us: shift of the whole distribution [us].

    Returns:
        ``(3, n_t)`` fractions, flavour order :data:`jcevns.flux.FLAVOURS`. Each row sums to the
        fraction inside ``[edges[0], edges[-1]]`` (the time-window efficiency).
    """
    edges = jnp.asarray(edges_us, dtype=jnp.float64)
    cdf = jnp.stack([arrival_time_cdf(edges, f, pot_mean_us, pot_sigma_us, offset_us) for f in range(3)])
    return jnp.diff(cdf, axis=1)

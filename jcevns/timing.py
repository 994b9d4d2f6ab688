"""Arrival times of the SNS pion-decay-at-rest neutrinos (closed form, differentiable).

The protons hit the target with a time profile that COHERENT approximates by a Gaussian of
mean ``a`` and width ``b`` (CENNS-10 data release, Akimov et al., PRL 126 (2021) 012002,
arXiv:2003.10630, ``LArParametersAnlA.yaml`` key ``snsPOTTraceTiming``: a = 440 +- 200 ns,
b = 150 ns, "convolved with the pi+ and mu+ neutrino decay lifetimes"). Hence

* prompt nu_mu (pi+ -> mu+ nu_mu): the Gaussian convolved with the pion decay exponential,
  an exponentially modified Gaussian (EMG);
* delayed nu_mu-bar and nu_e (mu+ -> e+ nu_e nu_mu-bar): additionally convolved with the muon
  decay exponential. The convolution of two exponentials is
  ``(exp(-t/tau_mu) - exp(-t/tau_pi)) / (tau_mu - tau_pi)``, so the CDF is the difference
  ``(tau_mu F_mu - tau_pi F_pi) / (tau_mu - tau_pi)`` of two EMG CDFs.

Lifetimes: PDG (R.L. Workman et al., PTEP 2022 083C01): tau_pi+ = 26.033 ns, tau_mu = 2.1969811 us.
The EMG CDF is evaluated in log space (``log_ndtr``) so that ``sigma / tau`` of 6 (pion
lifetime vs a 150-ns pulse) neither overflows nor loses precision. Flavour order is
:data:`jcevns.flux.FLAVOURS` (0: prompt nu_mu, 1: nu_mu-bar, 2: nu_e).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr

#: Charged-pion lifetime [us] (PDG 2022).
TAU_PION_US = 0.026033
#: Muon lifetime [us] (PDG 2022).
TAU_MUON_US = 2.1969811


def _emg_cdf(t, mean, sigma, tau):
    """CDF of a Gaussian(mean, sigma) convolved with an exponential of mean tau."""
    z = (t - mean) / sigma
    lam = sigma / tau
    # exp(-z lam + lam^2 / 2) Phi(z - lam), combined in log space (no overflow for large lam).
    tail = jnp.exp(-z * lam + 0.5 * lam**2 + log_ndtr(z - lam))
    return ndtr(z) - tail


def arrival_time_cdf(t_us, flavour_index, pot_mean_us, pot_sigma_us, offset_us=0.0):
    """Probability that a neutrino of flavour ``flavour_index`` arrives before ``t_us``.

    Args:
        t_us: time(s) [us] on the detector's time axis.
        flavour_index: 0 (prompt nu_mu) or 1, 2 (delayed nu_mu-bar, nu_e); int or int array.
        pot_mean_us, pot_sigma_us: mean and width of the Gaussian proton pulse [us].
        offset_us: shift of the whole time axis [us] (a timing nuisance).

    Returns:
        The CDF, broadcast over the inputs (jnp, differentiable in every float argument).
    """
    t = jnp.asarray(t_us, dtype=jnp.float64)
    mean = pot_mean_us + offset_us
    prompt = _emg_cdf(t, mean, pot_sigma_us, TAU_PION_US)
    f_mu = _emg_cdf(t, mean, pot_sigma_us, TAU_MUON_US)
    delayed = (TAU_MUON_US * f_mu - TAU_PION_US * prompt) / (TAU_MUON_US - TAU_PION_US)
    return jnp.where(jnp.asarray(flavour_index) == 0, prompt, delayed)


def bin_fractions(edges_us, pot_mean_us, pot_sigma_us, offset_us=0.0):
    """Fraction of each flavour's neutrinos in each time bin, shape ``(3, n_t)``."""
    edges = jnp.asarray(edges_us, dtype=jnp.float64)
    cdf = arrival_time_cdf(edges[None, :], jnp.arange(3)[:, None], pot_mean_us, pot_sigma_us, offset_us)
    return jnp.diff(cdf, axis=1)

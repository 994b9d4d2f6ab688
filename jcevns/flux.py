"""Spallation Neutron Source pion-decay-at-rest neutrino flux.

Three components (Papoulias 2020 eq. 2; Miranda et al. 2020 eqs. 2.5-2.7), each normalised to one neutrino
per flavour per proton on target before the factor ``r N_POT / (4 pi L^2)``:

* prompt nu_mu: a line at ``E_NU_PROMPT = (m_pi^2 - m_mu^2) / (2 m_pi)``;
* delayed nu_mu-bar: ``64 E^2 / m_mu^3 (3/4 - E / m_mu)`` for ``E < m_mu / 2``;
* delayed nu_e: ``192 E^2 / m_mu^3 (1/2 - E / m_mu)`` for ``E < m_mu / 2``.

Every CEvNS cross section used in jcevns is a polynomial in ``1/E`` of degree two at fixed
recoil ``T`` (see :mod:`jcevns.cross_sections`), so the neutrino-energy integral reduces to the
flux moments ``M_k(E_min) = int_{E_min} f(E) E^-k dE`` for ``k = 0, 1, 2``. For the Michel
spectra these are polynomials, computed here in closed form; the line contributes
``E_line^-k`` above threshold. No grid and no delta function on a grid is involved.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from . import constants as c

#: Flavour order used everywhere in jcevns: prompt nu_mu, delayed nu_mu-bar, delayed nu_e.
FLAVOURS = ("nu_mu", "nu_mu_bar", "nu_e")

# Michel spectra written as f(E) = (p / m^3) E^2 (q - E / m); (p, q) per delayed flavour.
_MICHEL = {"nu_mu_bar": (64.0, 0.75), "nu_e": (192.0, 0.5)}


def spectrum(flavour: str, e_nu):
    """Normalised energy spectrum of one delayed flavour [1/MeV] (Papoulias 2020 eq. 2).

    Args:
        flavour: ``"nu_mu_bar"`` or ``"nu_e"`` (the prompt line has no density).
        e_nu: neutrino energy [MeV].
    """
    if flavour not in _MICHEL:
        raise ValueError(f"flavour must be one of {tuple(_MICHEL)}, got {flavour!r}")
    p, q = _MICHEL[flavour]
    m = c.M_MUON
    e = jnp.asarray(e_nu)
    inside = (e >= 0) & (e <= c.E_NU_MAX_DELAYED)
    return jnp.where(inside, p / m**3 * e**2 * (q - e / m), 0.0)


def _michel_antiderivatives(p: float, q: float, e):
    """Antiderivatives of f(E) E^-k for k = 0, 1, 2, stacked on axis 0."""
    m = c.M_MUON
    s = p / m**3
    return jnp.stack(
        [
            s * (q * e**3 / 3.0 - e**4 / (4.0 * m)),
            s * (q * e**2 / 2.0 - e**3 / (3.0 * m)),
            s * (q * e - e**2 / (2.0 * m)),
        ]
    )


def moments(e_min):
    """Flux moments ``M_k = int_{e_min}^{E_max} f(E) E^-k dE`` per flavour.

    Args:
        e_min: minimum neutrino energy [MeV], any shape ``S``.

    Returns:
        Array of shape ``(3 flavours, 3 moments, *S)`` in units of MeV^-k per neutrino, flavour
        order :data:`FLAVOURS`.
    """
    e_min = jnp.asarray(e_min, dtype=jnp.float64)
    e_line = c.E_NU_PROMPT
    powers = jnp.array([1.0, 1.0 / e_line, 1.0 / e_line**2]).reshape((3,) + (1,) * e_min.ndim)
    prompt = powers * jnp.where(e_min < e_line, 1.0, 0.0)
    e_lo = jnp.clip(e_min, 0.0, c.E_NU_MAX_DELAYED)
    delayed = []
    for flavour in FLAVOURS[1:]:
        p, q = _MICHEL[flavour]
        delayed.append(
            _michel_antiderivatives(p, q, jnp.asarray(c.E_NU_MAX_DELAYED))
            .reshape((3,) + (1,) * e_min.ndim)
            - _michel_antiderivatives(p, q, e_lo)
        )
    return jnp.stack([prompt] + delayed)


def normalisation_per_cm2(nu_per_pot: float, n_pot: float, distance_m: float) -> float:
    """Neutrinos per flavour per cm^2, ``r N_POT / (4 pi L^2)`` (Papoulias 2020 eq. 2).

    Args:
        nu_per_pot: neutrinos per flavour per proton on target, r.
        n_pot: protons on target.
        distance_m: source-detector distance [m].
    """
    distance_cm = distance_m * 100.0
    return nu_per_pot * n_pot / (4.0 * math.pi * distance_cm**2)


def e_min(t_recoil, mass_mev):
    """Smallest neutrino energy that can give recoil ``T`` [MeV] on a nucleus of mass ``m``.

    ``E_min = (T + sqrt(T^2 + 2 m T)) / 2``, the exact inverse of
    ``T_max = 2 E^2 / (m + 2 E)``.
    """
    t = jnp.asarray(t_recoil)
    return 0.5 * (t + jnp.sqrt(t * t + 2.0 * mass_mev * t))


def t_max(e_nu, mass_mev):
    """Largest recoil [MeV] for neutrino energy ``E`` on a nucleus of mass ``m`` [MeV]."""
    return 2.0 * e_nu**2 / (mass_mev + 2.0 * e_nu)

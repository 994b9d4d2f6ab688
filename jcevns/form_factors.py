"""Nuclear form factors: Helm and Klein-Nystrand.

Both are written through ``g(u) = 3 j1(x) / x`` with ``u = x^2``. ``g`` is an entire function
of ``u``, so evaluating it as a function of ``u`` (a Taylor series at small ``u``, the closed
form elsewhere, selected with the double-``where`` trick, jax issue #1052) keeps the value
*and* the gradient finite at ``q -> 0`` and at the Helm boundary ``R_0 -> 0``.

Momenta ``q`` are in fm^-1, radii in fm. ``q = sqrt(2 m T) / (hbar c)``.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from . import constants as c

# Below this u = x^2 the 5-term Taylor series of 3 j1(x)/x is exact to double precision
# (next term u^5 / 1.9e9 < 1e-17), and the closed form would lose digits to cancellation.
_U_TAYLOR = 0.05


def j1_ratio_of_x2(u):
    """``3 j1(x) / x`` as a function of ``u = x^2`` (``u >= 0``); equals 1 at ``u = 0``."""
    u = jnp.asarray(u)
    small = u < _U_TAYLOR
    u_big = jnp.where(small, 1.0, u)
    x = jnp.sqrt(u_big)
    closed = 3.0 * (jnp.sin(x) - x * jnp.cos(x)) / (x * u_big)
    u_small = jnp.where(small, u, 0.0)
    taylor = 1.0 + u_small * (
        -1.0 / 10.0
        + u_small * (1.0 / 280.0 + u_small * (-1.0 / 15120.0 + u_small * (1.0 / 1330560.0)))
    )
    return jnp.where(small, taylor, closed)


def momentum_transfer_fm(t_recoil, mass_mev):
    """``q = sqrt(2 m T)`` [fm^-1] for recoil ``T`` [MeV] on a nucleus of mass ``m`` [MeV]."""
    return jnp.sqrt(2.0 * mass_mev * jnp.asarray(t_recoil)) / c.HBARC_MEV_FM


def helm_min_rms_radius(skin_fm: float) -> float:
    """Smallest rms radius the Helm form allows, ``sqrt(3) s`` [fm] (there ``R_0 = 0``)."""
    return math.sqrt(3.0) * skin_fm


def helm(q_fm, rms_radius_fm, skin_fm=0.9):
    """Helm form factor (Miranda et al. 2020 eq. 2.4; Papoulias 2020 eq. 12).

    ``F(q) = 3 j1(q R_0) / (q R_0) exp(-(q s)^2 / 2)`` with
    ``R_0^2 = 5/3 (R^2 - 3 s^2)``, so that ``R`` is the rms radius.

    Args:
        q_fm: momentum transfer [fm^-1].
        rms_radius_fm: rms radius R [fm]; must exceed ``sqrt(3) s`` (checked by the callers
            before tracing, see :func:`jcevns.params.validate`).
        skin_fm: surface thickness s [fm] (0.9 fm in both reference papers).
    """
    q2 = jnp.asarray(q_fm) ** 2
    r0_sq = 5.0 / 3.0 * (jnp.asarray(rms_radius_fm) ** 2 - 3.0 * skin_fm**2)
    return j1_ratio_of_x2(q2 * r0_sq) * jnp.exp(-0.5 * q2 * skin_fm**2)


def klein_nystrand(q_fm, radius_fm, yukawa_range_fm=0.7):
    """Klein-Nystrand form factor (Papoulias 2020 eq. 6; Klein & Nystrand PRC 60 014903).

    ``F(q) = 3 j1(q R_A) / (q R_A) / (1 + (q a_k)^2)``.

    Args:
        q_fm: momentum transfer [fm^-1].
        radius_fm: hard-sphere radius R_A [fm] (1.23 A^1/3 as printed, 1.2 A^1/3 originally).
        yukawa_range_fm: Yukawa range a_k [fm] (0.7 fm).
    """
    q2 = jnp.asarray(q_fm) ** 2
    return j1_ratio_of_x2(q2 * radius_fm**2) / (1.0 + q2 * yukawa_range_fm**2)


def helm_rms_from_r0(r0_fm: float, skin_fm: float = 0.9) -> float:
    """Rms radius of a Helm distribution with diffraction radius ``R_0`` (Papoulias 2020 below eq. 12)."""
    return math.sqrt(0.6 * r0_fm**2 + 3.0 * skin_fm**2)

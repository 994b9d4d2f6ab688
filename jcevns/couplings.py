"""Neutral-current vector couplings of the proton and the neutron.

``Q_W = g_p Z + g_n N`` in both conventions of the reference papers.
"""

from __future__ import annotations

from . import constants as c


def tree_level(sin2w):
    """Tree-level couplings (Miranda et al. 2020 eq. 2.3): ``g_p = 1/2 - 2 s^2``, ``g_n = -1/2``.

    Returns:
        ``(g_p, g_n)``.
    """
    return 0.5 - 2.0 * sin2w, -0.5 + 0.0 * sin2w


def radiative(sin2w):
    """Couplings with the PDG radiative corrections (Papoulias 2020 eqs. 4-5).

    ``g_p = 2 (g_u^L + g_u^R) + (g_d^L + g_d^R)``, ``g_n = (g_u^L + g_u^R) + 2 (g_d^L + g_d^R)``
    with ``rho``, ``kappa`` and the ``lambda`` of :mod:`jcevns.constants`. At
    ``sin2w = 0.2382`` this gives ``Q_W(Cs133) = -39.0`` and ``Q_W(I127) = -37.0``.

    Returns:
        ``(g_p, g_n)``.
    """
    ks2 = c.KAPPA_NU_N * sin2w
    g_u = c.RHO_NU_N * (0.5 - 4.0 / 3.0 * ks2) + c.LAMBDA_UL + c.LAMBDA_UR
    g_d = c.RHO_NU_N * (-0.5 + 2.0 / 3.0 * ks2) + c.LAMBDA_DL + c.LAMBDA_DR
    return 2.0 * g_u + g_d, g_u + 2.0 * g_d


SCHEMES = {"tree": tree_level, "radiative": radiative}


def nucleon_couplings(scheme: str, sin2w):
    """``(g_p, g_n)`` in the named scheme (``"tree"`` or ``"radiative"``)."""
    try:
        return SCHEMES[scheme](sin2w)
    except KeyError:
        raise ValueError(f"couplings must be one of {tuple(SCHEMES)}, got {scheme!r}") from None

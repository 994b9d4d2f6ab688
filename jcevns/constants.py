"""Physical constants in natural units (MeV, fm) with their sources.

Every number here is cited. Energies are in MeV, lengths in fm, unless the name
says otherwise (``_CM``, ``_M``, ``_KG``).
"""

from __future__ import annotations

import math

# --- Fundamental constants -------------------------------------------------
#: Fermi constant G_F [MeV^-2]; PDG 2018 (Tanabashi et al., PRD 98 030001), 1.1663787e-5 GeV^-2.
G_FERMI = 1.1663787e-11
#: Fine-structure constant at q = 0; Papoulias 2020 below eq. (15) and docs/conventions.md use 1/137.036
#: (CODATA 2018: 1/137.035999084).
ALPHA_EM = 1.0 / 137.036
#: hbar * c [MeV fm]; CODATA 2018.
HBARC_MEV_FM = 197.3269804
#: hbar * c [MeV cm].
HBARC_MEV_CM = HBARC_MEV_FM * 1e-13
#: Avogadro constant [1/mol]; CODATA 2018 (exact).
AVOGADRO = 6.02214076e23
#: Atomic mass unit [MeV]; CODATA 2018.
AMU_MEV = 931.49410242

# --- Particle masses [MeV]; PDG 2018 --------------------------------------
M_ELECTRON = 0.51099895
M_MUON = 105.6583745
M_PION_CHARGED = 139.57061
M_PROTON = 938.272081
M_NEUTRON = 939.565413
#: Light-quark MS-bar masses at 2 GeV [MeV], PDG 2020 (m_u = 2.16, m_d = 4.67); Miranda et al. 2020
#: eq. (3.13) needs them but does not print them (see docs/conventions.md).
M_UP_QUARK = 2.16
M_DOWN_QUARK = 4.67

# --- Derived kinematics ----------------------------------------------------
#: Prompt nu_mu energy from pi+ -> mu+ nu_mu at rest, (m_pi^2 - m_mu^2) / (2 m_pi) [MeV];
#: Papoulias 2020 eq. (2), Miranda et al. 2020 eq. (2.5).  About 29.79 MeV.
E_NU_PROMPT = (M_PION_CHARGED**2 - M_MUON**2) / (2.0 * M_PION_CHARGED)
#: End point of the mu+ decay-at-rest (Michel) spectra, m_mu / 2 [MeV]; Papoulias 2020 eq. (2).
E_NU_MAX_DELAYED = M_MUON / 2.0

# --- Unit conversions -----------------------------------------------------
#: 1 keV in MeV.
KEV = 1e-3
#: 1e-32 cm^2 expressed in MeV^-2 (charge radii are quoted in 1e-32 cm^2).
R2_UNIT_MEV2 = 1e-32 / HBARC_MEV_CM**2
#: Neutrino magnetic moments are quoted in units of 1e-10 Bohr magnetons.
MU_NU_UNIT = 1e-10

# --- Weak-coupling inputs --------------------------------------------------
#: Radiative-correction parameters of the neutrino-quark neutral current, PDG 2018 via
#: Papoulias 2020 below eq. (5): rho = 1.0082, kappa = 0.9972, lambda^{uL} = -0.0031,
#: lambda^{dL} = -0.0025, lambda^{dR} = 2 lambda^{uR} = 3.7e-5.
RHO_NU_N = 1.0082
KAPPA_NU_N = 0.9972
LAMBDA_UL = -0.0031
LAMBDA_DL = -0.0025
LAMBDA_DR = 3.7e-5
LAMBDA_UR = LAMBDA_DR / 2.0

#: sin^2 theta_W used by Papoulias 2020 inside the radiatively corrected couplings (s_Z^2, eq. 5).
SIN2W_PAPOULIAS2020 = 0.2382
#: sin^2 theta_W (MS-bar at M_Z) of Miranda et al. 2020 below eq. (2.3).
SIN2W_MIRANDA2020 = 0.2312

#: Charge-radius shift coefficient sqrt(2) pi alpha / (3 G_F) [MeV^2] as printed in Papoulias 2020
#: eq. (17) and Miranda et al. 2020 eq. (3.8); the standard (Vogel-Engel) value is half of it.
CHARGE_RADIUS_COEFF_PRINTED = math.sqrt(2.0) * math.pi * ALPHA_EM / (3.0 * G_FERMI)

# --- Scalar-mediator nucleon couplings ------------------------------------
#: Hadronic sigma-term fractions f_Tq^N from Miranda et al. 2020 below eq. (3.13) (their Ref. [57]).
F_TU_PROTON = 20.8e-3
F_TD_PROTON = 41.1e-3
F_TU_NEUTRON = 18.9e-3
F_TD_NEUTRON = 45.1e-3

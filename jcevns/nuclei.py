"""Target nuclei: proton and neutron numbers, masses, molar masses.

Masses are atomic masses from AME2020 (Wang et al., Chinese Phys. C 45 030003, 2021)
converted to nuclear masses by removing the electrons (electron binding neglected).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import constants as c


@dataclass(frozen=True)
class Nucleus:
    """A target isotope.

    Attributes:
        name: isotope label, e.g. ``"Cs133"``.
        z: proton number.
        a: mass number.
        atomic_mass_u: atomic mass [u] (AME2020); also the molar mass [g/mol].
    """

    name: str
    z: int
    a: int
    atomic_mass_u: float

    @property
    def n(self) -> int:
        """Neutron number."""
        return self.a - self.z

    @property
    def mass_mev(self) -> float:
        """Nuclear mass [MeV]: atomic mass minus Z electron masses."""
        return self.atomic_mass_u * c.AMU_MEV - self.z * c.M_ELECTRON


#: AME2020 atomic masses.
CS133 = Nucleus("Cs133", 55, 133, 132.905451961)
I127 = Nucleus("I127", 53, 127, 126.904471)
AR40 = Nucleus("Ar40", 18, 40, 39.9623831237)


def targets_per_kg(stoichiometry: tuple[tuple[Nucleus, int], ...]) -> tuple[float, ...]:
    """Number of nuclei of each isotope per kg of a compound.

    ``N_x = m eta_x / (sum_y A_y eta_y) N_A`` (Papoulias 2020 below eq. 1), with A_y the molar mass.

    Args:
        stoichiometry: ``((nucleus, eta), ...)``, e.g. ``((CS133, 1), (I127, 1))`` for CsI.

    Returns:
        Nuclei per kg for each entry, in order.
    """
    molar_mass_g = sum(nuc.atomic_mass_u * eta for nuc, eta in stoichiometry)
    return tuple(1e3 * eta / molar_mass_g * c.AVOGADRO for _, eta in stoichiometry)


# Further CEvNS targets. Atomic masses [u]: AME2020 (Wang et al., Chinese Phys. C 45 (2021)
# 030003), rounded to 1e-6 u (1e-8 relative: far below any effect on the recoil kinematics).
_TABLE = (
    ("C12", 6, 12, 12.0),
    ("C13", 6, 13, 13.003355),
    ("O16", 8, 16, 15.994915),
    ("O17", 8, 17, 16.999132),
    ("O18", 8, 18, 17.999160),
    ("F19", 9, 19, 18.998403),
    ("Na23", 11, 23, 22.989769),
    ("Ar36", 18, 36, 35.967545),
    ("Ar38", 18, 38, 37.962732),
    ("Ge70", 32, 70, 69.924249),
    ("Ge72", 32, 72, 71.922076),
    ("Ge73", 32, 73, 72.923459),
    ("Ge74", 32, 74, 73.921178),
    ("Ge76", 32, 76, 75.921403),
    ("Xe124", 54, 124, 123.905885),
    ("Xe126", 54, 126, 125.904298),
    ("Xe128", 54, 128, 127.903531),
    ("Xe129", 54, 129, 128.904781),
    ("Xe130", 54, 130, 129.903509),
    ("Xe131", 54, 131, 130.905084),
    ("Xe132", 54, 132, 131.904155),
    ("Xe134", 54, 134, 133.905395),
    ("Xe136", 54, 136, 135.907214),
)

#: Isotopes by name (``"Cs133"``), as the experiment descriptions name their targets.
NUCLEI = {n.name: n for n in (CS133, I127, AR40)} | {row[0]: Nucleus(*row) for row in _TABLE}

#: Natural isotopic composition (atom fractions): IUPAC representative isotopic compositions,
#: Meija et al., Pure Appl. Chem. 88 (2016) 293 (Isotopic compositions of the elements 2013).
#: Mono-isotopic elements have one entry.
NATURAL = {
    "C": (("C12", 0.9893), ("C13", 0.0107)),
    "O": (("O16", 0.99757), ("O17", 0.00038), ("O18", 0.00205)),
    "F": (("F19", 1.0),),
    "Na": (("Na23", 1.0),),
    "Ar": (("Ar36", 0.003336), ("Ar38", 0.000629), ("Ar40", 0.996035)),
    "Ge": (("Ge70", 0.2052), ("Ge72", 0.2745), ("Ge73", 0.0776), ("Ge74", 0.3652), ("Ge76", 0.0775)),
    "I": (("I127", 1.0),),
    "Cs": (("Cs133", 1.0),),
    "Xe": (
        ("Xe124", 0.000952),
        ("Xe126", 0.000890),
        ("Xe128", 0.019102),
        ("Xe129", 0.264006),
        ("Xe130", 0.040710),
        ("Xe131", 0.212324),
        ("Xe132", 0.269086),
        ("Xe134", 0.104357),
        ("Xe136", 0.088573),
    ),
}


def nucleus(name: str) -> Nucleus:
    """The isotope called ``name`` (e.g. ``"Ar40"``) from :data:`NUCLEI`.

    Raises:
        ValueError: unknown isotope, listing the known ones.
    """
    if name not in NUCLEI:
        raise ValueError(f"unknown nucleus {name!r}; known nuclei: {', '.join(NUCLEI)}")
    return NUCLEI[name]


def natural(element: str) -> tuple[tuple[str, float], ...]:
    """``((isotope, atom fraction), ...)`` of a natural element (:data:`NATURAL`), e.g. ``"Xe"``.

    Raises:
        ValueError: unknown element, listing the known ones.
    """
    if element not in NATURAL:
        raise ValueError(f"unknown element {element!r}; elements with a natural composition: {', '.join(NATURAL)}")
    return NATURAL[element]

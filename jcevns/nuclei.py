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

    ``N_x = m eta_x / (sum_y A_y eta_y) N_A`` (seed 003 below eq. 1), with A_y the molar mass.

    Args:
        stoichiometry: ``((nucleus, eta), ...)``, e.g. ``((CS133, 1), (I127, 1))`` for CsI.

    Returns:
        Nuclei per kg for each entry, in order.
    """
    molar_mass_g = sum(nuc.atomic_mass_u * eta for nuc, eta in stoichiometry)
    return tuple(1e3 * eta / molar_mass_g * c.AVOGADRO for _, eta in stoichiometry)


#: Isotopes by name (``"Cs133"``), as the experiment descriptions name their targets.
NUCLEI = {n.name: n for n in (CS133, I127, AR40)}


def nucleus(name: str) -> Nucleus:
    """The isotope called ``name`` (e.g. ``"Ar40"``) from :data:`NUCLEI`.

    Raises:
        ValueError: unknown isotope, listing the known ones.
    """
    if name not in NUCLEI:
        raise ValueError(f"unknown nucleus {name!r}; known nuclei: {', '.join(NUCLEI)}")
    return NUCLEI[name]

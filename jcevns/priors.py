"""Priors of the sampled physics parameters: the :class:`Prior` type, its command-line syntax,
the defaults and their validation against :data:`jcevns.SPECS`.

Priors (:class:`Prior`) are flat by default; couplings and masses of light mediators are
log-uniform and are sampled as ``log10_<name>``, so NUTS moves in well-scaled coordinates.
Default ranges (:func:`default_prior`):

==========================================  ============  =================================
parameter                                   kind          range
==========================================  ============  =================================
``sin2w``                                   uniform       [0, 1]
``rn`` [fm]                                 uniform       [Helm limit ``analysis.rn_lower``, 15]
``eps_*``                                   uniform       [-1, 1]
``mu_nu*`` [1e-10 mu_B]                     uniform       [0, 150]
``r2_*`` [1e-32 cm^2]                       uniform       [-200, 120]
``zprime_g``, ``scalar_g``                  log-uniform   [1e-7, 1e-1]
``zprime_m``, ``scalar_m`` [MeV]            log-uniform   [1, 1e5]
==========================================  ============  =================================

Any of them can be changed per parameter (``jcevns.bayes.sample(..., priors={"sin2w": (0.1, 0.4),
"zprime_g": Prior(1e-6, 1e-2, "log-uniform")})``; ranges must lie inside
:data:`jcevns.SPECS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .analyses import Analysis, require_rn
from .params import RADIUS_NAMES, SPECS

PRIOR_KINDS = ("uniform", "log-uniform")


@dataclass(frozen=True)
class Prior:
    """Prior of one parameter: flat in the value (``"uniform"``) or in its log10
    (``"log-uniform"``) between ``lower`` and ``upper`` (in the parameter's units)."""

    lower: float
    upper: float
    kind: str = "uniform"

    def __post_init__(self):
        if self.kind not in PRIOR_KINDS:
            raise ValueError(f"prior kind must be one of {PRIOR_KINDS}, got {self.kind!r}")
        try:
            lo, hi = float(self.lower), float(self.upper)
        except (TypeError, ValueError):
            raise ValueError(f"prior bounds must be numbers, got [{self.lower!r}, {self.upper!r}]") from None
        numbers = not any(isinstance(v, (bool, str)) for v in (self.lower, self.upper))
        if not (numbers and math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"prior bounds must be finite with lower < upper, got [{self.lower}, {self.upper}]")
        if self.kind == "log-uniform" and lo <= 0:
            raise ValueError(f"a log-uniform prior needs lower > 0, got {self.lower}")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @classmethod
    def parse(cls, text: str, default_kind: str = "uniform") -> Prior:
        """From ``"LO:HI"``, ``"log:LO:HI"`` or ``"flat:LO:HI"`` (command line syntax)."""
        parts = [p.strip() for p in str(text).split(":")]
        kind = default_kind
        if len(parts) == 3:
            kinds = {"log": "log-uniform", "log-uniform": "log-uniform", "flat": "uniform", "uniform": "uniform"}
            if parts[0] not in kinds:
                raise ValueError(f"prior kind must be 'flat' or 'log', got {parts[0]!r} in {text!r}")
            kind, parts = kinds[parts[0]], parts[1:]
        if len(parts) != 2:
            raise ValueError(f"a prior looks like LO:HI, log:LO:HI or flat:LO:HI, got {text!r}")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"prior bounds must be numbers, got {text!r}") from None
        return cls(lo, hi, kind)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "lower": self.lower, "upper": self.upper}

    def sampled_site(self, name: str) -> str:
        """Name of the NumPyro site NUTS moves in (``log10_<name>`` for log-uniform)."""
        return f"log10_{name}" if self.kind == "log-uniform" else name


def default_prior(name: str, analysis: Analysis | None = None) -> Prior:
    """The default prior of a parameter (see the module docstring for the table).

    Args:
        name: parameter name (:data:`jcevns.SPECS`).
        analysis: needed for ``rn``, whose lower bound is the analysis' Helm limit.
    """
    if name not in SPECS:
        raise ValueError(f"unknown parameter {name!r}; valid names: {', '.join(SPECS)}")
    if name in RADIUS_NAMES:
        lower = None if analysis is None else analysis.rn_lower
        if lower is None:
            raise ValueError(f"the {name} prior needs an analysis with form_factor='helm' (its Helm limit)")
        return Prior(lower, SPECS[name].upper)
    if name.startswith("eps_"):
        return Prior(-1.0, 1.0)
    if name.startswith("mu_nu"):
        return Prior(0.0, 150.0)
    if name.startswith("r2_"):
        return Prior(-200.0, 120.0)
    if name.endswith("_g"):
        return Prior(1e-7, 1e-1, "log-uniform")
    if name.endswith("_m"):
        return Prior(1.0, 1e5, "log-uniform")
    spec = SPECS[name]
    return Prior(spec.lower, spec.upper)


def _as_names(names) -> tuple[str, ...]:
    if isinstance(names, str):
        names = names.split(",")
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"names must be a list of parameter names or 'a,b', got {names!r}")
    names = tuple(str(n).strip() for n in names if str(n).strip())
    if not names:
        raise ValueError("give at least one parameter to sample")
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; valid names: {', '.join(SPECS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"parameter names must be distinct, got {list(names)}")
    return names


def resolve_priors(analysis: Analysis, names, priors: dict | None = None) -> dict[str, Prior]:
    """Priors of the sampled parameters: defaults, overridden per parameter, validated.

    Args:
        analysis: the analysis (for the Helm limit of ``rn``).
        names: sampled parameter names (a sequence or ``"sin2w,rn"``).
        priors: ``{name: Prior | (lower, upper) | {"lower", "upper", "kind"} | "LO:HI"}``; a
            tuple or string keeps the default kind of that parameter.

    Raises:
        ValueError: unknown names, a prior for a parameter not sampled, ``rn`` without a Helm
            form factor, or a range outside :data:`jcevns.SPECS` (or below the Helm limit).
    """
    names = _as_names(names)
    if priors is not None and not isinstance(priors, dict):
        raise ValueError(f"priors must be a dict {{name: prior}}, got {priors!r}")
    priors = dict(priors or {})
    extra = sorted(set(priors) - set(names))
    if extra:
        raise ValueError(f"priors given for parameter(s) {extra} that are not sampled ({list(names)})")
    if "rn" in names:
        require_rn(analysis)
    out = {}
    for name in names:
        default = default_prior(name, analysis)
        given = priors.get(name)
        if given is None:
            prior = default
        elif isinstance(given, Prior):
            prior = given
        elif isinstance(given, str):
            prior = Prior.parse(given, default.kind)
        elif isinstance(given, dict) and {"lower", "upper"} <= set(given) <= {"lower", "upper", "kind"}:
            prior = Prior(given["lower"], given["upper"], given.get("kind", default.kind))
        elif isinstance(given, (tuple, list)) and len(given) == 2:
            prior = Prior(given[0], given[1], default.kind)
        else:
            raise ValueError(
                f"prior of {name} must be a Prior, (lower, upper), {{'lower', 'upper'[, 'kind']}} or 'LO:HI', "
                f"got {given!r}"
            )
        spec = SPECS[name]
        lower = analysis.rn_lower if name in RADIUS_NAMES else spec.lower
        unit = f" {spec.unit}" if spec.unit else ""
        if prior.lower < lower or prior.upper > spec.upper or (spec.lower_open and prior.lower <= spec.lower):
            bracket = "(" if spec.lower_open else "["
            raise ValueError(
                f"prior of {name} ({spec.doc}) [{prior.lower:g}, {prior.upper:g}]{unit} is outside its valid "
                f"range {bracket}{lower:g}, {spec.upper:g}]{unit}"
            )
        out[name] = prior
    return out

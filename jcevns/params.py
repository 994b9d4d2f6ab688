"""Named physics parameters: one frozen pytree, with units, defaults and valid ranges.

A :class:`Params` holds every physics parameter of the forward model. Its leaves are
float64 scalars (or arrays of one common shape under ``vmap``). ``sin2w`` and ``rn`` default
to ``None``, meaning "the reference value of the analysis" (the two papers use different
weak mixing angles and radii); :meth:`jcevns.Analysis.params` fills them in.

Units: ``rn`` [fm]; magnetic moments [1e-10 mu_B]; charge radii [1e-32 cm^2]; mediator
masses [MeV]; couplings and NSI epsilons dimensionless.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

import jax
import numpy as np


@dataclass(frozen=True)
class ParamSpec:
    """Metadata of one parameter: unit, valid range and meaning."""

    unit: str
    lower: float
    upper: float
    doc: str
    lower_open: bool = False
    #: The forward model depends on the parameter only through its square (couplings, moments,
    #: mediator masses), so its sign is a symmetry, not a constraint.
    even: bool = False


_EPS_RANGE = (-5.0, 5.0)

#: Units, valid ranges and descriptions of every parameter, in field order.
SPECS: dict[str, ParamSpec] = {
    "sin2w": ParamSpec("", 0.0, 1.0, "weak mixing angle sin^2 theta_W"),
    "rn": ParamSpec("fm", 0.0, 15.0, "neutron (Helm) rms radius", lower_open=True),
    **{
        f"eps_{ab}_{q}": ParamSpec("", *_EPS_RANGE, f"vector NSI epsilon_{ab}^{q}V")
        for ab in ("ee", "mumu", "emu", "etau", "mutau")
        for q in ("u", "d")
    },
    "mu_nu": ParamSpec("1e-10 mu_B", 0.0, 1e4, "effective magnetic moment, all flavours", even=True),
    "mu_nu_e": ParamSpec("1e-10 mu_B", 0.0, 1e4, "nu_e magnetic moment", even=True),
    "mu_nu_mu": ParamSpec("1e-10 mu_B", 0.0, 1e4, "nu_mu magnetic moment", even=True),
    "mu_nu_mubar": ParamSpec("1e-10 mu_B", 0.0, 1e4, "nu_mu-bar magnetic moment", even=True),
    "r2_nue": ParamSpec("1e-32 cm^2", -1e3, 1e3, "nu_e charge radius <r^2>"),
    "r2_numu": ParamSpec("1e-32 cm^2", -1e3, 1e3, "nu_mu charge radius <r^2>"),
    "r2_numubar": ParamSpec("1e-32 cm^2", -1e3, 1e3, "nu_mu-bar charge radius <r^2>"),
    "zprime_g": ParamSpec("", 0.0, 10.0, "Z' coupling g (g^2 = g_nu g_q)", even=True),
    "zprime_m": ParamSpec("MeV", 0.0, 1e7, "Z' mass", lower_open=True, even=True),
    "scalar_g": ParamSpec("", 0.0, 10.0, "scalar coupling g (g^2 = g_nu g_q)", even=True),
    "scalar_m": ParamSpec("MeV", 0.0, 1e7, "scalar mass", lower_open=True, even=True),
    **{
        name: ParamSpec("fm", 0.0, 15.0, f"neutron (Helm) rms radius of {element}; 0 or None: use rn")
        for name, element in (
            ("rn_c", "C"), ("rn_o", "O"), ("rn_f", "F"), ("rn_na", "Na"), ("rn_ar", "Ar"),
            ("rn_ge", "Ge"), ("rn_i", "I"), ("rn_xe", "Xe"), ("rn_cs", "Cs"),
        )
    },
}

#: Per-element neutron radius parameters by proton number. A nucleus whose radius parameter is
#: 0 (the default; ``None`` is accepted as the same) takes ``rn``, so single-nucleus analyses
#: keep using ``rn`` and a combined fit can give every nucleus its own radius. One radius per
#: element: the isotopes of Ge or Xe share it.
NEUTRON_RADIUS_PARAMETERS = {6: "rn_c", 8: "rn_o", 9: "rn_f", 11: "rn_na", 18: "rn_ar", 32: "rn_ge",
                             53: "rn_i", 54: "rn_xe", 55: "rn_cs"}
RADIUS_NAMES = ("rn", *NEUTRON_RADIUS_PARAMETERS.values())

#: Parameters whose default depends on the analysis (``None`` until resolved).
ANALYSIS_DEFAULTS = ("sin2w", "rn")


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Params:
    """Physics parameters of the CEvNS forward model (a JAX pytree).

    Defaults are the Standard Model: all BSM couplings zero, mediator masses 1 GeV (irrelevant
    at zero coupling), ``sin2w`` and ``rn`` taken from the analysis (``None``).
    See :data:`SPECS` for units and valid ranges.
    """

    sin2w: object = None
    rn: object = None
    eps_ee_u: object = 0.0
    eps_ee_d: object = 0.0
    eps_mumu_u: object = 0.0
    eps_mumu_d: object = 0.0
    eps_emu_u: object = 0.0
    eps_emu_d: object = 0.0
    eps_etau_u: object = 0.0
    eps_etau_d: object = 0.0
    eps_mutau_u: object = 0.0
    eps_mutau_d: object = 0.0
    mu_nu: object = 0.0
    mu_nu_e: object = 0.0
    mu_nu_mu: object = 0.0
    mu_nu_mubar: object = 0.0
    r2_nue: object = 0.0
    r2_numu: object = 0.0
    r2_numubar: object = 0.0
    zprime_g: object = 0.0
    zprime_m: object = 1000.0
    scalar_g: object = 0.0
    scalar_m: object = 1000.0
    rn_c: object = 0.0
    rn_o: object = 0.0
    rn_f: object = 0.0
    rn_na: object = 0.0
    rn_ar: object = 0.0
    rn_ge: object = 0.0
    rn_i: object = 0.0
    rn_xe: object = 0.0
    rn_cs: object = 0.0

    def replace(self, **changes) -> "Params":
        """A copy with some values changed; unknown names raise ``ValueError``.

        Values filled from an analysis' references (see :func:`with_origin`) stay marked as
        such unless they are changed here.
        """
        unknown = set(changes) - set(SPECS)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {sorted(unknown)}; valid names: {', '.join(SPECS)}"
            )
        # None for a per-nucleus radius means "use rn", stored as 0 so every leaf is a number.
        changes = {k: 0.0 if v is None and k in NEUTRON_RADIUS_PARAMETERS.values() else v for k, v in changes.items()}
        new = dataclasses.replace(self, **changes)
        origin = {k: v for k, v in origin_of(self).items() if k not in changes}
        return with_origin(new, origin) if origin else new

    def to_dict(self) -> dict:
        """``{name: value}`` with values converted to Python floats where scalar."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = None if v is None else (float(v) if np.ndim(v) == 0 else np.asarray(v))
        return out


PARAMETER_NAMES = tuple(f.name for f in fields(Params))
assert PARAMETER_NAMES == tuple(SPECS), "SPECS and Params fields must list the same names"


def with_origin(params: Params, origin: dict) -> Params:
    """Mark values of ``params`` as filled from an analysis' reference values.

    ``origin`` maps a parameter name to ``(analysis name, reference value)``. The mark is plain
    Python state beside the pytree (not a leaf, not static metadata), so it never changes how
    ``jit`` and ``vmap`` see the parameters and never causes a retrace; it survives
    :meth:`Params.replace` for the names not changed, and is dropped by ``tree_map`` and by
    constructing a new :class:`Params`. :func:`check_origin` uses it to refuse parameters whose
    ``sin2w`` or ``rn`` were filled for one analysis and are then used with another whose
    reference differs (CsI's R_n = 5.07 fm silently applied to argon).
    """
    object.__setattr__(params, "_origin", dict(origin))
    return params


def origin_of(params: Params) -> dict:
    """The ``{name: (analysis name, reference value)}`` mark of :func:`with_origin` (may be empty)."""
    return getattr(params, "_origin", {})


def check_origin(params: Params, analysis_name: str, references: dict) -> None:
    """Raise ``ValueError`` if a value of ``params`` was filled from the references of another
    analysis and differs from this analysis' reference ``references[name]``."""
    for name, (source, value) in origin_of(params).items():
        ref = references.get(name)
        if ref is not None and source != analysis_name and not np.isclose(value, ref, rtol=1e-12, atol=0.0):
            unit = f" {SPECS[name].unit}" if SPECS[name].unit else ""
            raise ValueError(
                f"parameter {name} = {value:g}{unit} is the reference value of {source}, not of "
                f"{analysis_name} ({ref:g}{unit}); build the parameters with {analysis_name}'s "
                f".params() or set {name} explicitly"
            )


def check_scalar(name: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` is one real number (Python or NumPy/JAX scalar).

    Strings, booleans, complex numbers and arrays with any dimension (even one element) are
    refused: the forward model broadcasts leaves, so a ``(1,)`` array would silently change the
    shape and meaning of every result. Many values at once go through ``jax.vmap`` or
    :func:`jcevns.scan`.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise ValueError(f"parameter {name} must be a real number, got {value!r}")
    if isinstance(value, jax.core.Tracer):  # inside jit/grad/vmap: a traced scalar is a number
        if value.ndim != 0 or not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise ValueError(
                f"parameter {name} must be a real scalar, got a traced {value.dtype} of shape {value.shape}"
            )
        return
    try:
        arr = np.asarray(value)
    except Exception:  # any object numpy cannot read is not a number
        raise ValueError(f"parameter {name} must be a real number, got {value!r}") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"parameter {name} must be a real number, got {value!r} ({arr.dtype})")
    if arr.ndim != 0:
        raise ValueError(
            f"parameter {name} must be a scalar, got an array of shape {arr.shape}; evaluate many "
            "values with jax.vmap or jcevns.scan"
        )


def check_value(name: str, value, *, lower: float | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` (concrete) lies in the valid range of ``name``.

    Args:
        name: parameter name (see :data:`SPECS`).
        value: a number or array; every element is checked.
        lower: a stricter lower bound (e.g. the Helm limit for ``rn``), exclusive.
    """
    if name not in SPECS:
        raise ValueError(f"unknown parameter {name!r}; valid names: {', '.join(SPECS)}")
    spec = SPECS[name]
    arr = np.asarray(value, dtype=float)
    unit = f" {spec.unit}" if spec.unit else ""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"parameter {name} must be finite, got {value!r}")
    lo, lo_open = spec.lower, spec.lower_open
    if lower is not None and lower >= lo:
        lo, lo_open = lower, True
    below = (arr <= lo) if lo_open else (arr < lo)
    outside = below | (arr > spec.upper)
    if np.any(outside):
        bracket = "(" if lo_open else "["
        shown = repr(value) if arr.ndim == 0 else f"{arr[outside][0]:g} ({int(np.sum(outside))} of {arr.size} values)"
        raise ValueError(
            f"parameter {name} ({spec.doc}) = {shown}{unit} is outside its valid range "
            f"{bracket}{lo:g}, {spec.upper:g}]{unit}"
        )


def is_concrete(x) -> bool:
    """True if ``x`` holds concrete values (not a JAX tracer)."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def validate(params: Params, *, rn_lower: float | None = None) -> None:
    """Check structure and ranges of concrete parameters before any jit work.

    Args:
        params: the parameters; must be a :class:`Params`.
        rn_lower: exclusive lower bound on ``rn`` [fm] (the Helm limit ``sqrt(3) s``), if the
            analysis uses ``rn``.

    Raises:
        ValueError: wrong type, unresolved ``None`` values, or a value outside its range.
    """
    if not isinstance(params, Params):
        raise ValueError(
            f"params must be a jcevns.Params, got {type(params).__name__}; "
            "build one with analysis.params(name=value, ...)"
        )
    if not is_concrete(params):
        return
    values = [getattr(params, name) for name in PARAMETER_NAMES]
    for name, value in zip(PARAMETER_NAMES, values):
        if value is None:
            raise ValueError(
                f"parameter {name} is None; resolve analysis defaults with analysis.params()"
            )
        if not isinstance(value, float):  # plain (and NumPy) floats need no further type check
            check_scalar(name, value)
    _check_own_radii(params, rn_lower)
    if _all_scalars_in_range(values, rn_lower):
        return  # the common case, checked in one vectorised pass
    for name, value in zip(PARAMETER_NAMES, values):
        check_value(name, value, lower=rn_lower if name == "rn" else None)


def with_own_radii(params: Params, names) -> Params:
    """``params`` with each per-nucleus radius among ``names`` that is 0 ("use rn") set to ``rn``:
    the same model, but a point where varying that radius changes it (a start for a fit, a
    point for derivatives)."""
    own = {n: params.rn for n in names if n in NEUTRON_RADIUS_PARAMETERS.values() and np.all(getattr(params, n) == 0)}
    return params.replace(**own) if own else params


def _check_own_radii(params: Params, rn_lower: float | None) -> None:
    """A per-nucleus radius is 0 (use ``rn``) or, like ``rn``, above the Helm limit."""
    if rn_lower is None:
        return
    for name in NEUTRON_RADIUS_PARAMETERS.values():
        arr = np.asarray(getattr(params, name), dtype=float)
        if np.any((arr != 0) & (arr <= rn_lower)):
            raise ValueError(
                f"parameter {name} = {arr[(arr != 0) & (arr <= rn_lower)].flat[0]:g} fm is below the Helm limit "
                f"{rn_lower:g} fm of this analysis; use 0 (same as rn) or a value in ({rn_lower:g}, 15] fm"
            )


_LOWER = np.array([s.lower for s in SPECS.values()])
_UPPER = np.array([s.upper for s in SPECS.values()])
_LOWER_OPEN = np.array([s.lower_open for s in SPECS.values()])
_EVEN = np.array([s.even for s in SPECS.values()])
_RN = PARAMETER_NAMES.index("rn")


def _all_scalars_in_range(values, rn_lower) -> bool:
    """True when every value is a scalar inside its range (False also when unsure: the caller
    then checks each value and raises with a message naming the parameter)."""
    if any(np.ndim(v) != 0 for v in values):
        return False
    x = np.array([float(v) for v in values])
    lower, lower_open = _LOWER.copy(), _LOWER_OPEN.copy()
    if rn_lower is not None and rn_lower >= lower[_RN]:
        lower[_RN], lower_open[_RN] = rn_lower, True
    above = np.where(lower_open, x > lower, x >= lower)
    return bool(np.all(np.isfinite(x) & above & (x <= _UPPER)))


def mask_out_of_range(params: Params, rn_lower: float | None = None) -> Params:
    """Every leaf replaced by NaN wherever any parameter lies outside its closed valid range.

    Parameters that enter only squared (``SPECS[name].even``: couplings, moments, mediator masses)
    are checked through their absolute value, since their sign is an exact symmetry.

    The in-jit counterpart of :func:`validate`: concrete values are checked (and refused with a
    ``ValueError``) before any jit work, but traced values (inside ``jit``, ``vmap``, ``grad``)
    cannot raise, so the kernels of :mod:`jcevns.forward` pass their parameters through this mask
    and an out-of-range or non-finite value gives NaN, never a plausible number. Inside the range
    the mask is the identity, with unit derivative, so gradients stay finite up to the bounds.

    Args:
        params: resolved parameters (scalar leaves, or arrays of one shape).
        rn_lower: the analysis' lower bound on ``rn`` [fm] (Helm limit), or ``None``.
    """
    import jax.numpy as jnp

    lower = _LOWER.copy()
    if rn_lower is not None:
        lower[_RN] = max(lower[_RN], rn_lower)
    leaves = [getattr(params, n) for n in PARAMETER_NAMES]
    ok = True
    for value, lo, hi, even in zip(leaves, lower, _UPPER, _EVEN):
        x = jnp.abs(value) if even else value  # the sign of an even parameter is a symmetry
        ok = ok & (x >= lo) & (x <= hi)  # False for NaN
    return Params(**{n: jnp.where(ok, v, jnp.nan) for n, v in zip(PARAMETER_NAMES, leaves)})


def checkify_ranges(params: Params, rn_lower: float | None = None) -> None:
    """``jax.experimental.checkify`` checks that every parameter lies in its closed valid range.

    For users who prefer an error to the NaN of :func:`mask_out_of_range` inside traced code:
    call it in a function transformed by ``checkify.checkify`` (see the README, "Errors and
    guarantees"); the error names the parameter and its value. Even parameters are checked
    through their absolute value.
    """
    import jax.numpy as jnp
    from jax.experimental import checkify

    lower = _LOWER.copy()
    if rn_lower is not None:
        lower[_RN] = max(lower[_RN], rn_lower)
    for name, lo, hi, even in zip(PARAMETER_NAMES, lower, _UPPER, _EVEN):
        value = jnp.asarray(getattr(params, name))
        x = jnp.abs(value) if even else value
        checkify.check(jnp.all((x >= lo) & (x <= hi)), f"parameter {name} = {{v}} is outside [{lo:g}, {hi:g}]", v=value)


def as_float64(params: Params) -> Params:
    """Convert every leaf to float64 (so jit sees one dtype and never retraces).

    Concrete values become NumPy float64 arrays, which jit accepts as they are (building a JAX
    array per leaf costs more than the kernel of a single prediction); traced values become
    float64 JAX arrays.
    """
    import jax.numpy as jnp

    def convert(v):
        if isinstance(v, jax.core.Tracer):
            return jnp.asarray(v, dtype=jnp.float64)
        return np.asarray(v, dtype=np.float64)

    return jax.tree_util.tree_map(convert, params)

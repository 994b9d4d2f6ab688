"""Analysis options: strict type checks for the Python API and strict parsing for the command line.

Every option of an analysis has a declared type, read from the annotation of its dataclass field
(:class:`~jcevns.cross_sections.PhysicsOptions`, the exposure and the detector options):

* ``bool``: Python ``True``/``False``; on the command line ``true`` or ``false``;
* ``int`` and ``float``: a real, finite number (``bool`` is not a number here); on the command
  line a decimal or scientific literal such as ``120`` or ``1.5e23``;
* ``str``: a string (the option's own checks then name the allowed values);
* ``tuple``: a tuple or list of finite numbers, or ``None`` where allowed; on the command line
  ``3.14`` (one value), ``3.14,3.2`` or ``[3.14, 3.2]``, or ``none``.

Nothing is coerced by truthiness: ``recoil_term="False"`` or ``"no"`` is refused with a
``ValueError`` naming the option and its allowed values, never switched on because a non-empty
string is true. Parameter values given on the command line (``--set name=value``) are parsed here
too: one real number, named in every error.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields

import numpy as np

#: Command-line spellings of the two booleans.
_BOOLS = {"true": True, "false": False}


def kind_of(annotation) -> str:
    """``"bool"``, ``"int"``, ``"float"``, ``"str"`` or ``"tuple"`` (optionally ``None``) from a
    dataclass field annotation (a string under ``from __future__ import annotations``)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    for kind in ("tuple", "bool", "int", "float", "str"):
        if text.split("|")[0].strip().startswith(kind):
            return kind
    return "str" if "str" in text else "float"


def declared_kinds(*classes, extra: dict | None = None) -> dict:
    """``{option name: (kind, allows None)}`` for the fields of the option dataclasses."""
    out = {}
    for cls in classes:
        for f in fields(cls):
            text = f.type if isinstance(f.type, str) else str(f.type)
            out[f.name] = (kind_of(f.type), "None" in text)
    out.update(extra or {})
    return out


def _real_number(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond the float range
        return False


def _describe(kind: str, allows_none: bool) -> str:
    text = {
        "bool": "True or False",
        "int": "an integer",
        "float": "a finite real number",
        "str": "a string",
        "tuple": "a tuple of finite numbers, e.g. (3.14,)",
    }[kind]
    return text + (" or None" if allows_none else "")


def check_option(name: str, value, kind: str, allows_none: bool = False):
    """Return ``value`` in canonical form (tuples for sequences, floats for numbers) if it has the
    declared type, else raise ``ValueError`` naming the option and what it accepts."""
    bad = ValueError(f"option {name} must be {_describe(kind, allows_none)}, got {value!r}")
    if value is None:
        if allows_none:
            return None
        raise bad
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise bad
    if kind == "int":
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        raise bad
    if kind == "float":
        if _real_number(value):
            return float(value) if isinstance(value, (float, np.floating)) else value
        raise bad
    if kind == "str":
        if isinstance(value, str):
            return value
        raise bad
    if isinstance(value, (list, tuple)) and all(_real_number(v) for v in value):
        return tuple(float(v) for v in value)
    raise bad


def check_options(kinds: dict, options: dict, analysis: str) -> dict:
    """Check every option against :func:`declared_kinds`; unknown names raise ``ValueError``."""
    unknown = sorted(set(options) - set(kinds))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for analysis {analysis!r}; valid options: {sorted(kinds)}")
    return {k: check_option(k, v, *kinds[k]) for k, v in options.items()}


def _float_literal(text: str):
    """A finite real number from a command-line literal, or ``None``."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


#: Blanks stripped around command-line values: ASCII whitespace only, as ``float()`` does, so that
#: control characters such as "\x1f" (which ``str.strip`` also removes) are refused, not ignored.
_BLANKS = " \t\n\r\v\f"


def parse_option(name: str, text: str, kind: str, allows_none: bool = False):
    """Parse a command-line option value strictly by its declared kind (see the module docstring)."""
    raw = text.strip(_BLANKS)
    bad = ValueError(f"option {name} must be {_describe(kind, allows_none)}, got {text!r}")
    if allows_none and raw.lower() in ("none", "null"):
        return None
    if kind == "bool":
        if raw.lower() in _BOOLS:
            return _BOOLS[raw.lower()]
        raise ValueError(f"option {name} must be true or false, got {text!r}")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise bad from None
    if kind == "float":
        value = _float_literal(raw)
        if value is None:
            raise bad
        return value
    if kind == "str":
        if not raw:
            raise bad
        return raw
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            raise bad from None
        items = items if isinstance(items, list) else [None]
        values = [v if _real_number(v) else None for v in items]
    else:
        values = [_float_literal(part) for part in raw.split(",")]
    if not values or any(v is None for v in values):
        raise bad
    return tuple(float(v) for v in values)


def parse_parameter(name: str, text: str, names) -> float:
    """A physics parameter value from ``--set name=value``: one finite real number.

    ``true``, ``null``, lists, objects, complex numbers and empty values are refused (they used to
    run with 1.0, fall back to the reference, or end in a traceback).
    """
    if name not in names:
        raise ValueError(f"unknown parameter {name!r}; valid names: {', '.join(names)}")
    value = _float_literal(text.strip(_BLANKS))
    if value is None:
        raise ValueError(f"parameter {name} needs one finite real number, got {text!r}")
    return value


def split_assignment(item: str, flag: str) -> tuple[str, str]:
    """``"name=value"`` -> ``(name, value)``, or ``ValueError`` naming the flag."""
    if "=" not in item:
        raise ValueError(f"{flag} must look like name=value, got {item!r}")
    key, value = item.split("=", 1)
    if not key.strip():
        raise ValueError(f"{flag} must look like name=value, got {item!r}")
    return key.strip(), value

"""Helpers shared by the commands: parsing ``--option``/``--set``/``--grid``, the arguments every
analysis-based command takes, the help epilogs and building a likelihood."""

from __future__ import annotations

import argparse


def _parse_options(items, analysis: str) -> dict:
    """``--option name=value`` items parsed strictly by each option's declared type
    (:mod:`jcevns.options`); unknown or repeated names raise ``ValueError``."""
    from ..analyses import option_kinds
    from ..options import parse_option, split_assignment

    parts = [analysis] if analysis.endswith(".toml") else [p for p in analysis.split("+") if p]
    kinds = option_kinds(parts[0])
    for part in parts[1:]:  # a combination a+b: options go to every component, so each must know them
        other = option_kinds(part)
        kinds = {k: v for k, v in kinds.items() if other.get(k) == v}
    out = {}
    for item in items or ():
        key, value = split_assignment(item, "--option")
        if key not in kinds:
            raise ValueError(f"unknown option {key!r} for analysis {analysis!r}; valid options: {sorted(kinds)}")
        if key in out:
            raise ValueError(f"--option {key} is given twice")
        out[key] = parse_option(key, value, *kinds[key])
    return out


def _default_name(analysis: str) -> str:
    """Folder name for default outputs: the experiment name, or the stem of a TOML description."""
    from pathlib import Path

    return Path(analysis).stem if analysis.endswith(".toml") else analysis


def _parse_params(items) -> dict:
    """``--set name=value`` items: one finite real number per known parameter, each name once."""
    from ..options import parse_parameter, split_assignment
    from ..params import PARAMETER_NAMES

    out = {}
    for item in items or ():
        key, value = split_assignment(item, "--set")
        if key in out:
            raise ValueError(f"--set {key} is given twice")
        out[key] = parse_parameter(key, value, PARAMETER_NAMES)
    return out


#: Largest number of points per ``--grid`` axis (a 1e7-point axis already needs ~1 GB per result).
MAX_GRID_POINTS = 10_000_000


def parse_grid(item: str):
    """``"name=LO:HI:N"`` (linear) or ``"name=log:LO:HI:N"`` (log-spaced) -> ``(name, values)``."""
    import numpy as np

    if "=" not in item:
        raise ValueError(f"--grid must look like name=LO:HI:N or name=log:LO:HI:N, got {item!r}")
    name, spec = item.split("=", 1)
    parts = spec.split(":")
    log = parts[0] == "log"
    parts = parts[1:] if log else parts
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise IndexError
    except (IndexError, ValueError):
        raise ValueError(f"--grid {name} must look like {name}=LO:HI:N or {name}=log:LO:HI:N, got {item!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"--grid {name} needs finite LO and HI, got {item!r}")
    if n < 2 or not hi > lo or (log and lo <= 0):
        raise ValueError(f"--grid {name} needs N >= 2 and HI > LO (> 0 for log), got {item!r}")
    if n > MAX_GRID_POINTS:
        raise ValueError(f"--grid {name} asks for {n} points; at most {MAX_GRID_POINTS} per axis")
    values = np.logspace(np.log10(lo), np.log10(hi), n) if log else np.linspace(lo, hi, n)
    return name.strip(), values


def _parameters_epilog() -> str:
    """Every parameter with its unit and valid range, for the help of commands that take them."""
    from ..params import SPECS

    rows = []
    for name, spec in SPECS.items():
        bracket = "(" if spec.lower_open else "["
        unit = f" {spec.unit}" if spec.unit else ""
        rows.append(f"  {name:<12} {bracket}{spec.lower:g}, {spec.upper:g}]{unit}  {spec.doc}")
    return "parameters (name, valid range, unit):\n" + "\n".join(rows)


def _options_epilog() -> str:
    """Every analysis option with its declared type, per analysis."""
    from ..analyses import ANALYSES, option_kinds

    lines = ["options (--option NAME=VALUE; bool: true/false, tuple: 3.14 or 3.14,3.2):"]
    for name in ANALYSES:
        kinds = option_kinds(name)
        lines.append(f"  {name}: " + ", ".join(f"{k} ({v[0]})" for k, v in sorted(kinds.items())))
    return "\n".join(lines)


def _add_analysis_arguments(parser, option_help: str = "analysis option, e.g. --option form_factor=helm"):
    """The arguments every analysis-based command shares: the analysis, ``--preset``, ``--option``."""
    import jcevns

    parser.add_argument(
        "analysis",
        help=f"a registered experiment ({', '.join(jcevns.ANALYSES)}; `jcevns list` describes each) or a path to "
        "a .toml experiment description",
    )
    parser.add_argument(
        "--preset",
        default=None,
        help="preset of the experiment; for the papers' analyses calibrated (default): choices that reproduce the "
        "papers' normalisation, printed: every input exactly as printed (other experiments: their first preset)",
    )
    parser.add_argument("--option", action="append", metavar="NAME=VALUE", help=option_help + "; listed below")


def _formatter():
    return argparse.RawDescriptionHelpFormatter


def _add_combinable_arguments(parser):
    """Like :func:`_add_analysis_arguments`, for commands that also take combinations ``a+b``."""
    _add_analysis_arguments(parser, "analysis option (to every component of a+b)")


def _build_likelihood(name: str, preset: str, options: dict, statistic: str):
    """The likelihood of one analysis, or the combination of ``a+b+...`` (options to every one)."""
    import jcevns

    liks = [jcevns.likelihood(jcevns.build(part, preset, **options), statistic) for part in name.split("+") if part]
    return liks[0] if len(liks) == 1 else jcevns.combine(*liks)


def _add_statistic_argument(parser, help: str = "default: the experiment's"):
    """``--statistic chi2|poisson`` (default: the experiment's own statistic)."""
    parser.add_argument("--statistic", choices=("chi2", "poisson"), default=None, help=help)


def _add_command(sub, name: str, help: str, description: str):
    """A subcommand that takes parameters and options: its help ends with their lists."""
    return sub.add_parser(name, help=help, description=description,
                          epilog=_parameters_epilog() + "\n\n" + _options_epilog(), formatter_class=_formatter())

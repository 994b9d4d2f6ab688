"""The experiment registry: names -> :class:`Experiment` descriptions.

Every module in this package (not starting with ``_``) describes one or more experiments and
registers them with :func:`register` when imported; the first look-up imports them all, so adding
an experiment needs a new module here and no edit anywhere else. A path ending in ``.toml``
names a user-defined experiment (:mod:`jcevns.experiments._toml`). The format is documented in
``docs/experiments.md``.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._description import SIGNAL, Background, Experiment, LikelihoodSpec, Observable, Published, Source

__all__ = [
    "SIGNAL",
    "Background",
    "Experiment",
    "LikelihoodSpec",
    "Observable",
    "Published",
    "Source",
    "get",
    "names",
    "register",
]

_REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add a description to the registry (returns it, so it can be used as an expression).

    Raises:
        ValueError: not an :class:`Experiment`, or the name is already taken.
    """
    if not isinstance(experiment, Experiment):
        raise ValueError(f"register needs a jcevns.experiments.Experiment, got {type(experiment).__name__}")
    if experiment.name in _REGISTRY and _REGISTRY[experiment.name] is not experiment:
        raise ValueError(f"an experiment named {experiment.name!r} is already registered")
    _REGISTRY[experiment.name] = experiment
    return experiment


def names() -> tuple[str, ...]:
    """Registered experiment names, in registration order."""
    _import_builtin()
    return tuple(_REGISTRY)


def get(name) -> Experiment:
    """The description of a registered experiment, or of a TOML file (a path ending in ``.toml``).

    Raises:
        ValueError: unknown name, or an invalid TOML description (naming file and field).
    """
    if isinstance(name, Experiment):
        return name
    text = str(name)
    if text.lower().endswith(".toml"):
        from ._toml import load

        return load(text)
    _import_builtin()
    if text not in _REGISTRY:
        raise ValueError(f"unknown analysis {text!r}; valid analyses: {', '.join(_REGISTRY)} or a path to a .toml file")
    return _REGISTRY[text]


_LOADED = []


def _import_builtin() -> None:
    """Import every experiment module of this package once, on the first look-up (not at package
    import, so that experiment modules may import any other jcevns module)."""
    if _LOADED:
        return
    _LOADED.append(True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")

"""jcevns: fast, differentiable CEvNS forward models and COHERENT likelihoods in JAX.

**64-bit JAX.** Importing jcevns switches on JAX's 64-bit mode (``jax_enable_x64``): the fits and
the quadrature need float64 (float32 loses the 1e-6 accuracy and destabilises optimisers and
NUTS). This affects every JAX computation in the same process: if JAX is already imported, its
configuration is updated; otherwise ``JAX_ENABLE_X64=1`` is set in the environment, which JAX
reads when it is imported (subprocesses inherit it).

**Lazy loading.** The names below are loaded on first use, so ``import jcevns.data`` (the shipped
data and its loader) stays free of JAX, and ``import jcevns`` itself is cheap.

**Argument order.** Functions of a point take the parameters first and the model second, like
``predict(params, analysis)`` and ``statistic(params, lik)``, so that ``jax.grad`` differentiates
the parameters by default; procedures that run over a likelihood (``profile``, ``scan``,
``fisher``, ``bayes.sample``, ``toys.neyman``) take the likelihood first, then what they vary.
"""

import importlib as _importlib
import os as _os
import sys as _sys
from typing import TYPE_CHECKING as _TYPE_CHECKING

if "jax" in _sys.modules:
    _sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    _os.environ["JAX_ENABLE_X64"] = "1"  # read by JAX when it is imported

#: Public name -> the module that defines it (loaded on first use).
_EXPORTS = {
    "ANALYSES": "analyses", "PRESETS": "analyses", "Analysis": "analyses", "build": "analyses",
    "CombinedLikelihood": "combined", "combine": "combined",
    "PhysicsOptions": "cross_sections", "dsigma_dt": "cross_sections",
    "FLAVOURS": "flux",
    "Forecast": "forecast", "fisher": "forecast",
    "EventTemplates": "forward", "check_ranges": "forward", "event_templates": "forward", "predict": "forward",
    "predict_from_templates": "forward", "predict_per_flavour": "forward", "recoil_spectrum": "forward",
    "Interval": "intervals", "intervals_1d": "intervals", "fit_1d": "intervals", "exclusion_curve": "intervals",
    "Likelihood": "likelihoods", "likelihood": "likelihoods", "profiled": "likelihoods", "statistic": "likelihoods",
    "statistic_and_pulls": "likelihoods", "statistic_at_pulls": "likelihoods",
    "Nucleus": "nuclei",
    "SPECS": "params", "Params": "params",
    "ProfileResult": "profiling", "profile": "profiling",
    "ScanResult": "scans", "scan": "scans",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif not name.startswith("_"):
        try:  # a submodule, e.g. jcevns.bayes or jcevns.experiments
            value = _importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


if _TYPE_CHECKING:  # the same names for static tools (type checkers, the API reference)
    from . import bayes, constants, flux, form_factors  # noqa: F401
    from .analyses import ANALYSES, PRESETS, Analysis, build  # noqa: F401
    from .combined import CombinedLikelihood, combine  # noqa: F401
    from .cross_sections import PhysicsOptions, dsigma_dt  # noqa: F401
    from .flux import FLAVOURS  # noqa: F401
    from .forecast import Forecast, fisher  # noqa: F401
    from .forward import (  # noqa: F401
        EventTemplates,
        check_ranges,
        event_templates,
        predict,
        predict_from_templates,
        predict_per_flavour,
        recoil_spectrum,
    )
    from .intervals import Interval, exclusion_curve, fit_1d, intervals_1d  # noqa: F401
    from .likelihoods import (  # noqa: F401
        Likelihood,
        likelihood,
        profiled,
        statistic,
        statistic_and_pulls,
        statistic_at_pulls,
    )
    from .nuclei import Nucleus  # noqa: F401
    from .params import SPECS, Params  # noqa: F401
    from .profiling import ProfileResult, profile  # noqa: F401
    from .scans import ScanResult, scan  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "ANALYSES",
    "PRESETS",
    "FLAVOURS",
    "SPECS",
    "Analysis",
    "CombinedLikelihood",
    "Forecast",
    "EventTemplates",
    "Interval",
    "Likelihood",
    "ProfileResult",
    "ScanResult",
    "Params",
    "PhysicsOptions",
    "build",
    "check_ranges",
    "combine",
    "fisher",
    "constants",
    "dsigma_dt",
    "event_templates",
    "flux",
    "form_factors",
    "intervals_1d",
    "fit_1d",
    "exclusion_curve",
    "Nucleus",
    "bayes",
    "statistic_and_pulls",
    "likelihood",
    "profile",
    "scan",
    "statistic",
    "statistic_at_pulls",
    "predict",
    "predict_from_templates",
    "predict_per_flavour",
    "recoil_spectrum",
]

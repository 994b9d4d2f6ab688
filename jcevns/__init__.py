"""jcevns: fast, differentiable CEvNS forward models and COHERENT likelihoods in JAX.

Importing jcevns switches on JAX's 64-bit mode (``jax_enable_x64``): the fits and the
quadrature need float64 (float32 loses the 1e-6 accuracy and destabilises optimisers and
NUTS). This affects every JAX computation in the same process.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from . import constants, flux, form_factors  # noqa: E402
from .analyses import ANALYSES, PRESETS, Analysis, build  # noqa: E402
from .combined import CombinedLikelihood, combine  # noqa: E402
from .cross_sections import PhysicsOptions, dsigma_dt  # noqa: E402
from .flux import FLAVOURS  # noqa: E402
from .forecast import Forecast, fisher  # noqa: E402
from .forward import (  # noqa: E402
    EventTemplates,
    check_ranges,
    event_templates,
    predict,
    predict_from_templates,
    predict_per_flavour,
    recoil_spectrum,
)
from .intervals import Interval, intervals_1d  # noqa: E402
from .likelihoods import Likelihood, likelihood, profiled, statistic, statistic_at_pulls  # noqa: E402
from .params import SPECS, Params  # noqa: E402
from .profiling import ProfileResult, profile  # noqa: E402
from .scans import ScanResult, scan  # noqa: E402

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
    "likelihood",
    "profile",
    "profiled",
    "scan",
    "statistic",
    "statistic_at_pulls",
    "predict",
    "predict_from_templates",
    "predict_per_flavour",
    "recoil_spectrum",
]

"""Combined fits: several experiments' likelihoods as one, with shared physics parameters.

``combine(lik_a, lik_b, ...)`` returns a :class:`CombinedLikelihood` whose statistic is the sum
of the components' statistics at one :class:`~jcevns.Params`: every physics parameter is
shared, every nuisance pull stays with its experiment (named ``"<analysis>:<pull>"``). It goes
wherever a likelihood goes: :func:`jcevns.profile`, :func:`jcevns.scan` (including the event
template and mediator-plane fast paths), :func:`jcevns.bayes.sample`, :func:`jcevns.fisher`
and the command line (``jcevns scan csi2017-newqf+lar2020 ...``).

Its analysis (:class:`CombinedAnalysis`) predicts the components' bins one after the other.
Reference values: ``sin2w`` and ``rn`` left at ``None`` take the first component's reference
(for ``rn``, the first component whose form factor uses it). A nucleus of another component
whose reference radius differs keeps that reference through its own radius parameter
(``rn_ar``, ``rn_cs``, ``rn_i``, ...; :data:`jcevns.params.NEUTRON_RADIUS_PARAMETERS`), so a
combination never forces one neutron radius on different nuclei: vary ``rn_ar`` and ``rn_cs``
separately; ``rn`` moves only the nuclei without a radius of their own.

Correlated nuisances: ``shared_flux=sigma_f`` declares the SNS neutrino flux normalisation
common to all components. Each component's signal normalisation (the first normalisation
nuisance on its signal, width ``s_k``) is split into a common flux factor ``(1 + f)``,
``f ~ N(0, sigma_f)``, and its own remainder of width ``sqrt(s_k^2 - sigma_f^2)``; ``f`` is
profiled by damped Newton steps on the sum of the components' exactly profiled statistics.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from .analyses import Analysis
from .likelihoods import Likelihood, _statistic_at, _statistic_from_signal
from .params import NEUTRON_RADIUS_PARAMETERS, Params, validate

#: Newton steps (with a backtracking line search) for the shared flux pull.
FLUX_NEWTON_STEPS = 20
_STEPS = (1.0, 0.5, 0.25, 0.1, 0.0)


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class CombinedAnalysis:
    """The analyses of a combination; predictions are their bins concatenated in order.

    Attributes:
        components: the :class:`~jcevns.Analysis` objects.
    """

    components: tuple
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def name(self) -> str:
        return "+".join(a.name for a in self.components)

    @property
    def preset(self) -> str:
        return "+".join(dict.fromkeys(a.preset for a in self.components))

    @property
    def n_bins(self) -> int:
        return sum(a.n_bins for a in self.components)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(a.n_bins for a in self.components)

    @property
    def config(self):
        """What the fitting code asks of an analysis' options: whether ``rn`` enters."""
        uses = any(a.config.physics.uses_rn for a in self.components)
        forms = "+".join(a.config.physics.form_factor for a in self.components)
        return SimpleNamespace(physics=SimpleNamespace(uses_rn=uses, form_factor=forms))

    @property
    def rn_lower(self) -> float | None:
        lows = [a.rn_lower for a in self.components if a.rn_lower is not None]
        return max(lows) if lows else None

    @property
    def sin2w_ref(self) -> float:
        return self.components[0].sin2w_ref

    @property
    def rn_ref(self) -> float:
        users = [a for a in self.components if a.config.physics.uses_rn] or list(self.components)
        return users[0].rn_ref

    def options(self) -> dict:
        return {a.name: a.options() for a in self.components}

    def params(self, **values) -> Params:
        """Parameters of the combination (see the module docstring for the references)."""
        p = Params().replace(**values)
        p = p.replace(
            sin2w=self.sin2w_ref if p.sin2w is None else p.sin2w, rn=self.rn_ref if p.rn is None else p.rn
        )
        own = {}
        for a in self.components:
            if not a.config.physics.uses_rn or a.rn_ref == p.rn:
                continue
            for nucleus in a.detector.nuclei:
                name = NEUTRON_RADIUS_PARAMETERS.get(nucleus.z)
                if name is not None and name not in values and name not in own:
                    own[name] = a.rn_ref
        p = p.replace(**own)
        for a in self.components:
            validate(p, rn_lower=a.rn_lower)
        return p


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class CombinedLikelihood:
    """The sum of several likelihoods' statistics (build with :func:`combine`).

    Attributes:
        components: the component likelihoods (with reduced signal widths if the flux is shared).
        shared_flux: width of the common flux normalisation, or ``None`` (static).
    """

    components: tuple
    shared_flux: float | None = field(default=None, metadata=dict(static=True))
    statistic = "combined"

    @property
    def analysis(self) -> CombinedAnalysis:
        return CombinedAnalysis(tuple(lik.analysis for lik in self.components))

    @property
    def pull_names(self) -> tuple[str, ...]:
        labels = [lik.analysis.name for lik in self.components]
        # an experiment combined with a copy of itself: number the copies
        labels = [f"{n}#{labels[:i].count(n) + 1}" if labels.count(n) > 1 else n for i, n in enumerate(labels)]
        names = tuple(f"{label}:{n}" for label, lik in zip(labels, self.components) for n in lik.pull_names)
        return names + (("sns_flux",) if self.shared_flux else ())

    @property
    def sigma_pulls(self) -> tuple[float, ...]:
        widths = tuple(w for lik in self.components for w in lik.sigma_pulls)
        return widths + ((self.shared_flux,) if self.shared_flux else ())

    def _split(self, x, sizes):
        edges = np.cumsum((0,) + tuple(sizes))
        return [x[..., lo:hi] for lo, hi in zip(edges[:-1], edges[1:])]

    def _profiled_sum(self, signal, flux):
        parts = self._split(signal, self.analysis.sizes)
        results = [_statistic_from_signal(lik, s * (1.0 + flux)) for lik, s in zip(self.components, parts)]
        return sum(r[0] for r in results), jnp.concatenate([r[1] for r in results])

    def statistic_from_signal(self, signal):
        """``(value, pulls)``: the summed statistics, every pull profiled."""
        if not self.shared_flux:
            return self._profiled_sum(signal, 0.0)
        sigma = self.shared_flux

        def total(f):
            return self._profiled_sum(signal, f)[0] + (f / sigma) ** 2

        grad, hess = jax.grad(total), jax.hessian(total)
        steps = jnp.asarray(_STEPS)

        def newton(_, f):
            f = jax.lax.stop_gradient(f)
            step = grad(f) / jnp.maximum(hess(f), 1e-12 / sigma**2)
            trials = f - steps * step
            values = jax.vmap(total)(trials)
            return trials[jnp.argmin(jnp.where(jnp.isfinite(values), values, jnp.inf))]

        f = jax.lax.stop_gradient(jax.lax.fori_loop(0, FLUX_NEWTON_STEPS, newton, jnp.zeros(())))
        value, pulls = self._profiled_sum(signal, f)
        return value + (f / sigma) ** 2, jnp.concatenate([pulls, f[None]])

    def statistic_at(self, signal, pulls):
        """The summed statistics at given pulls (in :attr:`pull_names` order, widths
        :attr:`sigma_pulls`, as every likelihood's pulls)."""
        flux = pulls[-1] if self.shared_flux else 0.0
        parts = self._split(signal, self.analysis.sizes)
        chunks = self._split(pulls, [len(lik.sigma_pulls) for lik in self.components])
        value = sum(
            _statistic_at(lik, s * (1.0 + flux), a) for lik, s, a in zip(self.components, parts, chunks)
        )
        return value + ((flux / self.shared_flux) ** 2 if self.shared_flux else 0.0)


def _signal_pull(lik) -> int:
    """Index of the likelihood's signal normalisation pull (the first acting on the signal)."""
    widths = np.asarray(lik.model.norm_widths)
    on_signal = [k for k in range(widths.shape[0]) if widths[k, 0] > 0]
    if not on_signal:
        raise ValueError(f"{lik.analysis.name} has no signal normalisation nuisance to share the flux with")
    return on_signal[0]


def _with_signal_width(lik, sigma: float):
    """``lik`` with its signal normalisation width reduced to ``sigma``."""
    k = _signal_pull(lik)
    bm = lik.model
    widths = bm.norm_widths.at[k].set(jnp.where(bm.norm_widths[k] > 0, sigma, 0.0))
    bm = dataclasses.replace(bm, norm_widths=widths, pull_sigma=bm.pull_sigma.at[k].set(sigma))
    sigmas = tuple(float(s) for s in np.asarray(bm.pull_sigma))
    return dataclasses.replace(lik, model=bm, sigma_pulls=sigmas)


def combine(*likelihoods, shared_flux: float | None = None) -> CombinedLikelihood:
    """One likelihood from several: physics parameters shared, nuisances separate.

    Args:
        *likelihoods: two or more likelihoods (:func:`jcevns.likelihood` or combinations,
            which are flattened).
        shared_flux: declare the SNS flux normalisation common to all components, with this
            relative width (smaller than every component's signal normalisation width, which
            it is removed from in quadrature); ``None``: independent.

    Raises:
        ValueError: fewer than two likelihoods or an invalid ``shared_flux``.

    Example:
        >>> import jcevns
        >>> a, b = (jcevns.likelihood(jcevns.build(n)) for n in ("csi2017-newqf", "lar2020"))
        >>> both = jcevns.combine(a, b)
        >>> both.analysis.name, both.pull_names
        ('csi2017-newqf+lar2020', ('csi2017-newqf:a1', 'csi2017-newqf:a2', 'lar2020:alpha'))
    """
    flat = []
    for lik in likelihoods:
        if isinstance(lik, CombinedLikelihood):
            if lik.shared_flux:
                raise ValueError("combine a likelihood with a shared flux only as the outermost combination")
            flat.extend(lik.components)
        elif isinstance(lik, Likelihood):
            flat.append(lik)
        else:
            raise ValueError(f"combine takes jcevns likelihoods, got {type(lik).__name__}")
    if len(flat) < 2:
        raise ValueError(f"combine needs at least two likelihoods, got {len(flat)}")
    if shared_flux is not None:
        narrowest = min(lik.sigma_pulls[_signal_pull(lik)] for lik in flat)
        if not (math.isfinite(shared_flux) and 0 < shared_flux < narrowest):
            raise ValueError(
                f"shared_flux must be in (0, {narrowest:g}) (the narrowest signal normalisation), got {shared_flux!r}"
            )
        flat = [_with_signal_width(lik, math.sqrt(lik.sigma_pulls[_signal_pull(lik)] ** 2 - shared_flux**2))
                for lik in flat]
    return CombinedLikelihood(components=tuple(flat), shared_flux=shared_flux)


def is_combination(analysis) -> bool:
    """Whether ``analysis`` is a :class:`CombinedAnalysis` (rather than an :class:`Analysis`)."""
    return isinstance(analysis, CombinedAnalysis) and not isinstance(analysis, Analysis)

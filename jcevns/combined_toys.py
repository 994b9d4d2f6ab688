"""Generative model of a combination (:func:`jcevns.combine`): each member draws its own toys.

A combined likelihood is the sum of its members' statistics at shared physics parameters, each
member with its own nuisance pulls. Its toys are therefore the members' toys
(:mod:`jcevns.generators`: Poisson counts per bin, or the papers' chi-square counts, and the
auxiliary measurements of each member's pulls), drawn independently: the data leaves are named
``"<member index>:<leaf>"`` and every leaf has its own stream of the toy's key
(:func:`jcevns.generators.draw` folds the leaf's index into the key), so a toy set is
reproducible and a member's toys do not depend on the other members. A toy is fitted like the
data: the members' profiled statistics summed at the same value of the parameter of interest,
each member's pulls profiled separately.

Not covered: a common flux normalisation (``combine(..., shared_flux=...)``), whose pull
couples the members, and further physics parameters profiled jointly (``profile=``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .combined import CombinedLikelihood
from .generators import CEvNSToys, _cevns_adapter, register
from .params import check_value


def _key(i: int, leaf: str) -> str:
    return f"{i}:{leaf}"


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class CombinedToys:
    """Toy adapter of a :class:`~jcevns.combined.CombinedLikelihood` (see the module docstring):
    the members' :class:`~jcevns.generators.CEvNSToys` side by side."""

    members: tuple
    name: str = field(metadata=dict(static=True))
    lower: float = field(default=0.0, metadata=dict(static=True))
    upper: float = field(default=1.0, metadata=dict(static=True))
    rn_lower: float | None = field(default=None, metadata=dict(static=True))
    profile: tuple = field(default=(), metadata=dict(static=True))

    def observed(self):
        return {_key(i, k): v for i, m in enumerate(self.members) for k, v in m.observed().items()}

    def global_observables(self):
        return tuple(_key(i, k) for i, m in enumerate(self.members) for k in m.global_observables())

    def with_data(self, data):
        members = tuple(
            m.with_data({k.split(":", 1)[1]: v for k, v in data.items() if k.split(":", 1)[0] == str(i)})
            for i, m in enumerate(self.members)
        )
        return dataclasses.replace(self, members=members)

    def model(self, x):
        return tuple(m.model(x) for m in self.members)

    def _split(self, nuisances):
        edges = np.cumsum([0] + [len(m.lik.sigma_pulls) for m in self.members])
        return [nuisances[lo:hi] for lo, hi in zip(edges[:-1], edges[1:])]

    def fit(self, model):
        fits = [m.fit(mm) for m, mm in zip(self.members, model)]
        return sum(f[0] for f in fits), jnp.concatenate([f[1] for f in fits])

    def recipe(self, model, nuisances):
        out = {}
        for i, (m, mm, nu) in enumerate(zip(self.members, model, self._split(nuisances))):
            out.update({_key(i, k): r for k, r in m.recipe(mm, nu).items()})
        return out

    def prior_widths(self):
        return jnp.concatenate([m.prior_widths() for m in self.members])

    def check_values(self, values: np.ndarray) -> None:
        check_value(self.name, values, lower=self.rn_lower if self.name == "rn" else None)


def _combined_adapter(lik: CombinedLikelihood, param: str, base, profile) -> CombinedToys:
    if lik.shared_flux:
        raise ValueError("toys of a combination with a shared flux normalisation are not available; "
                         "combine without shared_flux")
    if profile:
        raise ValueError(f"toys of a combination profile only the nuisance pulls; got profile={list(profile)}")
    base = lik.analysis.params() if base is None else lik.analysis.params(**base.to_dict())
    members = []
    for m in lik.components:
        # the shared values, except a radius the member's form factor does not use (its own
        # reference, as in the combined prediction)
        values = {k: v for k, v in base.to_dict().items() if k != "rn" or m.analysis.config.physics.uses_rn}
        members.append(_cevns_adapter(m, param, m.analysis.params(**values), ()))
    members = tuple(members)
    assert all(isinstance(m, CEvNSToys) for m in members)
    lower = max(m.lower for m in members)
    upper = min(m.upper for m in members)
    return CombinedToys(members, param, lower, upper, lik.analysis.rn_lower)


register(CombinedLikelihood, _combined_adapter)

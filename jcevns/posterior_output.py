"""Posterior summaries and output files of :func:`jcevns.bayes.sample`: ArviZ statistics
(quantiles, 90 % HDI, split R-hat, bulk and tail ESS), the convergence verdict, and the
:class:`PosteriorResult` with its JSON, Markdown and netCDF writers."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .outputs import json_safe
from .params import SPECS

#: Convergence criterion on the rank-normalised split R-hat (Vehtari et al. 2021).
RHAT_MAX = 1.01
#: Bulk ESS per chain below which a warning is issued (Vehtari et al. 2021: 100 per chain).
ESS_PER_CHAIN_MIN = 100
CREDIBLE = 0.9


def _az():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ArviZ 0.2x announces its 1.0 refactor
        import arviz

    return arviz


def _split_single_chain(x: np.ndarray) -> np.ndarray:
    """ArviZ needs two chains for R-hat; split R-hat of one chain compares its two halves."""
    if x.shape[0] > 1:
        return x
    half = x.shape[1] // 2
    return x[0, : 2 * half].reshape(2, half)


def _stats(x: np.ndarray) -> dict:
    """Summary of one ``(chains, draws)`` array."""
    az = _az()
    flat = x.ravel()
    q05, q50, q95 = np.quantile(flat, [0.05, 0.5, 0.95])
    hdi = np.asarray(az.hdi(flat, hdi_prob=CREDIBLE), dtype=float).ravel()  # 1D: all chains pooled
    return {
        "mean": float(np.mean(flat)),
        "sd": float(np.std(flat, ddof=1)),
        "q05": float(q05),
        "q50": float(q50),
        "q95": float(q95),
        "hdi90": [float(hdi[0]), float(hdi[1])],
        "r_hat": float(az.rhat(_split_single_chain(x))),
        "ess_bulk": float(az.ess(x, method="bulk")),
        "ess_tail": float(az.ess(x, method="tail")),
    }


def convergence_problems(stats: dict, divergences: int, rhat_max: float = RHAT_MAX) -> list[str]:
    """The reasons a run is not trustworthy: ``r_hat > rhat_max`` (or undefined) for any
    parameter in ``stats`` (``{name: {"r_hat": ...}}``), or any divergent transition."""
    out = []
    for name, s in stats.items():
        r = s.get("r_hat")
        if r is None or not math.isfinite(r) or r > rhat_max:
            out.append(
                f"r_hat of {name} = {r if r is None else f'{r:.3f}'} > {rhat_max}: the chains disagree "
                "(separate modes, or a run too short); do not trust this posterior"
            )
    if divergences > 0:
        out.append(
            f"{divergences} divergent transition(s) after warmup: the sampler missed part of the "
            "posterior; narrow the priors or reparametrise"
        )
    return out


@dataclass(frozen=True)
class PosteriorResult:
    """Posterior samples and diagnostics of :func:`sample`.

    Attributes:
        names: sampled physics parameters.
        samples: ``{site: (chains, draws) array}`` for every parameter, every ``log10_``
            coordinate and every sampled pull.
        inference_data: the ArviZ ``InferenceData`` (posterior and sample_stats groups).
        summary: ``{name: {mean, sd, q05, q50, q95, hdi90, r_hat, ess_bulk, ess_tail}}``
            for the physics parameters (in their own units, also for log-uniform ones).
        nuisance: the same for sampled pulls (empty with ``pulls="profile"``).
        divergences: divergent transitions after warmup, all chains.
        wall_s: wall time of warmup and sampling, compilation included [s].
        chain_method: ``"vectorized"``, ``"parallel"`` or ``"sequential"``.
        settings: analysis, statistic, pulls mode, priors, chains, warmup, samples, seed.
        notes: extra remarks (e.g. a netCDF fallback when saving).
    """

    names: tuple[str, ...]
    samples: dict
    inference_data: object = field(repr=False)
    summary: dict
    nuisance: dict
    divergences: int
    wall_s: float
    chain_method: str
    settings: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``r_hat <= 1.01`` for every parameter and pull, and no divergences."""
        return not convergence_problems({**self.summary, **self.nuisance}, self.divergences)

    @property
    def warnings(self) -> list[str]:
        """Convergence problems, low effective sample sizes and notes."""
        out = convergence_problems({**self.summary, **self.nuisance}, self.divergences)
        chains = self.settings.get("chains", 1)
        for name, s in {**self.summary, **self.nuisance}.items():
            if s["ess_bulk"] < ESS_PER_CHAIN_MIN * chains:
                out.append(
                    f"bulk ESS of {name} = {s['ess_bulk']:.0f} is below {ESS_PER_CHAIN_MIN * chains} "
                    f"({ESS_PER_CHAIN_MIN} per chain x {chains} chains): quantiles are noisy, draw more samples"
                )
        if chains == 1:
            out.append("one chain: r_hat compares its two halves and cannot detect separate modes; run >= 2 chains")
        return out + list(self.notes)

    def to_dict(self) -> dict:
        """JSON-ready summary: one entry per parameter, plus run-level keys."""
        return {
            **self.summary,
            "nuisance": self.nuisance,
            "divergences": self.divergences,
            "wall_s": self.wall_s,
            "chain_method": self.chain_method,
            "ok": self.ok,
            "warnings": self.warnings,
            "settings": self.settings,
        }

    def to_json(self, path) -> None:
        """Write :meth:`to_dict` as JSON (non-finite numbers as ``null``)."""
        Path(path).write_text(json.dumps(json_safe(self.to_dict()), indent=2) + "\n")

    def to_markdown(self) -> str:
        """The summary as a Markdown table, with the run's diagnostics below."""
        s = self.settings
        head = (
            f"Posterior of {', '.join(self.names)} ({s.get('analysis')}, preset {s.get('preset')}, "
            f"statistic {s.get('statistic')}, pulls {s.get('pulls')})\n\n"
            "| parameter | mean | sd | 5 % | median | 95 % | HDI 90 % | r_hat | ESS bulk | ESS tail |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n"
        )
        rows = []
        for name, v in {**self.summary, **self.nuisance}.items():
            unit = SPECS[name].unit if name in SPECS else ""
            label = f"{name} [{unit}]" if unit else name
            rows.append(
                f"| {label} | {v['mean']:.4g} | {v['sd']:.3g} | {v['q05']:.4g} | {v['q50']:.4g} | {v['q95']:.4g} "
                f"| [{v['hdi90'][0]:.4g}, {v['hdi90'][1]:.4g}] | {v['r_hat']:.3f} | {v['ess_bulk']:.0f} "
                f"| {v['ess_tail']:.0f} |"
            )
        tail = (
            f"\n\n{s.get('chains')} chains x {s.get('samples')} draws after {s.get('warmup')} warmup "
            f"({self.chain_method}), {self.divergences} divergences, {self.wall_s:.1f} s. "
            f"Status: {'OK' if self.ok else 'NOT CONVERGED'}.\n"
        )
        warns = "".join(f"\n* {w}" for w in self.warnings)
        return head + "\n".join(rows) + tail + (f"\nWarnings:{warns}\n" if warns else "")

    def save(self, directory) -> Path:
        """Write ``posterior.nc``, ``summary.json``, ``summary.md``, ``corner.png`` and
        ``trace.png`` into ``directory`` (created). Without a netCDF backend the samples go to
        ``posterior.npz`` and a note says so. The files appear together, atomically
        (:class:`jcevns.outputs.OutputDir`): a failure leaves the directory as it was."""
        from .outputs import OutputDir

        with OutputDir(directory, command=f"jcevns sample {self.settings.get('analysis')}") as out:
            try:
                self.inference_data.to_netcdf(str(out.path("posterior.nc")))
            except (ImportError, ValueError, OSError, RuntimeError) as err:  # no netCDF backend for groups
                out.path("posterior.nc").unlink(missing_ok=True)
                np.savez(out.path("posterior.npz"), **self.samples)
                self.notes.append(
                    f"netCDF backend unavailable ({type(err).__name__}: {err}); wrote posterior.npz instead"
                )
            self.to_json(out.path("summary.json"))
            out.path("summary.md").write_text(self.to_markdown())
            self._corner(out.path("corner.png"))
            self._trace(out.path("trace.png"))
        return Path(directory)

    def _corner(self, path: Path) -> None:
        from .posterior_plots import corner_plot

        corner_plot(self, path)

    def _trace(self, path: Path) -> None:
        from .posterior_plots import trace_plot

        trace_plot(self, path)

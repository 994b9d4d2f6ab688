"""``jcevns reproduce``: regenerate the results of the two reference papers and of the data sets
beyond them, into ``results.json``, ``report.md`` and ``figures/``.

The fits live in :mod:`jcevns.reproduce_papers`, the Markdown report in
:mod:`jcevns.reproduce_report`, the figures in :mod:`jcevns.plots`; this module runs them and
writes the files (:data:`SECTIONS` is the one registry of the sections beyond the papers).

Papoulias (PRD 102 113004 (2020), CsI 2017, old and new quenching factor): every row of
Table I, the best fits and 1-sigma bands of eqs. 11 and 13, the NSI 2D regions, the Z' and
scalar exclusions. Miranda et al. (JHEP 05 (2020) 130, CENNS-10 LAr): sin^2 theta_W,
the R_n limit, magnetic moments and charge radii per flavour, NSI (diagonal, flavour
changing, 2D), Z' (universal and B-L) and scalar exclusions, and the sin^2 theta_W width with
R_n free.

Nothing here is tuned to the published numbers: they are only read to print the comparison.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import __version__, experiments
from .outputs import json_safe
from .reproduce_papers import (  # noqa: F401  (re-exported: the notebooks read the papers' tables here)
    COMBINED,
    PAPER_003,
    PAPER_003_BEST,
    PAPER_003_MU_EQ16,
    PAPER_003_ONE_SIGMA,
    PAPER_LAR,
    PAPER_SM,
    _recipe,
    run_combined,
    run_csi,
    run_lar,
)
from .reproduce_report import CAPTIONS, figure_lines, lar_comparison_lines, write_report  # noqa: F401

#: Reproduction recipes named by ``Experiment.reproduction``: ``(--only group, runner, steps)``.
RECIPES = {
    "papoulias2020": ("csi", run_csi, 6),
    "miranda2020": ("lar", run_lar, 5),
    "coherent2021-lar3d": ("lar2020-3d", lambda name, preset, tick: _run_lar3d(tick), 3),
}


def _run_lar3d(tick):
    from . import reproduce_lar3d  # the CENNS-10 3D section (fits, physics, figures)

    return reproduce_lar3d.run(tick)



def run(preset: str = "calibrated", only: str | None = None, progress: bool = True):
    """Compute every result. Returns ``(results, curves, wall_seconds)``."""
    jobs = [
        (name, RECIPES[_recipe(name)][2])
        for name in experiments.names()
        if _recipe(name) in RECIPES and only in (None, RECIPES[_recipe(name)][0])
    ]
    if only in (None, "combined"):
        jobs.append((COMBINED, 3))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(n for _, n in jobs), desc="jcevns reproduce", unit="step")
    tick = (lambda *_: bar.update(1)) if bar is not None else (lambda *_: None)
    start = time.perf_counter()
    results, curves = {}, {}
    for name, _ in jobs:
        if name == COMBINED:
            results[name], curves[name] = run_combined(preset, tick)
        else:
            results[name], curves[name] = RECIPES[_recipe(name)][1](name, preset, tick)
    if bar is not None:
        bar.close()
    return results, curves, time.perf_counter() - start


def _csi2021_section(payload: dict, figures_dir: Path):
    """COHERENT CsI[Na] complete dataset (arXiv:2110.07730): blind 2D fit; adds ``payload["csi2021"]``
    and returns the report lines, the figures and the seconds it took."""
    from .experiments import csi2021_report

    start = time.perf_counter()
    section, curves = csi2021_report.run()
    payload["csi2021"] = json_safe(section)
    figures = csi2021_report.figures(curves, figures_dir)
    captions = [line for f in figures if f.name in CAPTIONS for line in figure_lines(f.name, CAPTIONS[f.name])]
    return csi2021_report.report_lines(section) + captions, figures, time.perf_counter() - start


#: Self-contained report sections of the data sets beyond the two papers: ``key -> function(payload,
#: figures_dir)`` adding ``payload[key]`` and returning ``(report lines, figure paths, seconds)``.
SECTIONS = {"csi2021": _csi2021_section}
#: Values of ``--only``: the papers' analyses, their combination and each section.
ONLY_CHOICES = ("csi", "lar", "combined", "lar2020-3d", *SECTIONS)


def _toys_section(staged_dir: Path, preset: str, progress: bool) -> tuple[list[Path], float]:
    """Feldman-Cousins vs Wilks with toys (:mod:`jcevns.toyreport`): ``toys.md``, ``toys.json``
    and ``figures/toys_coverage.png`` in the staged output; returns the figures and seconds."""
    from . import toyreport

    start = time.perf_counter()
    results = toyreport.run(preset, progress)
    wall = time.perf_counter() - start
    toyreport.write(results, wall, staged_dir)
    return [staged_dir / "figures" / "toys_coverage.png"], wall


def main(
    out: str = "results", preset: str = "calibrated", only: str | None = None, progress: bool = True,
    toys: bool = False,
) -> int:
    """Run everything and write ``results.json``, ``report.md`` and ``figures/*.png``; with
    ``toys`` (off by default: minutes, not seconds) also ``toys.md`` and ``toys.json``.

    The output directory is checked before any computation and every file is written atomically
    (:class:`jcevns.outputs.OutputDir`). With ``only``, the entries of the other analyses already
    in ``results.json`` are kept (the report covers them all); files of the user are never removed.
    """
    from . import plots
    from .outputs import OutputDir, check_output_dir

    if only not in (None, *ONLY_CHOICES):
        raise ValueError(f"only must be None or one of {ONLY_CHOICES}, got {only!r}")
    out_dir = check_output_dir(out)
    results, curves, wall = run(preset, "none" if only in SECTIONS else only, progress)
    payload = json_safe(results)
    kept, updated = [], sorted(results)
    with OutputDir(out_dir, command="jcevns reproduce" + (f" --only {only}" if only else "")) as staged:
        figures_dir = staged.path("figures")
        figures_dir.mkdir(exist_ok=True)
        section_lines, figures = [], []
        for key, section in SECTIONS.items():
            if only in (None, key):
                lines, section_figures, seconds = section(payload, figures_dir)
                section_lines += lines
                figures += section_figures
                wall += seconds
                updated.append(key)
        old = staged.read_existing("results.json")
        if only is not None and old:
            try:
                previous = json.loads(old)
            except json.JSONDecodeError:
                previous = {}
            kept = [k for k in previous if k != "meta" and k not in payload and isinstance(previous[k], dict)]
            payload = {**{k: previous[k] for k in kept}, **payload}
        payload["meta"] = {"jcevns": __version__, "wall_s": wall, "preset": preset, "updated": updated}
        staged.path("results.json").write_text(json.dumps(payload, indent=1))
        report = staged.path("report.md")
        # The 3D CENNS-10 section has its own report lines and figures (jcevns.reproduce_lar3d).
        lar3d, curves3d = results.pop("lar2020-3d", None), curves.pop("lar2020-3d", None)
        write_report({**{k: payload[k] for k in kept if k != "lar2020-3d"}, **results}, wall, report)
        if lar3d is not None:
            from . import reproduce_lar3d

            section_lines = reproduce_lar3d.report_lines(lar3d) + section_lines
            figures.append(reproduce_lar3d.figure(curves3d, figures_dir / "lar3d_projections.png"))
            figures.append(reproduce_lar3d.profiles_figure(curves3d, figures_dir / "lar3d_profiles.png"))
        if section_lines:
            with open(report, "a") as f:
                f.write("\n".join(section_lines) + "\n")
        single = {k: v for k, v in curves.items() if k != COMBINED}
        if single or only in (None, "csi", "lar"):
            figures += plots.reproduction_figures(single, figures_dir)
        if COMBINED in curves:
            figures += plots.combined_figures(curves[COMBINED], figures_dir)
        if toys:
            toy_figures, seconds = _toys_section(staged.path("."), preset, progress)
            figures += toy_figures
            wall += seconds
    note = f" (kept {', '.join(kept)} from the earlier results.json)" if kept else ""
    print(f"wrote {out_dir / 'results.json'}, {out_dir / 'report.md'} and {len(figures)} figures in {wall:.1f} s{note}")
    return 0

"""User-defined experiments from TOML files (format: ``docs/experiments.md``, examples in
``examples/*.toml``).

:func:`load` reads a file with :mod:`tomllib` (``tomli`` on Python 3.10), checks every field
before any jit work -- a missing field, an unknown key, an unknown nucleus, a non-positive mass
or exposure, an efficiency outside [0, 1], non-increasing edges, data whose length does not
match the bins all raise a ``ValueError`` naming the file, the field and the valid range -- and
returns an :class:`~jcevns.experiments.Experiment` with the parametrised response of
:mod:`jcevns.detectors.generic`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from .. import form_factors, nuclei
from ..binned import NormSys
from ..cross_sections import PhysicsOptions
from ..detectors import generic
from ._description import SIGNAL, SOURCES, Background, Experiment, LikelihoodSpec, Source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Default weak mixing angle of user-defined experiments: the low-energy MS-bar value
#: sin^2 theta_W(0) = 0.23857 (Particle Data Group, Workman et al., PTEP 2022 083C01,
#: "Electroweak model and constraints on new physics").
SIN2W_LOW_ENERGY = 0.23857
#: Default physics options: tree-level couplings with the -T/E recoil term and a Helm form factor
#: (Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050, eqs. 2.1-2.4).
PHYSICS_DEFAULTS = dict(couplings="tree", recoil_term=True, form_factor="helm", scalar_charge="sigma_terms")

_SCHEMA = {
    "experiment": {"name": True, "target": True, "dataset": True, "citation": True, "label": False},
    "source": {"kind": False, "nu_per_pot": True, "n_pot": True, "distance_m": True},
    "target": {"mass_kg": True, "composition": True},
    "response": {
        "observable": True,
        "edges": True,
        "quenching": False,
        "light_yield_pe_per_kevee": False,
        "resolution": False,
        "efficiency": False,
        "threshold": False,
    },
    "data": {"observed": False},
    "likelihood": {"signal_sigma": False, "statistic": False},
    "reference": {"sin2w": False, "rn_fm": False},
    "physics": None,  # any PhysicsOptions field, checked by PhysicsOptions itself
    "backgrounds": None,  # array of tables, checked below
}


class _File:
    """Error messages that name the file and the field."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str):
        raise ValueError(f"{self.path}: field {where}: {message}")

    def table(self, doc: dict, where: str, schema: dict) -> dict:
        if not isinstance(doc, dict):
            self.fail(where, f"must be a table, got {type(doc).__name__}")
        for key in doc:
            if key not in schema:
                self.fail(f"{where}.{key}" if where else key, f"unknown key; valid keys: {', '.join(schema)}")
        for key, required in schema.items():
            if required and key not in doc:
                self.fail(f"{where}.{key}" if where else key, "missing (required)")
        return doc

    def positive(self, value, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            self.fail(where, f"must be a positive finite number, got {value!r}")
        return float(value)

    def number(self, value, where: str, lo=-math.inf, hi=math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi):
            self.fail(where, f"must be a number in [{lo:g}, {hi:g}], got {value!r}")
        return float(value)

    def text(self, value, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"must be a non-empty string, got {value!r}")
        return value

    def array(self, value, where: str, n: int | None = None, lo=-math.inf, hi=math.inf, increasing=False):
        ok = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if not ok or not value:
            self.fail(where, f"must be a non-empty array of numbers, got {value!r}")
        a = np.asarray(value, dtype=np.float64)
        if n is not None and a.size != n:
            self.fail(where, f"must have {n} entries (one per bin), got {a.size}")
        if not np.all(np.isfinite(a)) or np.any(a < lo) or np.any(a > hi):
            self.fail(where, f"values must lie in [{lo:g}, {hi:g}], got {value!r}")
        if increasing and (a.size < 2 or np.any(np.diff(a) <= 0)):
            self.fail(where, f"must be strictly increasing with at least 2 entries, got {value!r}")
        return tuple(float(x) for x in a)


def _targets(f: _File, comp) -> tuple:
    if not isinstance(comp, list) or not comp:
        f.fail("target.composition", "must be a non-empty array of {element = ..., count = ...} or {isotope = ...}")
    out = []
    for i, entry in enumerate(comp):
        where = f"target.composition[{i}]"
        f.table(entry, where, {"element": False, "isotope": False, "count": False})
        count = f.positive(entry.get("count", 1), f"{where}.count")
        if ("element" in entry) == ("isotope" in entry):
            f.fail(where, "give exactly one of element (natural composition) or isotope")
        try:
            if "element" in entry:
                out += [(iso, count * frac) for iso, frac in nuclei.natural(entry["element"])]
            else:
                nuclei.nucleus(entry["isotope"])
                out.append((entry["isotope"], count))
        except ValueError as err:
            f.fail(where, str(err))
    return tuple(out)


def _response(f: _File, r: dict, mass_kg: float, z_default: int) -> generic.GenericOptions:
    kw = dict(mass_kg=mass_kg)
    if r["observable"] not in generic.OBSERVABLES:
        f.fail("response.observable", f"must be one of {generic.OBSERVABLES}, got {r['observable']!r}")
    kw["observable"] = r["observable"]
    kw["edges"] = f.array(r["edges"], "response.edges", lo=0.0, increasing=True)
    q = r.get("quenching", {"model": "none"})
    f.table(q, "response.quenching", {"model": True, "value": False, "coefficients": False, "k": False, "z": False})
    if q["model"] not in generic.QUENCHING:
        f.fail("response.quenching.model", f"must be one of {generic.QUENCHING}, got {q['model']!r}")
    kw["quenching"] = q["model"]
    if q["model"] == "constant":
        kw["qf"] = f.number(q.get("value", None), "response.quenching.value", 1e-6, 1.0)
    if q["model"] == "polynomial":
        kw["qf_polynomial"] = f.array(q.get("coefficients"), "response.quenching.coefficients")
    if q["model"] == "lindhard":
        kw["lindhard_k"] = f.positive(q.get("k", 0.157), "response.quenching.k")
        kw["lindhard_z"] = int(f.number(q.get("z", z_default), "response.quenching.z", 1, 120))
    if kw["observable"] == "PE":
        kw["light_yield_pe_per_kevee"] = f.positive(r.get("light_yield_pe_per_kevee"),
                                                    "response.light_yield_pe_per_kevee")
        if kw["quenching"] == "none":
            f.fail("response.quenching", "a PE observable needs a quenching model (constant, polynomial, lindhard)")
    elif "light_yield_pe_per_kevee" in r:
        f.fail("response.light_yield_pe_per_kevee", "applies only to observable = 'PE'")
    if kw["observable"] == "keVee" and kw["quenching"] == "none":
        f.fail("response.quenching", "a keVee observable needs a quenching model (constant, polynomial, lindhard)")
    res = r.get("resolution", {"model": "none"})
    f.table(res, "response.resolution", {"model": True, "sqrt": False, "linear": False})
    if res["model"] not in generic.RESOLUTIONS:
        f.fail("response.resolution.model", f"must be one of {generic.RESOLUTIONS}, got {res['model']!r}")
    kw["resolution"] = res["model"]
    if res["model"] == "gaussian":
        kw["resolution_sqrt"] = f.number(res.get("sqrt", 0.0), "response.resolution.sqrt", 0.0)
        kw["resolution_linear"] = f.number(res.get("linear", 0.0), "response.resolution.linear", 0.0)
        if kw["resolution_sqrt"] == 0 and kw["resolution_linear"] == 0:
            f.fail("response.resolution", "a gaussian resolution needs sqrt > 0 or linear > 0")
    elif res["model"] == "poisson" and kw["observable"] != "PE":
        f.fail("response.resolution.model", "poisson (photoelectron counting) applies only to observable = 'PE'")
    if "efficiency" in r:
        e = f.table(r["efficiency"], "response.efficiency", {"x": True, "values": True})
        kw["efficiency_x"] = f.array(e["x"], "response.efficiency.x", lo=0.0, increasing=True)
        kw["efficiency"] = f.array(e["values"], "response.efficiency.values", n=len(kw["efficiency_x"]), lo=0.0,
                                   hi=1.0)
    if "threshold" in r:
        kw["threshold"] = f.number(r["threshold"], "response.threshold", 0.0)
    opts = generic.GenericOptions(**kw)
    if not generic.check_monotonic(opts):
        f.fail("response.quenching", "the mean observable must increase with the recoil energy")
    return opts


def load(path) -> Experiment:
    """Read and validate a TOML experiment description (see the module docstring)."""
    path = Path(path)
    f = _File(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (a TOML experiment description)")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {err}") from None
    f.table(doc, "", {k: k in ("experiment", "source", "target", "response") for k in _SCHEMA})
    for key, schema in _SCHEMA.items():
        if schema is not None and key in doc:
            f.table(doc[key], key, schema)
    e, s, t, r = doc["experiment"], doc["source"], doc["target"], doc["response"]
    name = f.text(e["name"], "experiment.name")
    kind = s.get("kind", "sns-pidar")
    if kind not in SOURCES:
        f.fail("source.kind", f"must be one of {SOURCES}, got {kind!r}")
    source = Source(
        nu_per_pot=f.positive(s["nu_per_pot"], "source.nu_per_pot"),
        n_pot=f.positive(s["n_pot"], "source.n_pot"),
        distance_m=f.positive(s["distance_m"], "source.distance_m"),
        kind=kind,
    )
    mass = f.positive(t["mass_kg"], "target.mass_kg")
    targets = _targets(f, t["composition"])
    z_main = max((nuclei.nucleus(iso) for iso, _ in targets), key=lambda n: n.a).z
    opts = _response(f, r, mass, z_main)
    n_bins = len(opts.edges) - 1

    data = {}
    if "observed" in doc.get("data", {}):
        data["n_meas"] = f.array(doc["data"]["observed"], "data.observed", n=n_bins, lo=0.0)
    backgrounds, nuisances = [], []
    lik = doc.get("likelihood", {})
    signal_sigma = lik.get("signal_sigma")
    if signal_sigma is not None:
        nuisances.append(NormSys("signal_norm", (SIGNAL,), f.positive(signal_sigma, "likelihood.signal_sigma")))
    bgs = doc.get("backgrounds", [])
    if not isinstance(bgs, list):
        f.fail("backgrounds", "must be an array of tables ([[backgrounds]])")
    for i, b in enumerate(bgs):
        where = f"backgrounds[{i}]"
        f.table(b, where, {"name": True, "counts": True, "sigma": False})
        bname = f.text(b["name"], f"{where}.name")
        if bname in (SIGNAL, "n_meas") or bname in {x.name for x in backgrounds}:
            f.fail(f"{where}.name", f"must be unique and not {SIGNAL!r} or 'n_meas', got {bname!r}")
        data[bname] = f.array(b["counts"], f"{where}.counts", n=n_bins, lo=0.0)
        backgrounds.append(Background(bname, bname))
        if "sigma" in b:
            nuisances.append(NormSys(f"{bname}_norm", (bname,), f.positive(b["sigma"], f"{where}.sigma")))
    statistic = lik.get("statistic", "poisson")
    if statistic not in ("poisson", "chi2"):
        f.fail("likelihood.statistic", f"must be 'poisson' or 'chi2', got {statistic!r}")
    if statistic == "chi2" and "n_meas" not in data:
        f.fail("likelihood.statistic", "chi2 needs data.observed (a forecast uses the Poisson statistic)")
    spec = LikelihoodSpec(
        observed="n_meas",
        backgrounds=tuple(backgrounds),
        nuisances=tuple(nuisances),
        statistics=(statistic,),
        chi2_variance=(("n_meas", 1.0),) + tuple((b.key, 1.0) for b in backgrounds) if statistic == "chi2" else (),
    )
    physics = PHYSICS_DEFAULTS | doc.get("physics", {})
    try:
        PhysicsOptions(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in physics.items()})
    except (TypeError, ValueError) as err:
        valid = ", ".join(x.name for x in fields(PhysicsOptions))
        raise ValueError(f"{path}: field physics: {err} (valid keys: {valid})") from None
    ref = doc.get("reference", {})
    sin2w = f.number(ref.get("sin2w", SIN2W_LOW_ENERGY), "reference.sin2w", 0.0, 1.0)
    heaviest = max((nuclei.nucleus(iso) for iso, _ in targets), key=lambda n: n.a)
    rn_fm = ref.get("rn_fm")
    rn_fm = None if rn_fm is None else f.positive(rn_fm, "reference.rn_fm")
    frozen_data = {k: np.asarray(v) for k, v in data.items()}

    def rn_ref(physics_options):
        # default: Helm rms radius for R_0 = 1.23 A^1/3 of the heaviest isotope (as Papoulias,
        # arXiv:1907.11644, below eq. 12)
        r0 = 1.23 * heaviest.a ** (1 / 3)
        return rn_fm if rn_fm is not None else form_factors.helm_rms_from_r0(r0, physics_options.helm_skin_fm)

    return Experiment(
        name=name,
        target=f.text(e["target"], "experiment.target"),
        dataset=f.text(e["dataset"], "experiment.dataset"),
        citation=f.text(e["citation"], "experiment.citation"),
        label=e.get("label", name),
        source=source,
        targets=targets,
        options=generic.GenericOptions,
        response=lambda o, nucs, n_targets: generic.build(o, nucs, n_targets, name=f"{name} ({path.name})"),
        data=lambda o: dict(frozen_data),
        likelihood=spec,
        sin2w_ref=sin2w,
        rn_ref=rn_ref,
        defaults={k: (tuple(v) if isinstance(v, list) else v) for k, v in physics.items()}
        | {f_.name: getattr(opts, f_.name) for f_ in fields(opts)},
        presets={"default": {}},
    )

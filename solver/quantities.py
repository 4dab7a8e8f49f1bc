"""The output quantities: one registry that post-processing, timeseries.csv, the field files, the pictures and
the reduced models read, so that a new output is one entry here (or one `register` call in its section module).

A Quantity says what it is (name, SI unit, title, symbol, kind), how it is sampled (`sampled`: "stress", a pure
numpy `measure` of the stress tensors and their points; "state", read by each writer from the solved fields; or
"extension", a point field an extension or an extra field (e.g. [oxygen]) provides), whether and how its peak is
tracked (`peak`), where it goes (`field_name` in fields_*.vtu/fields.xdmf, `columns` in timeseries.csv,
`summary_key` in summary.json) and how it is drawn (display unit and scale, colour map, signed/diverging, curve
colour, drawn by default).

Numpy only: the renderer runs in a process that must never import dolfinx, and reads its labels here.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from solver.analytic import hydrostatic_stress_Pa, von_mises_stress_Pa

PEAK_RULES = ("max", "max_magnitude_signed")   # the largest value (tension); the largest magnitude, with its sign
SAMPLINGS = ("stress", "state", "extension")
# timeseries.csv: these columns first and last; the quantities' columns in between (by column_rank, then registry order)
TIMESERIES_HEAD = ("time_s", "dt_s", "state_of_charge")
TIMESERIES_TAIL = ("coupling_iterations",)


# ---------------------------------------------------------------------------------------------- stress measures
def symmetric_eigenvalues(tensors: np.ndarray) -> np.ndarray:
    """Eigenvalues (ascending) of many symmetric 3x3 tensors, closed form (Smith 1961): vectorised, no loops."""
    t = 0.5 * (tensors + np.swapaxes(tensors, 1, 2))
    mean = np.trace(t, axis1=1, axis2=2) / 3.0
    dev = t - mean[:, None, None] * np.eye(3)
    p = np.sqrt(np.einsum("nij,nij->n", dev, dev) / 6.0)
    safe_p = np.where(p > 0, p, 1.0)
    b = dev / safe_p[:, None, None]
    half_det = np.clip(np.linalg.det(b) / 2.0, -1.0, 1.0)
    phi = np.arccos(half_det) / 3.0
    largest = mean + 2 * p * np.cos(phi)
    smallest = mean + 2 * p * np.cos(phi + 2 * np.pi / 3)
    middle = 3 * mean - largest - smallest
    return np.stack([smallest, middle, largest], axis=1)


def _trace(sigma: np.ndarray) -> np.ndarray:
    return np.trace(sigma, axis1=1, axis2=2)


def von_mises_stress(sigma: np.ndarray, points: np.ndarray, radius_m: float) -> np.ndarray:
    deviator = sigma - (_trace(sigma) / 3.0)[:, None, None] * np.eye(3)
    return np.sqrt(1.5 * np.einsum("nij,nij->n", deviator, deviator))


def max_principal_stress(sigma: np.ndarray, points: np.ndarray, radius_m: float) -> np.ndarray:
    return symmetric_eigenvalues(sigma)[:, 2]


def radial_stress(sigma: np.ndarray, points: np.ndarray, radius_m: float) -> np.ndarray:
    """e_r . sigma . e_r about the particle centre (the origin); the mean stress at the centre, where e_r is
    undefined (the common value of radial and hoop for symmetric states)."""
    r = np.linalg.norm(points, axis=1)
    at_centre = r < 1e-9 * radius_m
    e_r = points / np.where(at_centre, 1.0, r)[:, None]
    radial = np.einsum("ni,nij,nj->n", e_r, sigma, e_r)
    return np.where(at_centre, _trace(sigma) / 3.0, radial)


def hoop_stress(sigma: np.ndarray, points: np.ndarray, radius_m: float) -> np.ndarray:
    """The mean tangential normal stress (trace minus radial, halved): the spherical hoop stress
    sigma_theta = sigma_phi of a radially symmetric state; the mean stress at the centre."""
    trace = _trace(sigma)
    at_centre = np.linalg.norm(points, axis=1) < 1e-9 * radius_m
    return np.where(at_centre, trace / 3.0, 0.5 * (trace - radial_stress(sigma, points, radius_m)))


def hydrostatic_stress(sigma: np.ndarray, points: np.ndarray, radius_m: float) -> np.ndarray:
    return _trace(sigma) / 3.0


# ---------------------------------------------------------------------------------------------- the Quantity
@dataclass(frozen=True)
class Quantity:
    """One output quantity; see the module docstring. `label` (title with display unit) names axes and legends."""

    name: str                     # summary.json["peak"] key, the key of the sampled measures
    unit: str                     # SI unit of the values ("Pa", "mol/m^3", "m", "" for fractions)
    title: str                    # human name, no unit ("von Mises stress")
    symbol: str                   # plain-text symbol ("sigma_vM")
    kind: str                     # "stress", "concentration", "fraction", "displacement"
    sampled: str                  # one of SAMPLINGS
    field_name: str | None        # the point array in the field files; None: not written there
    measure: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None  # sampled == "stress"
    spherical: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None  # the measure in closed form for a
    #                       radially symmetric state (sigma_r, sigma_t): the 1D models; None: measure of the tensors
    peak: str | None = None       # one of PEAK_RULES: tracked over space and time (summary.json["peak"][name])
    columns: tuple[str, ...] = ()  # timeseries.csv columns
    column_rank: int = 1          # the columns' place in timeseries.csv (ties: registry order)
    row: Callable[[dict, float], dict] | None = None  # sampled == "state": its columns from the concentration
    #                                                 probe's sample (mean/surface/centre_mol_m3) and c_max
    summary_key: str | None = None  # dotted path in summary.json; peaks: "peak.<name>"
    display_unit: str = ""
    display_scale: float = 1.0    # SI value * display_scale = value in display_unit
    cmap: str = "viridis"
    signed: bool = False          # diverging colour map, range symmetric about zero
    colour: str | None = None     # its curve's colour in the peak-stress figure; None: the house palette's colour
    #                               of its place among the curves (solver/figure_style.py, colour-blind safe)
    drawn: bool = False           # in the default field pictures
    aliases: tuple[str, ...] = ()  # other names the renderer accepts for the field

    def __post_init__(self):
        if self.sampled not in SAMPLINGS:
            raise ValueError(f"quantity {self.name!r}: sampled = {self.sampled!r}, not one of {SAMPLINGS}")
        if self.peak is not None and self.peak not in PEAK_RULES:
            raise ValueError(f"quantity {self.name!r}: peak = {self.peak!r}, not one of {PEAK_RULES}")
        if (self.sampled == "stress") != (self.measure is not None):
            raise ValueError(f"quantity {self.name!r}: a measure is what a stress-sampled quantity has, and only it")

    @property
    def label(self) -> str:
        """For axes and legends: 'von Mises stress (MPa)', 'Li fraction'."""
        return f"{self.title} ({self.display_unit})" if self.display_unit else self.title

    def ranked(self, values):
        """What the peak is the largest of: the values ("max") or their magnitudes ("max_magnitude_signed")."""
        return np.abs(values) if self.peak == "max_magnitude_signed" else values

    def pick(self, values: np.ndarray) -> int:
        """Index of the peak of a 1D array."""
        return int(np.argmax(self.ranked(values)))

    def beats(self, candidate: float, incumbent: float) -> bool:
        return bool(self.ranked(candidate) > self.ranked(incumbent))


def stress_quantity(name: str, title: str, symbol: str, measure, peak: str = "max", *, spherical=None,
                    cmap: str = "coolwarm", signed: bool = True, colour: str | None = None, drawn: bool = False,
                    aliases=()) -> Quantity:
    """A stress measure: field `<name>_Pa`, peak over space and time, timeseries column `peak_<name>_Pa`, in MPa."""
    return Quantity(name=name, unit="Pa", title=title, symbol=symbol, kind="stress", sampled="stress",
                    field_name=f"{name}_Pa", measure=measure, spherical=spherical, peak=peak, columns=(f"peak_{name}_Pa",),
                    summary_key=f"peak.{name}", display_unit="MPa", display_scale=1e-6, cmap=cmap, signed=signed,
                    colour=colour, drawn=drawn, aliases=(name, *aliases))


BUILT_IN = (
    stress_quantity("von_mises", "von Mises stress", "sigma_vM", von_mises_stress, spherical=von_mises_stress_Pa,
                    cmap="inferno", signed=False, drawn=True, aliases=("vm",)),
    stress_quantity("max_principal", "max. principal stress", "sigma_1", max_principal_stress,
                    spherical=np.maximum),
    stress_quantity("hoop", "hoop stress", "sigma_theta", hoop_stress, spherical=lambda sigma_r, sigma_t: sigma_t),
    stress_quantity("radial", "radial stress", "sigma_r", radial_stress, "max_magnitude_signed",
                    spherical=lambda sigma_r, sigma_t: sigma_r),
    stress_quantity("hydrostatic", "hydrostatic stress", "sigma_h", hydrostatic_stress, "max_magnitude_signed",
                    spherical=hydrostatic_stress_Pa),
    Quantity("concentration_mol_m3", "mol/m^3", "Li concentration", "c", "concentration", "state",
             "concentration_mol_m3", columns=("surface_concentration_mol_m3", "centre_concentration_mol_m3"),
             column_rank=2, row=lambda probe, c_max: {"surface_concentration_mol_m3": probe["surface_mol_m3"],
                                                      "centre_concentration_mol_m3": probe["centre_mol_m3"]},
             summary_key="concentration", display_unit="mol/m^3", drawn=True, aliases=("concentration", "c")),
    Quantity("li_fraction", "", "Li fraction", "x", "fraction", "state", "li_fraction", columns=("mean_li_fraction",),
             column_rank=0, row=lambda probe, c_max: {"mean_li_fraction": probe["mean_mol_m3"] / c_max},
             summary_key="final_li_fraction_mean"),
    Quantity("displacement_m", "m", "displacement", "u", "displacement", "state", "displacement_m",
             display_unit="m", cmap="plasma", aliases=("displacement",)),
)

_REGISTRY: dict[str, Quantity] = {q.name: q for q in BUILT_IN}


# ---------------------------------------------------------------------------------------------- the registry
def register(*quantities: Quantity) -> None:
    """Add quantities after those registered (an extension registers its own from its module). The same entry again
    is a no-op; another quantity under a taken name or field name is an error."""
    for q in quantities:
        known = _REGISTRY.get(q.name)
        if known == q:
            continue
        if known is not None or (q.field_name and q.field_name in {k.field_name for k in _REGISTRY.values()}):
            raise ValueError(f"quantity {q.name!r} ({q.field_name}): name or field name already registered")
        _REGISTRY[q.name] = q


@contextlib.contextmanager
def registered(*quantities: Quantity) -> Iterator[None]:
    """The registry with `quantities` added for the duration (tests, one-off outputs); restored afterwards."""
    saved = dict(_REGISTRY)
    try:
        register(*quantities)
        yield
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)


def all_quantities() -> tuple[Quantity, ...]:
    """Every registered quantity, in registry order."""
    return tuple(_REGISTRY.values())


def get(name: str) -> Quantity:
    return _REGISTRY[name]


def by_field_name(field_name: str) -> Quantity | None:
    return next((q for q in _REGISTRY.values() if q.field_name == field_name), None)


def stress_quantities() -> tuple[Quantity, ...]:
    """The quantities measured from the stress tensor, in registry order."""
    return tuple(q for q in _REGISTRY.values() if q.sampled == "stress")


def peak_quantities() -> tuple[Quantity, ...]:
    """The stress quantities whose peak is tracked (summary.json["peak"], the peak_* columns)."""
    return tuple(q for q in stress_quantities() if q.peak is not None)


def stress_measures(sigma: np.ndarray, points: np.ndarray, radius_m: float) -> dict[str, np.ndarray]:
    """{name: values} of every stress quantity, for stress tensors (n, 3, 3) at points (n, 3) of a particle
    centred at the origin."""
    return {q.name: q.measure(sigma, points, radius_m) for q in stress_quantities()}


def local_peaks(measures: dict[str, np.ndarray], points: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
    """{name: (value, position)} of each peak quantity over these points, by its peak rule; (nan, 0) where none."""
    out = {}
    for q in peak_quantities():
        values = measures[q.name]
        if values.size == 0:
            out[q.name] = (np.nan, np.zeros(3))
            continue
        i = q.pick(values)
        out[q.name] = (float(values[i]), points[i].copy())
    return out


def spherical_measures(sigma_r: np.ndarray, sigma_t: np.ndarray, r_m: np.ndarray) -> dict[str, np.ndarray]:
    """{name: values shaped like sigma_r} of every stress quantity of a radially symmetric state (sigma_r, sigma_t)
    (..., n) over the radii r_m (n,): by its closed form, or else its measure of diag(sigma_r, sigma_t, sigma_t)
    at (r, 0, 0)."""
    sigma_r, sigma_t = np.asarray(sigma_r, dtype=float), np.asarray(sigma_t, dtype=float)
    out, tensors = {}, None
    for q in stress_quantities():
        if q.spherical is not None:
            out[q.name] = q.spherical(sigma_r, sigma_t)
            continue
        if tensors is None:
            tensors = np.zeros((sigma_r.size, 3, 3))
            tensors[:, 0, 0], tensors[:, 1, 1], tensors[:, 2, 2] = sigma_r.ravel(), sigma_t.ravel(), sigma_t.ravel()
            radii = np.broadcast_to(np.asarray(r_m, dtype=float), sigma_r.shape).ravel()
            points = np.column_stack([radii, np.zeros((radii.size, 2))])
            radius_m = float(np.max(np.abs(radii))) if radii.size else 1.0
        out[q.name] = q.measure(tensors, points, radius_m).reshape(sigma_r.shape)
    return out


def timeseries_columns() -> tuple[str, ...]:
    ordered = sorted(enumerate(_REGISTRY.values()), key=lambda iq: (iq[1].column_rank, iq[0]))
    return (*TIMESERIES_HEAD, *(c for _, q in ordered for c in q.columns), *TIMESERIES_TAIL)


def timeseries_row(time_s: float, dt_s: float, state_of_charge: float, peaks: dict, probe: dict, c_max: float,
                   coupling_iterations: int) -> dict:
    """One timeseries.csv row: peaks {name: (value, position)} and the concentration probe's sample."""
    row = {"time_s": time_s, "dt_s": dt_s, "state_of_charge": state_of_charge,
           "coupling_iterations": coupling_iterations}
    for q in _REGISTRY.values():
        if q.row is not None:
            row.update(q.row(probe, c_max))
        elif q.peak is not None and q.name in peaks:
            row.update({column: peaks[q.name][0] for column in q.columns})
    return row


def field_arrays(stress: dict[str, np.ndarray], state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{field name: point values} in registry order: the stress quantities from `stress` {name: values} and the
    state quantities from `state` {name: values} (every one required); extension fields are the extension's."""
    out = {}
    for q in _REGISTRY.values():
        if q.field_name is None or q.sampled == "extension":
            continue
        out[q.field_name] = stress[q.name] if q.sampled == "stress" else state[q.name]
    return out

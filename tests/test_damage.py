"""The phase-field damage field (solver/fields/damage.py, [damage] in solver/damage_section.py).

A homogeneous bar in uniaxial tension: both ends held (u_x = 0), the sides free, loaded by a uniform Vegard
eigenstrain (Li removed: the bar would shrink, the ends keep it, so sigma_xx = E e with e = -eps*). The state stays
homogeneous, so the finite-element answer is the model's closed form on any mesh: the peak stress is the model's
strength, the damage never decreases, and the work of the eigenstrain equals the stored elastic energy plus the
energy the crack has dissipated.
"""
from __future__ import annotations

import numpy as np
import pytest
import ufl
from mpi4py import MPI
import dolfinx.fem

from petsc4py import PETSc
import dolfinx.mesh

from solver import compat, linalg
from solver.case import validate_case
from solver.damage_section import NORMALISATION, strength_Pa
from solver.errors import CaseError
from solver.physics import damage as physics
from solver.problem import ChemoMechanicalProblem

from convergence import assert_rate
from test_anisotropic import box_particle, set_uniform_li_fraction

E_PA, NU, OMEGA, C_MAX = 150e9, 0.3, 1.39e-6, 49000.0
X_REF = 0.95
LENGTH_UM, GC = 1.0, 0.5
BAR_M = (1e-6, 0.5e-6, 0.5e-6)


def bar_case(damage: dict, solver: dict | None = None) -> dict:
    raw = {
        "name": "damage bar",
        "geometry": {"kind": "sphere", "radius_um": 1.0},
        "material": {"c_max_mol_m3": C_MAX, "diffusivity_m2_s": 1e-14, "young_modulus_Pa": E_PA, "poisson_ratio": NU,
                     "partial_molar_volume_m3_mol": OMEGA, "stress_free_li_fraction": X_REF},
        # potentiostatic: the box held on every face has no wetted area to divide a current by (Li is set by hand)
        "operation": {"mode": "potentiostatic", "surface_li_fraction": X_REF, "li_fraction_start": X_REF},
        "time": {"t_end_s": 1.0},
        # LU: the bar's displacement does not change with d (held ends, uniform state), so the staggered iteration's
        # mechanics solves start at the answer and CG + GAMG stops on roundoff (indefinite preconditioner)
        "solver": {"linear_rtol": 1e-12, "mechanics_preconditioner": "lu", **(solver or {})},
        "output": {"progress": False},
        "damage": {"length_scale_um": LENGTH_UM, "fracture_energy_J_m2": GC, "staggered_tolerance": 1e-8, **damage},
    }
    return validate_case(raw)


def bar_problem(damage: dict, held: str = "ends", grain_boundary: bool = False) -> ChemoMechanicalProblem:
    """The bar [0, 1] x [0, 0.5] x [0, 0.5] um (as long as l: the homogeneous state stays stable past the peak;
    a bar of 4 l localises into one crack there, and the unstable jump breaks the energy balance, as it should),
    `held`: "ends" (u_x = 0 at both ends, u_y = 0 at y = 0, u_z = 0 at z = 0: uniaxial stress) or "all" (zero
    normal displacement on every face: a hydrostatic state)."""
    lx, ly, lz = BAR_M
    tol = 1e-12

    def faces(axis, both):
        return lambda p: np.isclose(p[axis], 0, atol=tol) | (both & np.isclose(p[axis], BAR_M[axis], atol=tol))

    every = held == "all"
    facets = {"symmetry_x": faces(0, True), "symmetry_y": faces(1, every), "symmetry_z": faces(2, every),
              "outer_surface": lambda p: (not every) & (np.isclose(p[1], ly, atol=tol) | np.isclose(p[2], lz, atol=tol))}
    interfaces = [lambda p: np.isclose(p[0], lx / 2, atol=tol)] if grain_boundary else []
    particle = box_particle(BAR_M, (4, 2, 2), lambda p: 0, [np.eye(3)], facets, interfaces)
    return ChemoMechanicalProblem(bar_case(damage), particle)


def load_path(problem, strains, energies: bool = False):
    """Step the bar through the elastic strains `strains` (e = -eps* = Omega (c_ref - c) / 3); returns per step (e, mean sigma_xx, damage array) and,
    with `energies`, the elastic and crack energies."""
    mechanics, damage = problem.fields["mechanics"], problem.fields["damage"]
    axis = ufl.as_vector([1.0, 0.0, 0.0])
    stress_form = dolfinx.fem.form(ufl.inner(ufl.dot(problem.stress(), axis), axis) * problem.dx)
    volume = problem.volume_m3          # a 2D bar's: its area (per unit thickness, as its integrals)
    out = []
    for e in strains:
        set_uniform_li_fraction(problem, X_REF - 3 * e / (OMEGA * C_MAX))
        mechanics.solve()
        damage.solve()
        problem.accept_step()
        stress = problem.comm.allreduce(dolfinx.fem.assemble_scalar(stress_form), op=MPI.SUM) / volume
        step = (e, stress, damage.d.x.array.copy())
        out.append(step + ((damage.elastic_energy_J(), damage.crack_energy_J()) if energies else ()))
    return out


def strength_of(model: str) -> float:
    return strength_Pa(model, E_PA, GC, LENGTH_UM * 1e-6)


def strain_at_peak(model: str) -> float:
    """AT1: sigma_c / E (elastic up to the peak); AT2: sqrt(Gc / (3 l E)), where d = 1/4 and sigma = 9/16 E e."""
    return strength_of(model) / E_PA if model == "AT1" else np.sqrt(GC / (3 * LENGTH_UM * 1e-6 * E_PA))


def test_the_homogeneous_bar_peaks_at_the_model_strength():
    """AT1: sqrt(3 E Gc / (8 l)), AT2: sqrt(27 E Gc / (256 l)) (Pham et al. 2011). AT1's curve has a corner at the
    peak (elastic, then softening ~ e^-3): steps of 0.5 % of the peak strain about it (not landing on it) sample it
    within 0.5 %; AT2's is smooth, 40 steps to twice the peak strain sample it within ~0.1 %."""
    for model, fractions in (("AT1", np.concatenate([[0.4, 0.8], np.linspace(0.8013, 1.3, 100)])),
                             ("AT2", np.linspace(0.013, 2, 40))):
        path = load_path(bar_problem({"model": model}), strain_at_peak(model) * fractions)
        peak = max(stress for _, stress, _ in path)
        assert peak == pytest.approx(strength_of(model), rel=0.01), model
        assert peak <= strength_of(model) * (1 + 1e-6), model      # sampled: never above the closed form
        assert path[-1][1] < 0.8 * strength_of(model), model         # and past the peak it softens


@pytest.mark.parametrize("model", ["AT1", "AT2"])
def test_damage_never_decreases_and_work_equals_elastic_plus_crack_energy(model):
    """Load past the peak, unload to zero, reload further: d never decreases (it stays put while unloading), and at
    every step the work of the eigenstrain, int sigma de (trapezoid), equals elastic + crack energy within 1 % of
    the work (measured: 0.07 % AT1, 0.03 % AT2; the trapezoid rule on the softening branch)."""
    problem = bar_problem({"model": model})
    e_p = strain_at_peak(model)
    strains = np.concatenate([np.linspace(0, 1.8 * e_p, 61)[1:], np.linspace(1.8 * e_p, 0, 21)[1:],
                              np.linspace(0, 2.5 * e_p, 41)[1:]])
    path = load_path(problem, strains, energies=True)
    volume = np.prod(BAR_M)
    work, previous = 0.0, (0.0, 0.0)
    damages = [np.zeros_like(path[0][2])]
    errors = []
    for e, stress, d, elastic, crack in path:
        work += volume * 0.5 * (stress + previous[1]) * (e - previous[0])
        previous = (e, stress)
        assert np.all(d >= damages[-1] - 1e-12)
        damages.append(d)
        errors.append(abs(elastic + crack - work) / work)
    assert max(errors) < 0.01, max(errors)
    assert damages[-1].max() > 0.5          # the bar did crack, so the balance had a crack energy to check
    # unloading (steps 60-79) leaves the damage of the last loading step (damages[60]) where it was
    assert all(np.allclose(damages[k], damages[60], rtol=0, atol=1e-10) for k in range(61, 81))


def test_hydrostatic_compression_does_not_crack():
    """With the volumetric-deviatoric split and the hybrid condition (psi+ < psi-: no driving force), a box held on
    every face and swollen (Li inserted) is in hydrostatic compression: no damage, however far it is pushed; without
    the split the same state cracks. (Uniaxial compression has psi+ = mu dev e : dev e > psi- and does damage under
    Amor's split, a known limit of that split.)"""
    strains = -np.linspace(0, 3 * strain_at_peak("AT2"), 11)[1:]
    split = load_path(bar_problem({}, held="all"), strains)
    plain = load_path(bar_problem({"energy_split": "none"}, held="all"), strains)
    assert split[-1][1] < -3 * strength_of("AT2")       # compressed well beyond the tensile strength
    assert np.all(split[-1][2] == 0.0)
    assert plain[-1][2].min() > 0.5


def test_grain_boundaries_are_weaker():
    """Gc times the factor in the cells touching a grain_boundary facet: they damage first."""
    problem = bar_problem({"model": "AT1", "grain_boundary_toughness_factor": 0.5}, grain_boundary=True)
    toughness = problem.fields["damage"].toughness.x.array
    assert set(np.round(toughness / GC, 12)) == {0.5, 1.0}
    path = load_path(problem, [0.9 * strain_at_peak("AT1")])
    assert path[-1][2].max() > 0.0            # above the weakened boundary's elastic limit (0.5 x energy)


@pytest.mark.parametrize("damage, message", [
    ({"model": "AT3"}, "damage.model = 'AT3'"),
    ({"length_scale_um": -1.0}, "damage.length_scale_um = -1"),
    ({"length_scale_um": None}, "damage.length_scale_um: missing"),
    ({"fracture_energy_J_m2": 0}, "damage.fracture_energy_J_m2 = 0"),
    ({"residual_stiffness": 1.5}, "damage.residual_stiffness = 1.5"),
    ({"initiation_damage": 0.99, "crack_damage": 0.9}, "damage.initiation_damage = 0.99"),
    ({"grain_boundary_toughness_factor": 0}, "damage.grain_boundary_toughness_factor = 0"),
    ({"energy_split": "spectral"}, "damage.energy_split = 'spectral'"),
    ({"length_scale_m": 1e-6}, "damage.length_scale_m: unknown key"),
])
def test_bad_damage_input_is_a_case_error_naming_the_key(damage, message):
    table = {"length_scale_um": LENGTH_UM, "fracture_energy_J_m2": GC, **damage}
    table = {key: value for key, value in table.items() if value is not None}
    with pytest.raises(CaseError) as error:
        validate_case({**_raw_minimal(), "damage": table})
    assert message in str(error.value)


def _raw_minimal() -> dict:
    return {"name": "damage check", "geometry": {"kind": "sphere", "radius_um": 1.0},
            "material": {"parameter_set": "ncm811"}, "operation": {"li_fraction_start": 0.95, "li_fraction_end": 0.2}}


def test_a_grain_boundary_factor_needs_grain_boundaries():
    with pytest.raises(CaseError, match="damage.grain_boundary_toughness_factor = 0.5: the geometry has no"):
        bar_problem({"grain_boundary_toughness_factor": 0.5})


def test_the_shipped_damage_case_runs_from_the_cli_and_writes_the_fracture_summary(cli, tmp_path):
    """cases/ncm811_damage.toml on a coarse mesh (as tests/test_regression.py runs it): the run completes, the
    damage is in the field file and summary.json holds the fracture entry with its documented keys."""
    import json

    from conftest import CASES

    out = tmp_path / "run"
    done = cli("run", CASES / "ncm811_damage.toml", "--out", out, "--no-pictures", "--set",
               "mesh.cell_size_fraction=0.35", "--set", "mesh.surface_cell_size_fraction=0.2", "--set", "time.steps=4")
    assert done.returncode == 0, done.stderr
    fracture = json.loads((out / "summary.json").read_text())["fracture"]
    assert fracture["state"] in ("intact", "mild", "broken")
    assert 0 < fracture["max_damage"] <= 1 and 0 <= fracture["crack_volume_fraction"] <= 1
    assert fracture["strength_Pa"] == pytest.approx(strength_Pa("AT1", 150e9, 0.5, 2e-6))
    assert {"initiation", "crack_energy_J", "cell_size_over_length_scale"} <= set(fracture)
    assert 'Name="damage"' in (out / "fields.xdmf").read_text()


def test_the_1d_formulation_refuses_damage_instead_of_ignoring_it():
    from solver.reduced.symmetry import check_reducible

    raw = {**_raw_minimal(), "damage": {"length_scale_um": LENGTH_UM, "fracture_energy_J_m2": GC},
           "solver": {"formulation": "spherical_1d"}}
    with pytest.raises(CaseError, match=r"\[damage\]: this field runs with solver.formulation = '3d' or "
                                        r"'axisymmetric' or 'section_2d' only"):
        check_reducible(validate_case(raw))


def test_the_axisymmetric_formulation_runs_damage_and_writes_the_fracture_summary(cli, tmp_path):
    """cases/ncm811_damage.toml on the meridian (a few seconds): the reduced runner collects the field's summary,
    and the meridian field file carries the damage."""
    import json

    from conftest import CASES

    out = tmp_path / "axisymmetric"
    done = cli("run", CASES / "ncm811_damage.toml", "--out", out, "--no-pictures", "--set",
               "solver.formulation=axisymmetric", "--set", "time.steps=4")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    fracture = summary["fracture"]
    assert summary["formulation"] == "axisymmetric" and fracture["max_damage"] == pytest.approx(1.0)
    assert fracture["state"] == "mild" and 0.05 < fracture["crack_volume_fraction"] < 0.3
    assert fracture["cell_size_over_length_scale"] < 0.5
    import meshio

    damage = meshio.read(out / "fields_final.vtu").point_data["damage"]
    assert damage.max() == pytest.approx(1.0) and damage.min() >= 0.0


def test_reject_and_restore_bring_back_the_damage_and_its_history():
    """A rejected step returns d and H to the last accepted state; restore() returns the state() taken earlier,
    also after later accepted steps (what a step-retry strategy needs)."""
    problem = bar_problem({"model": "AT2"})
    damage = problem.fields["damage"]
    e_p = strain_at_peak("AT2")
    load_path(problem, [0.5 * e_p, 1.0 * e_p])
    accepted = (damage.d.x.array.copy(), damage.history.x.array.copy())
    saved = damage.state()
    set_uniform_li_fraction(problem, X_REF - 3 * 1.5 * e_p / (OMEGA * C_MAX))
    problem.fields["mechanics"].solve()
    damage.solve()
    assert damage.d.x.array.min() > accepted[0].max() + 0.05      # the trial step damaged further
    problem.reject_step()
    assert np.array_equal(damage.d.x.array, accepted[0]) and np.array_equal(damage.history.x.array, accepted[1])
    load_path(problem, [1.5 * e_p])                                 # accepted this time
    damage.restore(saved)
    assert np.array_equal(damage.d.x.array, accepted[0]) and np.array_equal(damage.history.x.array, accepted[1])
    # and the next step starts from the restored history: the same load gives the same damage as before
    load_path(problem, [1.5 * e_p])
    again = damage.d.x.array.copy()
    fresh = bar_problem({"model": "AT2"})
    load_path(fresh, [0.5 * e_p, 1.0 * e_p, 1.5 * e_p])
    assert np.allclose(again, fresh.fields["damage"].d.x.array, rtol=0, atol=1e-9)


def half_crack_energy(model: str, cells_per_length: int, dim: int = 1) -> float:
    """Crack energy of the optimal profile beside a fully cracked plane (d = 1 at x = 0, no elastic energy:
    H = 0) in 1D, with l = Gc = 1: the damage equation and crack energy of solver/physics/damage.py. Exact:
    Gc / 2 (one side of a crack of unit area). AT1's profile (1 - x / 2l)^2 ends at x = 2l (the domain); AT2's,
    exp(-x / l), is cut at 12 l. `dim` = 3: the same on a bar of tetrahedra with a unit cross-section (l x l),
    cells_per_length along each side."""
    span = 2.0 if model == "AT1" else 12.0
    n = int(span * cells_per_length)
    mesh = (dolfinx.mesh.create_interval(MPI.COMM_SELF, n, [0.0, span]) if dim == 1 else
            dolfinx.mesh.create_box(MPI.COMM_SELF, [np.zeros(3), np.array([span, 1.0, 1.0])],
                                    [n, cells_per_length, cells_per_length],
                                    cell_type=dolfinx.mesh.CellType.tetrahedron))
    space = compat.scalar_space(mesh, 1)
    history = dolfinx.fem.Function(compat.scalar_space(mesh, 0, "DG"))
    d, v = ufl.TrialFunction(space), ufl.TestFunction(space)
    a, L = physics.damage_forms(d, v, history, 1.0, 1.0, NORMALISATION[model], model, ufl.dx(mesh))
    a, L = dolfinx.fem.form(a), dolfinx.fem.form(L)
    crack = dolfinx.fem.locate_dofs_geometrical(space, lambda p: np.isclose(p[0], 0.0))
    bcs = [dolfinx.fem.dirichletbc(PETSc.ScalarType(1.0), crack, space)]
    b = compat.create_vector(L)
    compat.assemble_vector_into(b, L, a, bcs)
    solution = dolfinx.fem.Function(space)
    ksp = linalg.make_ksp(MPI.COMM_SELF, f"crack_{model}_{cells_per_length}_{dim}_", "lu", 1e-12,
                          compat.assemble_matrix(a, bcs))
    linalg.solve(ksp, b, compat.petsc_vector(solution), "crack profile")
    density = physics.crack_energy_density(solution, 1.0, 1.0, NORMALISATION[model], model)
    return float(dolfinx.fem.assemble_scalar(dolfinx.fem.form(density * ufl.dx(mesh))))


@pytest.mark.parametrize("model", ["AT1", "AT2"])
def test_a_straight_crack_dissipates_gc_per_area_under_refinement(model):
    """The c_w normalisation of both models: the optimal profile's crack energy tends to Gc x area at second order
    in h (P1 energy error; measured 2.00 for both, errors 2e-3 -> 3e-5 relative from h = l/8 to l/64)."""
    per_length = [8, 16, 32, 64]
    errors = [half_crack_energy(model, n) / 0.5 - 1 for n in per_length]
    assert abs(errors[-1]) < 1e-4
    assert_rate([1.0 / n for n in per_length], errors, 2.0, 1.9, 2.1, f"{model} crack energy")


@pytest.mark.parametrize("model", ["AT1", "AT2"])
def test_the_crack_energy_hardly_depends_on_the_mesh_at_the_resolutions_a_particle_gets(model):
    """Mesh independence where particles are meshed (h = l/2 .. l/4) and in 3D: the straight crack's profile on a
    bar of tetrahedra dissipates Gc per area within 1.1 % at h = l/2 and 0.3 % at l/4 (measured AT1 0.74 / 0.34 /
    0.19 %, AT2 1.02 / 0.46 / 0.26 % at l/2, l/3, l/4; the 1D values within 0.05 % of them), still second order
    (measured 1.96 AT1, 1.98 AT2)."""
    per_length = [2, 3, 4]
    errors = [half_crack_energy(model, n, dim=3) / 0.5 - 1 for n in per_length]
    assert 0 < errors[0] < 0.011 and 0 < errors[-1] < 0.003, errors
    assert_rate([1.0 / n for n in per_length], errors, 2.0, 1.85, 2.15, f"{model} crack energy, 3D")


@pytest.mark.slow
def test_the_shipped_sphere_cracks_alike_on_two_meshes(cli, tmp_path):
    """cases/ncm811_damage.toml (octant, l = 2 um) with cells of l/4 and l/5.7 (cell_size_fraction 0.1 and 0.07:
    2734 and 7600 cells, ~20 s and ~40 s): the crack volume fraction within 5 % (measured 0.1161 and 0.1136,
    2.2 %), the dissipated energy within 2 % (measured 0.6 %), the same state and initiation step."""
    import json

    from conftest import CASES

    results = []
    for fraction in (0.1, 0.07):
        out = tmp_path / f"run_{fraction}"
        done = cli("run", CASES / "ncm811_damage.toml", "--out", out, "--no-pictures", "--set",
                   f"mesh.cell_size_fraction={fraction}", "--set", f"mesh.surface_cell_size_fraction={fraction}")
        assert done.returncode == 0, done.stderr
        results.append(json.loads((out / "summary.json").read_text())["fracture"])
    coarse, fine = results
    assert coarse["crack_volume_fraction"] > 0.05                  # there is a crack to compare
    assert coarse["crack_volume_fraction"] == pytest.approx(fine["crack_volume_fraction"], rel=0.05)
    assert coarse["crack_energy_J"] == pytest.approx(fine["crack_energy_J"], rel=0.02)
    assert coarse["state"] == fine["state"]
    assert coarse["initiation"]["time_s"] == fine["initiation"]["time_s"]


@pytest.mark.slow
def test_the_axisymmetric_sphere_dissipates_what_the_3d_one_does(cli, tmp_path):
    """The same case on the meridian (cell_size_fraction 0.05, 760 P2-u triangles, ~7 s) and on the 3D octant
    (0.1, ~20 s): the whole particle's dissipated energy (the octant's times 8) within 3 % (measured 4.195e-11 J
    against 4.158e-11 J, 0.9 %). The crack volume fraction (d > 0.95) is the touchier number: measured 0.097
    against 0.116 (the meridian gives 0.119 / 0.103 / 0.097 at 0.1 / 0.07 / 0.05, the octant 0.116 / 0.114 at
    0.1 / 0.07), so it is held to 25 % only."""
    import json

    from conftest import CASES

    results = {}
    for formulation, fraction in (("axisymmetric", 0.05), ("3d", 0.1)):
        out = tmp_path / formulation
        done = cli("run", CASES / "ncm811_damage.toml", "--out", out, "--no-pictures", "--set",
                   f"solver.formulation={formulation}", "--set", f"mesh.cell_size_fraction={fraction}", "--set",
                   f"mesh.surface_cell_size_fraction={fraction}")
        assert done.returncode == 0, done.stderr
        results[formulation] = json.loads((out / "summary.json").read_text())["fracture"]
    meridian, octant = results["axisymmetric"], results["3d"]
    assert meridian["crack_energy_J"] == pytest.approx(8 * octant["crack_energy_J"], rel=0.03)
    assert meridian["crack_volume_fraction"] == pytest.approx(octant["crack_volume_fraction"], rel=0.25)
    assert meridian["state"] == octant["state"]

"""Manufactured-solution check of the transient diffusion operator the solver uses.

Guards: the transport form (volume term, surface flux term, source) and the variable-step BDF2
weights. c(x, t) = 1 + 0.1 sin(pi x) cos(pi y) e^{z} e^{3 t} on the unit cube, whose normal
derivative is non-zero on several faces, so the surface-flux term is exercised. With h and dt
refined together the L2 error must fall at second order (P1 in space, BDF2 in time).
"""
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from petsc4py import PETSc

dolfinx = pytest.importorskip("dolfinx")
import dolfinx.fem  # noqa: E402
import dolfinx.mesh  # noqa: E402

from solver import compat, linalg  # noqa: E402
from solver.physics import transport  # noqa: E402

from convergence import assert_rate  # noqa: E402

DIFFUSIVITY = 0.7
GROWTH = 3.0  # a fast exponential in time, so that time errors are visible next to space errors
T_END = 0.5


def exact(x, t):
    """The manufactured solution, written once for ufl and numpy (x may be a SpatialCoordinate)."""
    lib = ufl if isinstance(x, ufl.core.expr.Expr) else np
    return 1 + 0.1 * lib.sin(np.pi * x[0]) * lib.cos(np.pi * x[1]) * lib.exp(x[2]) * lib.exp(GROWTH * t)


def l2_error_at_end(n_cells: int, n_steps: int, scheme: str = "bdf2") -> float:
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, n_cells, n_cells, n_cells)
    space = compat.scalar_space(mesh, 1)
    x = ufl.SpatialCoordinate(mesh)
    time = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
    c_exact = exact(x, time)
    # source = dc/dt - D lap c; boundary flux into the body = D grad c . n
    dcdt = GROWTH * (c_exact - 1)
    source = dcdt - DIFFUSIVITY * ufl.div(ufl.grad(c_exact))
    flux_in = DIFFUSIVITY * ufl.dot(ufl.grad(c_exact), ufl.FacetNormal(mesh))

    c, c_old, c_older = (dolfinx.fem.Function(space) for _ in range(3))
    initial = compat.expression(exact(x, 0.0), space)
    for f in (c, c_old, c_older):
        f.interpolate(initial)
    dt = dolfinx.fem.Constant(mesh, PETSc.ScalarType(T_END / n_steps))
    w_new, w_old, w_older = (dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0)) for _ in range(3))
    trial, test = ufl.TrialFunction(space), ufl.TestFunction(space)
    # exp/sin in the exact solution would otherwise ask for ~1000 quadrature points per cell
    quadrature = {"quadrature_degree": 6}
    dx, ds = ufl.dx(domain=mesh, metadata=quadrature), ufl.ds(domain=mesh, metadata=quadrature)
    bilinear, linear = transport.transport_forms(
        trial, test, w_old * c_old + w_older * c_older, dt, w_new, DIFFUSIVITY, dx,
        surface_fluxes=[(flux_in, ds)], source=source)
    a, L = dolfinx.fem.form(bilinear), dolfinx.fem.form(linear)
    A = compat.assemble_matrix(a)
    b = compat.create_vector(L)
    ksp = linalg.make_ksp(mesh.comm, f"mms_{n_cells}_{scheme}_", "cg_hypre", 1e-12, A)
    previous_dt = None
    step = T_END / n_steps
    for k in range(1, n_steps + 1):
        w_new.value, w_old.value, w_older.value = transport.multistep_weights(step, previous_dt, scheme)
        compat.assemble_matrix_into(A, a)
        time.value = k * step
        compat.assemble_vector_into(b, L)
        linalg.solve(ksp, b, compat.petsc_vector(c), "mms")
        c_older.x.array[:] = c_old.x.array
        c_old.x.array[:] = c.x.array
        previous_dt = step
    error = dolfinx.fem.form((c - c_exact) ** 2 * dx)
    return np.sqrt(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(error), op=MPI.SUM))


def test_bdf2_diffusion_converges_at_second_order():
    levels = [(4, 4), (8, 8), (16, 16)]
    errors = [l2_error_at_end(n, steps) for n, steps in levels]
    assert errors[-1] < errors[0] / 10
    # P1 + BDF2, h and dt halved together: order 2; measured 1.87 (the coarsest 4 x 4 level is pre-asymptotic)
    assert_rate([1 / n for n, _ in levels], errors, 2, 1.75, 2.3, "MMS L2 error, BDF2")


def test_backward_euler_is_first_order_in_time():
    """The same operator with backward Euler: halving dt on a fine mesh halves the (time-dominated) error."""
    coarse = l2_error_at_end(12, 4, "backward_euler")
    fine = l2_error_at_end(12, 8, "backward_euler")
    # order 1 in time; measured 0.87 (error ratio 1.83: the spatial error of the 12 x 12 mesh does not halve)
    assert_rate([1.0, 0.5], [coarse, fine], 1, 0.75, 1.2, "MMS L2 error, backward Euler, dt halved")

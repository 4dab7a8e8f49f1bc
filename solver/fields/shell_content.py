"""The Li-deficient shell content: an initial Li profile rising through the shell, and bounded regions whose Li
content stops changing at a limit (the 3D counterpart of the bounded regions of solver/spherical1d.py).

It is part of the Li transport field (solver/fields/transport.py), not a field of its own: it has no unknown,
only the map from the transported potential to the Li content and its DG1 copy, which must follow every
transport solve (so it is refreshed by TransportField.solve and reject, not stepped by the problem).

Case keys ([initial] shell_*, [material.regions.<region>] li_fraction_min/max, [region_peaks]), the deficit
profile d(r) and the 1D reference: solver/shell_section.py (no dolfinx).

Model
-----
The transported P1 field problem.c is a potential-like concentration u (mol/m^3); the Li content is

    c_Li = clip(u - d(r), c_lo, c_hi)

d(r) >= 0 is the shell's Li deficit (zero in the bulk) and [c_lo, c_hi] the bounds of the cell's region
(unbounded regions: c_Li = u - d). The flux is driven by grad u, as in spherical1d.
- "structural" deficit (default): the shell has fewer accessible Li sites, so the graded profile is in
  equilibrium at t = 0 (u uniform = c0, c_Li = c0 - d). Li then leaves the shell and the bulk alike until
  the shell reaches its lower bound. A measured, persistent gradient (EELS, TOF-SIMS) must be of this kind:
  a plain concentration gradient would even out by diffusion within minutes at room temperature.
- "diffusing" deficit: u starts at c0 - d and d = 0 afterwards, an ordinary Fickian gradient.
The stress-free reference is the initial content (stress_free_li_fraction * c_max - d), so lattice strain is
proportional to the Li extracted since the start.

Bounded storage (mass exact)
  On cells of bounded regions the storage is int clip(u - d, c_lo, c_hi) v dx, the clip evaluated at the
  points of a degree-CONTENT_QUADRATURE_DEGREE rule, so that the front where the bound becomes active is
  resolved inside a cell (clipping at the vertices, as the 1D model does on its fine mesh, makes an error of
  order h |grad(u - d)| next to the front: 10-30 % in stress with 2-3 cells across a shell). Where the content
  sits at a bound its storage derivative is zero: it no longer changes, but Li still flows through. The
  nonlinear storage is linearised about the coupling iterate u_k (a semismooth Newton step, done by the
  coupling loop (solver/fields/coupling.py), unrelaxed):
      m(u) ~ m(u_k) + m'(u_k) (u - u_k),   m'(u_k) = 1 inside the bounds, 0 at or beyond them.
  Mass balances exactly because the balance is written for the clipped content itself, with the same rule
  used for the reported amount (amount_form); d is constant in time and the multistep weights sum to zero,
  so the deficit drops out of the storage of unbounded cells.
Eigenstrain: from a DG1 copy of the content (its values at the vertices of each cell; also what pictures and
  extensions see), not from the clipped expression at quadrature points. A kink of the eigenstrain inside a
  cell cannot be followed by the P1 strain of a P2 displacement: the vertex stresses of such cells overshoot by
  ~ (jump of the content's gradient) x h, which reached 35 % at the inner edge of a 10 nm shell meshed with
  2-3 cells across. The vertex interpolant spreads the kink over the cell, stays within the bounds and keeps
  the stress linear in each cell (TransportField.strain_li_content).
"""
from __future__ import annotations

import numpy as np
import ufl
from mpi4py import MPI
import dolfinx.fem

from solver import compat, units
from solver.case_view import CaseView
from solver.errors import CaseError
from solver.materials import cellwise_property
from solver.shell_section import deficit_shape, region_bounds, shell_profile

CONTENT_QUADRATURE_DEGREE = 4   # rule on which the clipped content is evaluated (storage, amount)
_UNBOUNDED = 1e6             # bound sentinel, in units of c_max (clip is then the identity)


class LiContent:
    """Li content c_Li(u) on the mesh: the identity (inactive) unless a shell profile or bounds are given.

    Used by the transport field (solver/fields/transport.py): active, bounded, initial_potential, field (DG1
    content), reference (stress-free content, P1), storage_terms(...), amount_form(...), update(u) after every
    transport solve (inside the coupling loop too: the eigenstrain of the inner mechanics solves reads `field`).
    """

    def __init__(self, case: dict, particle, V_c, dx):
        self.case, self.particle = case, particle
        settings = CaseView(case)
        c_max = settings.material.c_max_mol_m3
        self.c_max = c_max
        self.profile = shell_profile(case)
        self.bounds = region_bounds(case)
        self.bounded = bool(self.bounds)
        self.active = self.bounded or self.profile is not None
        c0 = settings.operation.li_fraction_start * c_max
        c_sf = settings.material.stress_free_li_fraction * c_max
        mesh = particle.mesh
        deficit = dolfinx.fem.Function(V_c, name="li_deficit_mol_m3")
        if self.profile is not None:
            inner_m = self._shell_inner_radius_m()
            radius = np.linalg.norm(compat.dof_coordinates(V_c), axis=1)
            deficit.x.array[:] = self.profile["deficit_surface_mol_m3"] * deficit_shape(
                radius, inner_m, particle.radius_m, self.profile["profile"])
        structural = self.profile is not None and self.profile["structural"]
        self.initial_potential = np.full(deficit.x.array.shape, c0) - (0.0 if structural else deficit.x.array)
        self.reference = dolfinx.fem.Function(V_c, name="stress_free_li_mol_m3")
        self.reference.x.array[:] = c_sf - deficit.x.array
        self.deficit = deficit if structural else None
        if not self.active:
            return
        if settings.material.model != "isotropic":
            raise CaseError(f"material.model = {settings.material.model!r}: the shell profile and region "
                            "Li bounds (solver/shell.py) are implemented for the isotropic model only")
        self.lower, self.upper = self._bound_fields(mesh, c_max)
        self.dx = dx
        self.dx_content = ufl.Measure("dx", domain=mesh, subdomain_data=particle.cell_tags,
                                      metadata={"quadrature_degree": CONTENT_QUADRATURE_DEGREE})
        self.bounded_tags = tuple(particle.cell_regions[name] for name in self.bounds)
        self.space = compat.scalar_space(mesh, 1, "Discontinuous Lagrange")
        self.field = dolfinx.fem.Function(self.space, name="li_content_mol_m3")
        self._expression = None

    def _shell_inner_radius_m(self) -> float:
        inner_um = self.particle.description.get("shell_inner_radius_um")
        if inner_um is None:
            raise CaseError("initial.shell_li_fraction_surface: needs a particle with a shell "
                            f"(geometry.kind = 'core_shell'), not {self.particle.description.get('kind')!r}")
        return inner_um * units.UM_TO_M

    def _bound_fields(self, mesh, c_max):
        unknown = [name for name in self.bounds if name not in self.particle.cell_regions]
        if unknown:
            raise CaseError(f"material.regions.{unknown[0]}: not a cell region of this geometry; "
                            f"available: {', '.join(sorted(self.particle.cell_regions))}")
        big = _UNBOUNDED * c_max
        tags, regions = self.particle.cell_tags, self.particle.cell_regions
        lower = cellwise_property(mesh, tags, regions, -big,
                                  {name: max(lo, -big) for name, (lo, _) in self.bounds.items()})
        upper = cellwise_property(mesh, tags, regions, big,
                                  {name: min(hi, big) for name, (_, hi) in self.bounds.items()})
        return lower, upper

    # ------------------------------------------------------------------ UFL pieces
    def content(self, u):
        """UFL: the Li content of potential u (clip(u - d, c_lo, c_hi))."""
        shifted = u - self.deficit if self.deficit is not None else u
        return ufl.min_value(ufl.max_value(shifted, self.lower), self.upper) if self.bounded else shifted

    def capacity(self, u):
        """UFL: d content / du, 1 within the bounds (inclusive), 0 beyond."""
        shifted = u - self.deficit if self.deficit is not None else u
        inside = ufl.And(ufl.ge(shifted, self.lower), ufl.le(shifted, self.upper))
        return ufl.conditional(inside, 1.0, 0.0)

    def storage_terms(self, c, v, iterate, old, older, weights, dt):
        """(bilinear, linear) to add to the transport forms: on bounded cells they swap the storage
        (weight_new c + history) / dt of the unbounded content for the linearised bounded storage."""
        if not self.bounded:
            return 0, 0
        # Every correction uses the one measure dx_content: forms mixing differently-ruled integrals of the same
        # subdomain were seen to evaluate the clipped term on another rule, and the mass balance then drifts.
        w_new, w_old, w_older = weights
        dxq = self.dx_content(self.bounded_tags)
        cap = self.capacity(iterate)
        bilinear = w_new / dt * (cap - 1.0) * c * v * dxq
        history = w_new * (self.content(iterate) - cap * iterate) + w_old * self.content(old) \
            + w_older * self.content(older) - (w_old * old + w_older * older)
        linear = -history / dt * v * dxq
        return bilinear, linear

    def amount_form(self, u):
        """UFL form: the Li in the particle (mol), integrated exactly as the storage is."""
        free = u - self.deficit if self.deficit is not None else u
        if not self.bounded:
            return free * self.dx
        return free * self.dx + (self.content(u) - free) * self.dx_content(self.bounded_tags)

    def update(self, u) -> None:
        """Refresh the DG1 content field from the potential u (cell by cell at the vertices)."""
        if not self.active:
            return
        if self._expression is None:
            self._expression = compat.expression(self.content(u), self.space)
        self.field.interpolate(self._expression)

    def check_initial_state(self, u) -> None:
        """Fill the content field from the initial potential u; it must lie within every region's bounds."""
        self.update(u)
        if not self.bounded:
            return
        unclipped = dolfinx.fem.Function(self.space)
        unclipped.interpolate(compat.expression(u - self.deficit if self.deficit is not None else u, self.space))
        local = np.abs(unclipped.x.array - self.field.x.array)
        gap = self.particle.mesh.comm.allreduce(float(local.max()) if local.size else 0.0, op=MPI.MAX)
        if gap > 1e-9 * self.c_max:
            names = ", ".join(f"material.regions.{n}.li_fraction_min/max" for n in self.bounds)
            raise CaseError(f"{names}: the initial Li content lies outside these bounds (by up to "
                            f"{gap / self.c_max:.3g} in Li fraction); the start must be within them")

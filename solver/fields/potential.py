"""The particle's electrode potential V: one unknown per particle, with Butler-Volmer kinetics on every wetted surface.

A particle-level model (solver/kinetics.py for the signs and the formula): the electrolyte around the particle has a
uniform Li+ concentration and a uniform potential (the reference), so the local current density on a wetted surface
(operation.wetted_surfaces: the outer surface, the pore surfaces when the electrolyte wets them) follows the local
overpotential eta = V - U(x_s) and the local surface Li content x_s = c / c_max:

    i = i0(c_s) [exp(alpha_a f eta) - exp(-alpha_c f eta)],   J = -i / F into the particle (mol/m^2/s)
    galvanostatic: V such that  integral of i over the wetted surfaces = I_applied      (scalar Newton on V)
    potentiostatic: V prescribed

Why nodal (group finite element) evaluation and no UFL twin of the formula: i, di/deta and di/dc are evaluated by
solver/kinetics.py (ButlerVolmer.current_density) and solver/ocp.py (any curve, the monotone tables included) at the
surface nodes of the concentration space and enter the transport forms as the Function i_h = sum_j i_j phi_j. Then
(1) the current the Newton on V balances, sum_j w_j i_j with w_j = integral of phi_j over the wetted surfaces, is
exactly the surface integral the transport forms integrate (charge is conserved to the coupling tolerance every
step); (2) the Newton on V is numpy on the surface nodes, no assembly per Newton iteration; (3) there is one
implementation of the kinetics for the 1D, axisymmetric and 3D formulations.

Coupling (solver/fields/coupling.py, `couples_back = True`): between transport iterates c_k this field finds V(c_k)
and the nodal flux J_k; transport solves with the flux linearised in c about c_k,

    J(c) ~ J_k + G (c - c_k),   G = min(dJ/dc, 0) at the start of the step (about the extrapolated state)

(the stabilising part only, frozen over the step: the operator stays SPD and is assembled once per step); the extra
term vanishes at convergence, so the converged step satisfies the Butler-Volmer flux of its own c.
"""
from __future__ import annotations

import numpy as np
import ufl
from mpi4py import MPI
import dolfinx.fem

from solver import compat
from solver.errors import CaseError, SolveError
from solver.fields.base import Field, FieldContext
from solver.protocol import SURFACE_CURRENT, ocp_of, reaction_of
from solver.units import FARADAY_C_mol

#: Newton on V: largest update per iteration (V) and the update below which it has converged (V)
_MAX_DV_V = 0.25
_TOLERANCE_V = 1e-12
_MAX_NEWTON = 60


class PotentialField(Field):
    name = "potential"
    symbol = "V"
    reads = ("transport",)
    couples_back = True

    def __init__(self, context: FieldContext):
        super().__init__(context)
        case, settings = context.case, context.settings
        transport = context.fields["transport"]
        if transport.li_content.active:
            # the reaction would read the transported potential, not the shell's Li content (shell_content.py)
            raise CaseError("[kinetics] with initial.shell_li_fraction_surface or material.regions.<r>.li_fraction_"
                            "min/max: the Li-deficient shell is not coupled to the kinetics yet; leave one of them out")
        self.transport = transport
        self.c_max = settings.material.c_max_mol_m3
        self.temperature_K = settings.operation.temperature_K
        self.ocp = ocp_of(case["material"])
        self.reaction = reaction_of(case)
        space = self.space = transport.space
        self.current_density = dolfinx.fem.Function(space, name=SURFACE_CURRENT.field_name)
        self.flux = dolfinx.fem.Function(space)          # J_k = -i_k / F at the surface nodes
        self.flux_slope = dolfinx.fem.Function(space)    # G = min(dJ/dc, 0), frozen over a step
        self.c_linear = dolfinx.fem.Function(space)      # c_k, about which J is linearised
        self.nodes = context.surface_dofs(space, settings.operation.wetted_surfaces)
        n_owned = space.dofmap.index_map.size_local
        weights = compat.assemble_accumulated(dolfinx.fem.form(ufl.TestFunction(space) * transport.ds_wetted))
        # w_j = integral of phi_j over the wetted surfaces, owned nodes only (sums over ranks count each node once)
        self.weights = np.where(self.nodes < n_owned, weights[self.nodes], 0.0)
        self.area_m2 = self.comm.allreduce(float(self.weights.sum()), op=MPI.SUM)
        x0 = settings.operation.li_fraction_start
        self.V = self.V_accepted = float(self.ocp(x0, self.temperature_K))
        self.current_A = self.current_accepted_A = 0.0
        self.applied_current_A = 0.0       # galvanostatic target
        self.held_voltage_V = None         # potentiostatic: V prescribed
        self.newton_iterations = 0
        # the galvanostatic response of V as a rank-one transport term (transport_rank_one): u = b / S on the
        # surface (b = di/deta, S = sum_j w_j b_j), z_j = w_j G_j (owned nodes)
        self.response = dolfinx.fem.Function(space)
        self.n_owned = n_owned
        self.z = np.zeros(n_owned)
        self._operator_version = 0         # changes when G changes (transport reassembles its operator)

    @property
    def comm(self):
        return self.context.comm

    # ------------------------------------------------------------------ operation
    def apply_current(self, current_A: float) -> None:
        """Galvanostatic: the total current (A, > 0 anodic = charge of a cathode); V follows."""
        self.applied_current_A, self.held_voltage_V = float(current_A), None

    def hold_voltage(self, voltage_V: float) -> None:
        """Potentiostatic: V prescribed; the current follows."""
        self.held_voltage_V = float(voltage_V)
        self.V = float(voltage_V)

    # ------------------------------------------------------------------ the kinetics at the surface nodes
    def _surface(self, c: np.ndarray, V: float):
        """(i, di/deta, di/dc) at the surface nodes for potential V and nodal concentrations c."""
        x = c / self.c_max
        eta = V - self.ocp(x, self.temperature_K)
        i, di_deta, di_dc0 = self.reaction.current_density(eta, c, self.temperature_K)
        # d i / d c at fixed V: through eta (dU/dx < 0) and through i0(c)
        return i, di_deta, di_deta * (-self.ocp.slope(x, self.temperature_K) / self.c_max) + di_dc0

    def _sum(self, values: np.ndarray) -> float:
        return self.comm.allreduce(float(np.dot(self.weights, values)), op=MPI.SUM)

    def _solve_voltage(self, c: np.ndarray) -> float:
        """V with sum_j w_j i_j(V) = applied current (i is strictly increasing in V: Newton, damped)."""
        V = self.V
        for iteration in range(1, _MAX_NEWTON + 1):
            i, di_deta, _ = self._surface(c, V)
            residual, slope = self._sum(i) - self.applied_current_A, self._sum(di_deta)
            step = -residual / slope
            step = max(-_MAX_DV_V, min(_MAX_DV_V, step))
            V += step
            if abs(step) <= _TOLERANCE_V:
                self.newton_iterations = iteration
                return V
        raise SolveError(f"electrode potential: Newton on V did not converge in {_MAX_NEWTON} iterations "
                         f"(last update {step:.3g} V; applied current {self.applied_current_A:.4g} A)")

    def update(self, c_values: np.ndarray, linearise: bool = False) -> None:
        """V (galvanostatic) and the nodal current density and flux at the nodal concentrations `c_values`;
        `linearise`: also the flux slope G (start of a step)."""
        c = c_values[self.nodes]
        if self.held_voltage_V is None:
            self.V = self._solve_voltage(c)
        i, _, di_dc = self._surface(c, self.V)
        self.current_A = self._sum(i)
        self.current_density.x.array[self.nodes] = i
        self.flux.x.array[self.nodes] = -i / FARADAY_C_mol
        self.c_linear.x.array[self.nodes] = c
        if linearise:
            slope = np.minimum(-di_dc / FARADAY_C_mol, 0.0)
            self.flux_slope.x.array[self.nodes] = slope
            # V keeps the total current: dJ = G dc + (b/F) dV with dV = -sum(w a dc) / S, i.e. the term
            # -(b/S) sum_l w_l G_l dc_l (its lumped form), which the Robin term G dc alone leaves out
            b = self._surface(c, self.V)[1]
            self.response.x.array[self.nodes] = b / self._sum(b)
            owned = self.nodes < self.n_owned
            self.z[:] = 0.0
            self.z[self.nodes[owned]] = (self.weights * slope)[owned]
            self._operator_version += 1

    # ------------------------------------------------------------------ Field interface
    def transport_terms(self, c, v):
        """The linearised reaction flux J_k + G (c - c_k) on the wetted surfaces: (bilinear, linear) parts."""
        ds = self.transport.ds_wetted
        return (-self.flux_slope * c * v * ds,
                (self.flux - self.flux_slope * self.c_linear) * v * ds)

    def transport_rank_one(self):
        """Galvanostatic: the response of V to the surface content, u z^T (u = integral of (b/S) v ds) about c_k
        (right-hand side u z.c_k); None when V is held."""
        if self.held_voltage_V is not None:
            return None
        shift = self.comm.allreduce(float(np.dot(self.z, self.c_linear.x.array[:self.n_owned])), op=MPI.SUM)
        return self.response_form, self.z, shift

    def operator_state(self):
        return self._operator_version

    def build(self, context: FieldContext) -> None:
        """The form of the rank-one term's u; the other forms are the transport's (transport_terms)."""
        self.response_form = dolfinx.fem.form(self.response * ufl.TestFunction(self.space) * self.transport.ds_wetted)

    def begin_step(self, dt: float, previous_dt: float | None, scheme: str) -> None:
        """Linearise about c extrapolated through the last two states (c_old on a first step): the first transport
        iterate then sees the flux of a state close to the new one, and its correction G (c - c_k) stays small
        (about c_old, it shifted the total current by G times the whole step's change of the surface content)."""
        transport = self.transport
        predicted = transport.c_old.x.array
        if previous_dt:
            predicted = predicted + (dt / previous_dt) * (predicted - transport.c_older.x.array)
        self.update(predicted, linearise=True)

    def solve(self) -> int:
        self.update(self.transport.solution.x.array)
        return 0

    def accept(self) -> None:
        self.V_accepted, self.current_accepted_A = self.V, self.current_A

    def reject(self) -> None:
        self.V, self.current_A = self.V_accepted, self.current_accepted_A

    def state(self) -> dict:
        return {"V": self.V, "V_accepted": self.V_accepted, "current_A": self.current_A,
                "current_accepted_A": self.current_accepted_A}

    def restore(self, state: dict) -> None:
        self.V, self.V_accepted = state["V"], state["V_accepted"]
        self.current_A, self.current_accepted_A = state["current_A"], state["current_accepted_A"]

    def surface_values(self, c_values: np.ndarray) -> dict:
        """Area-weighted statistics of the surface state at nodal concentrations c (reported quantities)."""
        c = c_values[self.nodes]
        x = c / self.c_max
        eta = self.V - self.ocp(x, self.temperature_K)
        owned = self.weights > 0
        low = self.comm.allreduce(float(x[owned].min()) if owned.any() else np.inf, op=MPI.MIN)
        high = self.comm.allreduce(float(x[owned].max()) if owned.any() else -np.inf, op=MPI.MAX)
        return {"mean_li_fraction": self._sum(x) / self.area_m2, "min_li_fraction": low, "max_li_fraction": high,
                "mean_overpotential_V": self._sum(eta) / self.area_m2}

    def quantities(self) -> dict:
        return {self.current_density.name: self.current_density}

    def point_fields(self) -> list:
        """The surface current density (quantity `surface_current_density`, solver/protocol.py) in the field files."""
        return [self.current_density]

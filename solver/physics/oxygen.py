"""Released O2 (mol O2 / m^3): its release from Li extraction and one backward-Euler step of its transport.

The model and its bookkeeping: solver/fields/oxygen.py.
"""
from __future__ import annotations

import ufl


def release_rate(li, li_previous, dt, release_per_li: float, threshold_mol_m3: float | None, gate=1.0):
    """S = nu max(c_Li,prev - c_Li, 0) / dt where c_Li < threshold (mol O2 / m^3 / s): lattice oxygen is
    oxidised only for the Li extracted once the transition-metal redox is used up; Li insertion releases none.
    threshold None: no Li-fraction rule, the release is switched by `gate` (1 or 0: the particle potential at or
    above the oxidation onset, solver/fields/oxygen.py)."""
    extracted = ufl.max_value(li_previous - li, 0.0)
    redox = 1.0 if threshold_mol_m3 is None else ufl.conditional(ufl.lt(li, threshold_mol_m3), 1.0, 0.0)
    return release_per_li * extracted * redox * gate / dt


def step_residual(c, v, c_old, dt, diffusivity, source, dx, dx_source, capture=None, robin=None):
    """The residual of one backward-Euler step of dc/dt = div(D grad c) + S - capture c:

        (c - c_old) v dx + dt D grad c . grad v dx - dt S v dx_source [+ capture c v dx_trap] [+ dt h c v ds]

    `capture` is (dt k_a (1 - q/q_max), dx_trap) with dx_trap a lumped (vertex) measure on the trap regions, so
    that the nodal trap update takes exactly what this equation lost; `robin` is (h, ds) of a Robin escape
    surface. With a TrialFunction c, ufl.lhs / ufl.rhs of it are the step's forms; with the new state it is
    the residual whose value at the sink nodes is the flux out of a Dirichlet surface (the consistent flux).
    """
    residual = ((c - c_old) * v * dx + dt * diffusivity * ufl.inner(ufl.grad(c), ufl.grad(v)) * dx
                - dt * source * v * dx_source)
    if capture is not None:
        rate, dx_trap = capture
        residual += rate * c * v * dx_trap
    if robin is not None:
        h, ds = robin
        residual += dt * h * c * v * ds
    return residual

"""The finite-element core as physical fields: one module per field, composed by solver.problem.

base.py (the Field protocol and the context fields are built in), kinematics.py (3D or axisymmetric strain and
measures), coupling.py (the one coupling mechanism: a fixed-point iteration with Aitken relaxation),
transport.py (Li concentration), shell_content.py (the Li-deficient shell's content map, part of transport),
mechanics.py (displacement), oxygen.py (released O2, [oxygen]: a passive field solved once per step after the
coupling), damage.py (phase-field damage, `[damage]`), registry.py (case sections -> extra fields).
docs/DEVELOPING.md "A field".
"""

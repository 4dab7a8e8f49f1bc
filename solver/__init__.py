"""Finite-element chemo-mechanics of battery-cathode particles.

Import-light on purpose: dolfinx is imported only by the modules that solve, so that rendering
(PyVista/VTK, which must not share a process with Debian's dolfinx) can import this package.
"""
__version__ = "0.1.0"

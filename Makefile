# Two commands do everything on a fresh Debian 12 or 13 machine: `make demo` and `make test`.
# FENICSX=system (Debian's dolfinx, default) or wheel (PyPI dolfinx 0.11, Python >= 3.12); VENV names the venv.
FENICSX ?= system
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
DEMO_CASE ?= cases/ncm811_particle.toml
DEMO_OUT ?= results/demo
SPHERE_OUT ?= results/verification_sphere
export FENICSX VENV
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
export VTK_DEFAULT_OPENGL_WINDOW := vtkOSOpenGLRenderWindow

.PHONY: setup demo sphere test test-slow test-versions benchmarks benchmarks-quick clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/setup.sh
	bash tools/setup.sh
	touch $(STAMP)

demo: setup
	$(PY) -m solver run $(DEMO_CASE) --out $(DEMO_OUT)

# the verification sphere's run (its peaks are compared across dolfinx versions by test-versions), with linear
# solves far below the comparison's 1e-4 so that it compares versions, not stopping points of CG: with the default
# tolerances the centre radial peak differed by 1.2e-4 between 0.5.2 and 0.9, at 1e-10 by 6e-9
sphere: setup
	$(PY) -m solver run cases/verification_sphere.toml --out $(SPHERE_OUT) --no-pictures --set solver.linear_rtol=1e-10

test: setup
	@$(PY) -c "import solver.compat as c; print('default test suite on', c.describe())"
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

# The default suite on the other dolfinx generations (0.5.2, 0.9, 0.11: Debian 12, Debian 13, PyPI wheel)
# in cached Debian roots, and the demo's and verification sphere's peaks compared across all three.
test-versions:
	bash tools/test_versions.sh

# docs/performance.md: where the time goes (full sizes ~30-60 min; -quick: the scripts on small sizes)
benchmarks: setup
	$(PY) benchmarks/run_all.py

benchmarks-quick: setup
	$(PY) benchmarks/run_all.py --quick

clean:
	rm -rf results meshes/cache .pytest_cache

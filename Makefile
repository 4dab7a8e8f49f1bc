# Two commands do everything on a fresh Debian 12 machine: `make demo` and `make test`.
PY := .venv/bin/python
STAMP := .venv/.setup-stamp
DEMO_CASE ?= cases/ncm811_particle.toml
DEMO_OUT ?= results/demo
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
export VTK_DEFAULT_OPENGL_WINDOW := vtkOSOpenGLRenderWindow

.PHONY: setup demo test test-slow benchmarks benchmarks-quick clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/setup.sh
	bash tools/setup.sh
	touch $(STAMP)

demo: setup
	$(PY) -m solver run $(DEMO_CASE) --out $(DEMO_OUT)

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

# docs/performance.md: where the time goes (full sizes ~30-60 min; -quick: the scripts on small sizes)
benchmarks: setup
	$(PY) benchmarks/run_all.py

benchmarks-quick: setup
	$(PY) benchmarks/run_all.py --quick

clean:
	rm -rf results meshes/cache .pytest_cache

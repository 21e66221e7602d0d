# posecfg: `make demo` runs the main job, `make test` runs the tests.
# Both create the virtual environment in $(VENV) on first use and refresh it
# whenever a requirements file or setup.py changes.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.posecfg-installed
DEMO_DIR ?= work_dirs/demo

.PHONY: env test demo benchmark clean

env: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: an unpinned torch pulls CUDA wheels from the registry
	$(PIP) install --quiet "torch==$$(sed -n 's/^torch==//p' requirements/constraints.txt)"
	$(PIP) install --quiet -c requirements/constraints.txt -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: env
	$(PY) -m pytest -q tests

demo: env
	$(PY) tools/demo.py --work-dir $(DEMO_DIR)

benchmark: env
	benchmarks/run_all.sh

clean:
	rm -rf $(VENV) work_dirs

# posecfg: `make demo` runs the main job, `make test` runs the tests.
# Both create the virtual environment in $(VENV) on first use and refresh it
# whenever a requirements file or setup.py changes.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.posecfg-installed
DEMO_DIR ?= work_dirs/demo
MA_DATA ?= data/synthetic_animal_dlc
MA_CONFIG := configs/animal/2d_kpt_sview_rgb_img/dlc_bottomup_paf/synthetic_animal/res18_paf_synthetic_animal_256x256.py
MA_DIR ?= work_dirs/res18_paf

.PHONY: env test demo demo-multianimal benchmark clean

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

# README.md "Multi-animal demo": posecfg's synthetic DeepLabCut project, a PAF model, its mAP
demo-multianimal: env
	$(PY) tools/make_synthetic_dataset.py $(MA_DATA) --format dlc --num-images 400
	test -d $(MA_DATA)/training-datasets || $(PY) tools/dlc_create_training_dataset.py \
		$(MA_DATA)/config.yaml --net-type resnet_50 --shuffle 1
	$(PY) tools/train.py $(MA_CONFIG) --work-dir $(MA_DIR)
	# the best snapshot by test mAP (snapshot-best-<epoch>.pt): the newest one written
	$(PY) tools/test.py $(MA_CONFIG) $$(ls -t $(MA_DIR)/snapshot-best-*.pt | head -n 1)

benchmark: env
	benchmarks/run_all.sh

clean:
	rm -rf $(VENV) work_dirs

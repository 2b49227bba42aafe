# Two commands matter: `make demo` and `make test` (see README). Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT := out/demo
# pytest workers: parallel where it helps; the slow end-to-end tests are few.
WORKERS ?= auto

.PHONY: demo test fuzz lint typecheck check bench bench-action docs lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An editable install leaves our own modules uncompiled, and where PYTHONDONTWRITEBYTECODE is set every run would
# compile them again (~50 ms of a 0.3 s gate run): compile them once here, as pip does for every other package.
# And setuptools' editable import hook (a finder module imported by a .pth at every interpreter start) costs each
# run ~9 ms before our first line (`python -c pass`: 19 ms with it, 10 without): the checkout goes on sys.path by a
# plain .pth instead, which is what the hook resolves to for our two top-level packages. An installed wheel (the
# action image, `pip install`) has neither.
define plain_path
	site=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
	&& rm -f "$$site"/__editable__.container_gate-*.pth "$$site"/__editable___container_gate_*_finder.py \
	&& echo "$(CURDIR)" > "$$site"/__editable__.container_gate.pth
endef

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	$(plain_path)
	$(BIN)/python -m compileall -q gate remediate
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(plain_path)
	$(BIN)/python -m compileall -q gate remediate
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@mkdir -p $(DEMO_OUT)
	cd examples/app && ../../$(BIN)/container-gate gate . \
		--sarif $(CURDIR)/$(DEMO_OUT)/container-gate.sarif \
		--gitlab-report $(CURDIR)/$(DEMO_OUT)/gl-container-scanning-report.json \
		--codequality $(CURDIR)/$(DEMO_OUT)/gl-code-quality-report.json \
		--json $(CURDIR)/$(DEMO_OUT)/container-gate.json \
		--summary $(CURDIR)/$(DEMO_OUT)/summary.md

test: $(VENV)/.installed-test
	$(BIN)/pytest -n $(WORKERS) -q

# The property tests of tests/fuzz with Hypothesis's long profile (thousands of examples each; `make test`
# runs the same tests with ~100 examples). Figures of the last long run: docs/readers.md, "Fuzzing".
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -p no:xdist -q --hypothesis-show-statistics tests/fuzz

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

check: lint typecheck test

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_gate.py
	$(BIN)/python benchmarks/compare_dockerfile_rules.py
	$(BIN)/python benchmarks/bench_remediate.py
	$(BIN)/python benchmarks/bench_dockerfile.py

bench-action: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_action.py

# The image's hash-locked requirements, from pyproject.toml (tests/unit/action/test_lock.py fails when they drift).
# Run with the image's Python minor version (3.11): markers are resolved for the interpreter that compiles.
LOCK := env -u PIP_FIND_LINKS $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed-test
	$(LOCK) --upgrade --output-file requirements/action.txt pyproject.toml
	$(LOCK) --upgrade --output-file requirements/build.txt requirements/build.in

docs: $(VENV)/.installed
	$(BIN)/python -m gate.checks.dockerfile.docs > docs/dockerfile-rules.md

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

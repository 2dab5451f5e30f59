# Two commands on a fresh clone: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test lint bench fuzz samples clean

# Stamp files: reinstall when pyproject.toml changes.
$(BIN)/.installed-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(BIN)/.installed-demo

demo: $(BIN)/.installed-demo
	@mkdir -p $(OUT)
	@for gpx in sample_tracks/*.gpx; do \
		$(BIN)/retrogpx check "$$gpx" --layers sample_tracks/park.osm \
			--report $(OUT)/$$(basename "$$gpx" .gpx).html \
			--plot $(OUT)/$$(basename "$$gpx" .gpx).png || exit 1; \
	done
	@echo "reports and plots are in $(OUT)/"

lint: $(BIN)/.installed-test
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2 -q

bench: $(BIN)/.installed-test
	$(BIN)/python benchmarks/run_all.py

samples: $(BIN)/.installed-demo
	$(BIN)/python tools/make_samples.py --out sample_tracks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis

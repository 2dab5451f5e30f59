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
		name=$$(basename "$$gpx" .gpx); \
		$(BIN)/retrogpx check "$$gpx" --layers sample_tracks/park.osm --config sample_tracks/samples.toml \
			--plot $(OUT)/$$name.png --report $(OUT)/$$name.html || exit 1; \
	done
	$(BIN)/retrogpx batch sample_tracks/season sample_tracks/roadside.gpx \
		sample_tracks/watch/track_intervals.gpx sample_tracks/watch/track_intervals.tcx \
		--layers sample_tracks/park.osm --config sample_tracks/samples.toml \
		--output $(OUT)/season-segments.csv --summary $(OUT)/season.json \
		--plots $(OUT) --report $(OUT)/season.html; test $$? -le 4
	@echo "reports and plots are in $(OUT)/"

lint: $(BIN)/.installed-test
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

test: lint
	$(BIN)/pytest -n 2 -q

bench: $(BIN)/.installed-test
	$(BIN)/python benchmarks/run_all.py

# A long fuzzing run (about 30-40 min on 4 cores); the normal suite runs 2,400 cases.
fuzz: $(BIN)/.installed-test
	RETROGPX_FUZZ_EXAMPLES=200000 $(BIN)/pytest -n auto -q tests/test_fuzz.py

samples: $(BIN)/.installed-demo
	$(BIN)/python tools/make_samples.py --out sample_tracks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis

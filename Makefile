# Quick start: `make run` serves the API with demo data; `make test` runs the suite on SQLite and PostgreSQL.
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3

.PHONY: install browser run test bench lock clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock requirements-reference.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-reference.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

run: install
	$(BIN)/sales migrate
	$(BIN)/sales seed --demo
	@echo ""
	@echo "MySqrft Sales on http://127.0.0.1:8000  (API docs: http://127.0.0.1:8000/docs)"
	@echo "SALES_ADMIN dev token (valid 12 h):"
	@$(BIN)/sales token --role SALES_ADMIN --name "Demo Admin" --sub 00000000-0000-4000-8000-00000000a001
	@echo ""
	@$(BIN)/sales users demo
	@echo ""
	$(BIN)/sales serve --host 127.0.0.1 --port 8000

# The browser tests drive Debian's Chromium (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y chromium >/dev/null || { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y chromium >/dev/null; }; }
	@test -x $(CHROMIUM) || { echo "FATAL: $(CHROMIUM) is missing and could not be installed" >&2; exit 1; }

test: install browser
	$(BIN)/pytest

# ISSUE 6 harness (not part of `make test`; its smoke mode is): seed, pipeline-list timing, 500-user load,
# saturation and pgbench on BENCH_DATABASE_URL. BENCH_SCALE=x10 for 10x. See docs/performance.md.
BENCH_SCALE        ?= prd
BENCH_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench$(if $(filter x10,$(BENCH_SCALE)),_x10,)
bench: install
	@createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_DATABASE_URL))) 2>/dev/null || true
	SALES_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/sales migrate
	SALES_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/sales bench seed --scale $(BENCH_SCALE) --replace
	SALES_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/sales bench pipeline-list
	SALES_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/sales bench run --scale $(BENCH_SCALE)

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache

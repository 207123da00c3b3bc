# Every target builds .venv itself (python3 -m venv + pip install -e '.[dev]').
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench lint serve clean-demo

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/growthops demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) bench/daily_cycle.py --tenants 2 --entities 200 --days 100
	$(PY) bench/nab_eval.py
	$(PY) bench/policy_regret.py --accounts 1 --days 21
	$(PY) bench/lead_models.py --quick
	$(PY) bench/lead_capture.py --rate 100 --seconds 3

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

serve: $(STAMP)
	$(VENV)/bin/growthops serve

clean-demo: $(STAMP)
	$(VENV)/bin/growthops demo --reset

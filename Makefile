# Every target builds .venv itself (python3 -m venv + pip install -c constraints.txt -e '.[dev]').
# constraints.txt pins every package the tests ran with; `make lock` updates it on purpose
# (docs/dependencies.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench lint serve clean-demo lock soak messages

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m growthops.core.i18n_tools compile
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/growthops demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

# The security suite at length: the API fuzzed with 200 examples per operation and mode, the
# route x attack matrix and the findings' tests, then the body-limit benchmark (a few minutes).
soak: $(STAMP)
	GROWTHOPS_FUZZ_EXAMPLES=200 $(PY) -m pytest -q -p no:cacheprovider tests/api/test_fuzz.py tests/security
	$(PY) bench/body_limit.py --rounds 10

bench: $(STAMP)
	$(PY) bench/daily_cycle.py --tenants 2 --entities 200 --days 100
	$(PY) bench/nab_eval.py
	$(PY) bench/pvalue_calibration.py
	$(PY) bench/policy_regret.py --accounts 1 --days 21
	$(PY) bench/body_limit.py --rounds 2
	$(PY) bench/webhook_ingest.py --rates 100,200 --seconds 4 --max-seconds 4
	$(PY) bench/lead_models.py --quick
	$(PY) bench/lead_capture.py --rate 100 --seconds 3
	$(PY) bench/posts_credits.py --debits 200 --posts 20
	$(PY) bench/sync_restate.py --ads 100 --days 40 --repeat 2
	$(PY) bench/intraday_pacing.py --campaigns 5 --adsets 10 --repeat 2

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

serve: $(STAMP)
	$(VENV)/bin/growthops serve

# Extract the messages (Babel), update the French catalogs, compile them, check them (docs/i18n.md).
messages: $(STAMP)
	$(PY) -m growthops.core.i18n_tools all

clean-demo: $(STAMP)
	$(VENV)/bin/growthops demo --reset

# Re-resolve constraints.txt from pyproject.toml (keeps existing pins that still fit; pass
# PIP_COMPILE_ARGS='--upgrade-package NAME' or '--upgrade' to move pins). pip-tools runs in its own
# throwaway venv so that it is not itself pinned.
LOCKENV := $(VENV)-lock
lock:
	python3 -m venv $(LOCKENV)
	$(LOCKENV)/bin/pip install -q 'pip-tools==7.6.2'
	$(LOCKENV)/bin/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --no-emit-trusted-host --no-emit-options $(PIP_COMPILE_ARGS) \
		-o constraints.txt pyproject.toml

# Oqto: `make run` starts a server on the embedded defaults; `make test` runs
# every test (SQLite, then PostgreSQL when one answers on OQTO_TEST_PG_URL).

CARGO ?= cargo
PG_URL ?= $(or $(OQTO_TEST_PG_URL),postgres://postgres@127.0.0.1:5432/test)
PG_HOSTPORT := $(shell echo '$(PG_URL)' | sed -E 's|^[a-z]+://([^@/]*@)?([^/:?]+)(:([0-9]+))?.*|\2 \4|')

.PHONY: run test test-sqlite test-postgres generate check fuzz bench pi

# The real Pi agent for tests/tests/real_pi.rs (installed into target/pi).
PI_BIN := target/pi/node_modules/.bin/pi

## Build and start the server (data in $XDG_DATA_HOME/oqto, http://127.0.0.1:8080).
run:
	$(CARGO) run -p oqto-server --bin oqto -- serve

## Everything: unit tests, end-to-end tests on SQLite and on PostgreSQL.
test: test-sqlite test-postgres

test-sqlite: pi
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

test-postgres:
	@set -- $(PG_HOSTPORT); host=$$1; port=$${2:-5432}; \
	if timeout 3 bash -c "</dev/tcp/$$host/$$port" 2>/dev/null; then \
		echo "== end-to-end tests on PostgreSQL ($$host:$$port)"; \
		$(CARGO) build --workspace --bins && \
		OQTO_TEST_DB=postgres OQTO_TEST_PG_URL='$(PG_URL)' $(CARGO) test -p oqto-tests; \
	elif [ -n "$$CI" ]; then \
		echo "!! PostgreSQL is not reachable at $$host:$$port and CI must test it"; exit 1; \
	else \
		echo ""; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!! PostgreSQL run SKIPPED: nothing answers at $$host:$$port"; \
		echo "!! (set OQTO_TEST_PG_URL to a server with trust auth to run it)."; \
		echo "!! Only SQLite was tested."; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

## Install the real Pi agent (npm) for its end-to-end test; says so loudly when it cannot.
pi:
	@if [ -x $(PI_BIN) ]; then :; \
	elif command -v npm >/dev/null; then \
		mkdir -p target/pi && cp tools/pi/package.json tools/pi/package-lock.json target/pi/ && \
		for try in 1 2 3; do \
			npm ci --prefix target/pi --no-audit --no-fund --loglevel=error && break; \
			[ $$try = 3 ] && exit 1; echo "!! npm ci failed (try $$try of 3); again in 20 s"; sleep 20; \
		done; \
	elif [ -n "$$CI" ]; then echo "!! npm is missing and CI must run the real Pi test"; exit 1; \
	else \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!! npm is missing: the real Pi agent test will be SKIPPED (install Node.js)"; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

## Regenerate the OpenAPI document and the SDK from the API trait.
generate:
	$(CARGO) run -q -p oqto-codegen -- generate

## Formatting, lints, and the generated-files drift check.
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) run -q -p oqto-codegen -- check

## Contract fuzzing with schemathesis against a running debug server.
fuzz:
	$(CARGO) build -p oqto-server --bin oqto -p oqto-tests --bin oqto-standin-agent
	bash tests/scripts/schemathesis.sh

## Load figures against release builds; writes BENCHMARKS.md.
bench:
	bash tests/scripts/bench.sh

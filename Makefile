# The two commands a newcomer needs: `make run` and `make test`. Everything installs itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-mem bench bench-sse bench-haproxy bench-multipart bench-locations soak clean console

# The S3-level families (and the metadata daemon's RPC, streams and gathering) that run a second
# time with every daemon in memory (S3BACKEND=mem); tests marked needs_disk (kills, restarts, data
# files) are skipped there. About 2 min on a 2-core machine.
MEM_FAMILIES := $(addprefix tests/test_,objects_basic object_headers buckets attributes listing_api \
	versioning_api versioning_listing versioning_race multipart multipart_data acl cors copy delete_objects \
	checksums checksums_multipart conditional rpc streams gathering contract_daemon)
MEM_FAMILIES := $(addsuffix .py,$(MEM_FAMILIES))

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/coffer serve

test: $(STAMP)
	$(BIN)/python -m pytest
	COFFER_TEST_BACKEND=mem $(BIN)/python -m pytest $(MEM_FAMILIES)

test-mem: $(STAMP)
	COFFER_TEST_BACKEND=mem $(BIN)/python -m pytest $(MEM_FAMILIES)

# `make bench QUICK=1`: every step, shorter (5 s steps, 1,000 idle connections, 100,000 objects).
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS) $(if $(QUICK),--quick)
	$(BIN)/python bench/connections.py $(if $(QUICK),--quick)
	$(BIN)/python bench/scale.py $(if $(QUICK),--quick) $(SCALE_ARGS)

bench-sse: $(STAMP)     # 64 MiB PUT/GET with SSE-S3 beside plain, in one run
	$(BIN)/python bench/run.py --phases large --sse

bench-haproxy: $(STAMP)
	$(BIN)/python bench/haproxy.py

bench-multipart: $(STAMP)
	$(BIN)/python bench/multipart.py

bench-locations: $(STAMP)
	$(BIN)/python bench/locations.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

# Rebuild the web console's committed assets (s3front/console/static) from console/src: needs node and npm.
console:
	cd console && npm ci --no-audit --no-fund && node build.mjs

clean:
	rm -rf $(VENV) localData localMetadata

# ViTLab — build, test and benchmark. `make test` is what CI runs (.ci/run).
SWIFT ?= swift
THREADS ?= 2

.PHONY: deps build release test bench clean

deps:
	@bash tools/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

# Benchmarks run in release builds only; timings are never asserted in tests.
bench: release
	.build/release/vitlab-bench --threads $(THREADS)

clean:
	rm -rf .build

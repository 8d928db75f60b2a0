# ViTLab — build, test and benchmark. `make test` is what CI runs (.ci/run).
SWIFT ?= swift
THREADS ?= 2

.PHONY: deps build release test bench quickstart clean

deps:
	@bash tools/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

# Trains SeaFormer-T on the embedded synthetic dataset (a few minutes on 2 cores), evaluates
# it and saves colourised predictions. Run it again to continue or re-evaluate: --resume picks up
# an interrupted run and leaves a finished one as it is.
QUICKSTART_RUN = runs/quickstart_seaformer-tiny_synthetic-128
quickstart: release
	.build/release/runexp run experiments/quickstart.yaml --resume --threads $(THREADS)
	.build/release/runexp eval experiments/quickstart.yaml --checkpoint last --save-predictions 8 --threads $(THREADS)
	-@python3 tools/plot_run.py $(QUICKSTART_RUN) -o $(QUICKSTART_RUN)/curves.png >/dev/null 2>&1 && echo "curves:      $(QUICKSTART_RUN)/curves.png"
	@echo "run:         $(QUICKSTART_RUN)/  (config.yaml, log.txt, checkpoints/, best.h5)"
	@echo "metrics:     $(QUICKSTART_RUN)/metrics.h5"
	@echo "predictions: $(QUICKSTART_RUN)/predictions/"

# Benchmarks run in release builds only; timings are never asserted in tests.
bench: release
	.build/release/vitlab-bench --threads $(THREADS)

clean:
	rm -rf .build

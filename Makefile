# latch — the README's two commands are `make demo` and `make test`.
SHELL := /usr/bin/env bash
GO ?= go
TESTBIN := $(shell hack/testbin.sh --print-dir)
export LATCH_TESTBIN := $(TESTBIN)
# The tests take most of their time in real servers, not CPU; -race stays on.
# -count=1: a cached pass says nothing about the real binaries the tests run.
GOTEST_FLAGS ?= -race -count=1 -timeout 30m

.PHONY: all build testbin vet fmt-check test demo bench clean-testbin

all: build

build:
	$(GO) build -o bin/latch ./cmd/latch

# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
# and Gitea from the Go module proxy into $(TESTBIN) (30-45 min cold, seconds
# when cached).
testbin:
	hack/testbin.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l cmd internal bench hack deploy 2>/dev/null); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every process the tests start inherits LATCH_TEST_RUN; afterwards
# no-leftovers.sh fails if any of them still runs. On a failure the end of
# the output repeats what failed (test-summary.sh): CI shows only the end.
test: testbin fmt-check vet
	@run="test-$$$$-$$(date +%s)"; status=0; log=$$(mktemp /tmp/latch-test.XXXXXX.log); \
	set -o pipefail; LATCH_TEST_RUN=$$run $(GO) test $(GOTEST_FLAGS) ./... 2>&1 | tee "$$log" || status=$$?; \
	if [ $$status -ne 0 ]; then hack/test-summary.sh "$$log"; fi; rm -f "$$log"; \
	if [ $$status -eq 0 ]; then LATCH_TEST_RUN=$$run deploy/test/run.sh || status=$$?; fi; \
	hack/no-leftovers.sh $$run || status=1; \
	exit $$status

demo:
	@hack/demo.sh

# Rewrites docs/benchmarks.md; memory (~12 min), latency (~7 min) and fleet (~8 min) run
# the real API server and the latch binary.
# Each benchmark writes its section even when it misses its goal (and then
# exits non-zero); all of them run, and bench fails if any missed.
bench: testbin
	@status=0; for b in simulate writeback memory latency fleet diff review restore; do \
		$(GO) run ./bench/$$b || { echo "bench/$$b failed or missed its goal" >&2; status=1; }; \
	done; exit $$status

clean-testbin:
	rm -rf "$(TESTBIN)"

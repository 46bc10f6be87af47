# Weir's tasks. `make test` is the one test command (README, .ci/run); `make run` starts the gateway.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test test-short lint fuzz bench bench-go cluster-ring clean

run:
	$(GO) run ./cmd/weir

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/weir ./cmd/weir

# The whole suite with the race detector: unit, fuzz seed corpora, end-to-end against the real binary.
test:
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	staticcheck ./...

# Each fuzz target for a while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run XXX -fuzz FuzzRequestBody -fuzztime $(FUZZTIME) ./internal/gateway/
	$(GO) test -run XXX -fuzz FuzzOpenAIStream -fuzztime $(FUZZTIME) ./internal/relay/
	$(GO) test -run XXX -fuzz FuzzDecodeLease -fuzztime $(FUZZTIME) ./internal/cluster/

# Cluster ring mode at scale: 20 and 50 in-process memberlist nodes on loopback, rpm 100 under a burst
# (the normal suite runs 6 nodes, and 20 without the race detector).
cluster-ring:
	WEIR_CLUSTER_SCALE=1 $(GO) test -count=1 -v -timeout 20m -run 'TestRing(Six|Twenty|Fifty)NodesHoldRPM|TestRingOwnerDeath' ./internal/cluster/

# Hot-path micro-benchmarks.
bench-go:
	$(GO) test -run XXX -bench . -benchmem ./internal/gateway/ ./internal/relay/ ./internal/dispatch/

# Load test: weir vs a bare reverse proxy vs the mock itself at 1,000 RPS, non-streaming and streaming
# (bench/ is its own module; results land in docs/benchmarks.md).
bench:
	cd bench && $(GO) run ./cmd/loadbench -rate 1000 -duration 10s -rounds 3 && $(GO) run ./cmd/loadbench -rate 1000 -duration 10s -rounds 3 -stream

clean:
	rm -rf bin

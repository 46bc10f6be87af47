# Weir's tasks. `make test` is the one test command (README, .ci/run); `make run` starts the gateway.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test test-short lint fuzz bench bench-go bench-mcp bench-ui cluster-sim cluster-e2e cluster-ring clean

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
	$(GO) test -run XXX -fuzz FuzzRequestBody -fuzztime $(FUZZTIME) ./internal/reqbody/
	$(GO) test -run XXX -fuzz FuzzOpenAIStream -fuzztime $(FUZZTIME) ./internal/relay/
	$(GO) test -run XXX -fuzz FuzzGlob -fuzztime $(FUZZTIME) ./internal/governance/
	$(GO) test -run XXX -fuzz FuzzLogWriter -fuzztime $(FUZZTIME) ./internal/mcp/
	$(GO) test -run XXX -fuzz FuzzFastToolsCall -fuzztime $(FUZZTIME) ./internal/mcp/
	$(GO) test -run XXX -fuzz FuzzRelayRead -fuzztime $(FUZZTIME) ./internal/mcp/
	$(GO) test -run XXX -fuzz FuzzParseFilter -fuzztime $(FUZZTIME) ./internal/requestlog/
	$(GO) test -run XXX -fuzz FuzzDecodeCursor -fuzztime $(FUZZTIME) ./internal/requestlog/
	$(GO) test -run XXX -fuzz FuzzParseSpecs -fuzztime $(FUZZTIME) ./internal/gateway/agent/
	$(GO) test -run XXX -fuzz FuzzModelInput -fuzztime $(FUZZTIME) ./internal/gateway/agent/
	$(GO) test -run XXX -fuzz FuzzRelay -fuzztime $(FUZZTIME) ./internal/gateway/agent/
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

# MCP gateway overhead: tools/call through weir's /mcp vs directly to an SDK server at 500 calls/s
# (results land in docs/benchmarks.md).
bench-mcp:
	cd bench && $(GO) run ./cmd/mcpbench -rate 500 -duration 10s -rounds 5 -warmup 10s
# The UI's data at scale: 1,000,000 generated request-log rows on SQLite and PostgreSQL (started by
# .ci/postgres.sh), then the overview and the log explorer's p95 must stay under 300 ms (docs/benchmarks.md).
# UI_ROWS=… for another size; the normal suite runs the same test at 20,000 rows without the time limit.
UI_ROWS ?= 1000000
bench-ui:
	eval "$$(bash .ci/postgres.sh)" && WEIR_SCALE_ROWS=$(UI_ROWS) WEIR_SCALE_ASSERT=1 \
		$(GO) test -count=1 -timeout 3h -run 'TestScale$$' -v ./internal/requestlog/

# Cluster mode at scale, simulated: N = 3, 10, 30, 100 memberlist nodes in one process (memberlist's in-memory
# network; WEIR_SIM_TRANSPORT=udp for loopback sockets) with real governance, or N governance services on one
# redis-server, printing the table of docs/cluster.md ("Scaling"). WEIR_SIM_N=3,10 picks sizes;
# WEIR_CLUSTER_MODE=gossip,ring the counter-sharing modes (default gossip, ring, auto, redis).
cluster-sim:
	WEIR_CLUSTER_SIM=1 $(GO) test -count=1 -timeout 30m -run '^TestSimTable$$' -v ./internal/cluster/clustersim/

# N real weir processes on loopback under a burst for one rpm: 100 key (TestClusterBurstBound); the normal suite
# runs 5 at 150 requests/s. WEIR_E2E_CLUSTER_N picks sizes (default here 20,50), WEIR_E2E_CLUSTER_RATE the pace
# (requests/s; 0: as fast as 50 clients go), WEIR_CLUSTER_MODE the counter-sharing mode (default auto, the
# product default: the ring above 16 members).
WEIR_E2E_CLUSTER_N ?= 20,50
WEIR_E2E_CLUSTER_RATE ?= 0
cluster-e2e:
	WEIR_E2E_CLUSTER_N=$(WEIR_E2E_CLUSTER_N) WEIR_E2E_CLUSTER_RATE=$(WEIR_E2E_CLUSTER_RATE) $(GO) test -count=1 -timeout 30m -run '^TestClusterBurstBound$$' -v ./test/e2e/

clean:
	rm -rf bin

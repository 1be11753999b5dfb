# StreamGate. Every target works from a fresh clone; knobs are ?= variables.

GO       ?= go
MODULES  ?= dataplane control loadgen bench chaos deploy
BIN      ?= bin/streamgate
# VERSION is stamped into the binary (streamgate version); the commit comes
# from the repository (-buildvcs).
VERSION  ?= $(shell git describe --tags --exact-match 2>/dev/null)
LDFLAGS  := $(if $(VERSION),-X streamgate/dataplane/buildinfo.version=$(VERSION))
# FUZZTIME, when set (e.g. make fuzz FUZZTIME=1m), runs every fuzz target
# that long; by default each runs its own execution count, a few seconds'
# worth. Counts, not durations: Go 1.26's fuzz coordinator can report a
# spurious "context deadline exceeded" when a duration ends mid-execution
# (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?=
BENCH    ?= .
BENCHTIME ?= 1s
# make run listens on loopback; set LISTEN_HOST= (empty) for the ingest
# listeners on all interfaces (the REST API and the admin port stay on
# loopback: see -api-host, -admin-host). RUN_FLAGS passes flags to
# streamgate up, e.g. RUN_FLAGS=-pprof.
LISTEN_HOST ?= 127.0.0.1
RUN_FLAGS ?=

# Fuzz targets of `make test` (package:target:executions).
FUZZ_TARGETS := \
	dataplane/diskq:FuzzOpen:3000x \
	dataplane/ingest:FuzzFramer:30000x \
	dataplane/ingest:FuzzOTLPLogs:20000x \
	dataplane/ingest:FuzzWellFormed5424:20000x \
	dataplane/deadletter:FuzzFile:2000x \
	dataplane/manifest:FuzzParse:30000x \
	dataplane/match:FuzzDetectors:50000x \
	dataplane/match:FuzzLookupJSON:40000x \
	dataplane/match:FuzzValidJSON:40000x \
	dataplane/match:FuzzShapeMatcher:30000x \
	dataplane/match:FuzzJSONAware:40000x \
	dataplane/match:FuzzJSONAwareSpares:10000x \
	dataplane/match:FuzzLiterals:30000x \
	dataplane/match:FuzzPaymentsChecksums:10000x \
	dataplane/match:FuzzPaymentsNetworkTwice:10000x \
	dataplane/match:FuzzGovADetectors:10000x \
	dataplane/match:FuzzGovBChecksums:10000x \
	dataplane/match:FuzzGovBFind:10000x \
	dataplane/match:FuzzSecretsChecksums:10000x \
	dataplane/match:FuzzSecretsFind:10000x \
	dataplane/match:FuzzSet:5000x \
	dataplane/match:FuzzSpans:20000x \
	dataplane/processor:FuzzAttributeFilter:40000x \
	dataplane/processor:FuzzRedactPattern:50000x \
	dataplane/output:FuzzAppendJSONString:40000x \
	dataplane/output:FuzzJSONObject:40000x \
	dataplane/output:FuzzRedactedBodies:20000x \
	dataplane/output:FuzzOTLPRecord:20000x \
	dataplane/ingest:FuzzSyslogFraming:20000x \
	dataplane/ingest:FuzzKafkaRecordLines:20000x \
	dataplane/output:FuzzElasticsearchBulk:20000x \
	dataplane/output:FuzzBulkResult:20000x \
	dataplane/output:FuzzLokiPush:10000x \
	dataplane/output:FuzzCloudWatchEvents:3000x \
	dataplane/output:FuzzKafkaKey:20000x \
	dataplane/output:FuzzOTLPPartialSuccess:20000x \
	dataplane/pipeline:FuzzDecodeRecord:20000x \
	dataplane/server:FuzzParseTapQuery:20000x \
	control/api:FuzzRulesBody:3000x \
	control/api:FuzzOutputsBody:3000x \
	control/api:FuzzBatchSizeBody:3000x \
	control/api:FuzzPreviewBody:3000x \
	control/snapshot:FuzzDecode:10000x \
	control/cmd/streamgate:FuzzParseTests:3000x \
	loadgen/sink:FuzzParseLine:40000x

.PHONY: all build run test test-race test-plain fuzz docs bench bench-short bench-micro chaos chaos-short lint fmt fmt-check vet clean image helm-check

all: build

build:
	cd control && $(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)' -o ../$(BIN) ./cmd/streamgate
	cd loadgen && $(GO) build -trimpath -o ../bin/loadgen ./cmd/loadgen

# run: the whole stack in one process: control plane (:8000), data plane
# (:8081 TCP, :8082 UDP, :8083 HTTP, :8080 admin) and an embedded Redis,
# unless REDIS_ADDR or REDIS_HOST points at a real one; the embedded Redis's
# password is in streamgate-redis.password while it runs, and its data in
# data/redis-snapshot.json (delete it to start fresh).
run: build
	@exec env LISTEN_HOST=$(LISTEN_HOST) ./$(BIN) up $(RUN_FLAGS)

# test: formatting, vet, every test under the race detector in shuffled
# order, the allocation tests and every micro-benchmark once without it,
# then a short run of every fuzz target.
test: fmt-check vet test-race test-plain fuzz

test-race:
	@for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		(cd $$m && $(GO) test -race -shuffle=on -count=1 -timeout 15m ./...) || exit 1; \
	done

# test-plain: what the race detector would distort: the tests that count
# allocations (built only without it), and one iteration of every
# benchmark, so none of them rots.
test-plain:
	@for m in $(MODULES); do \
		echo "== go test -run Alloc -bench . -benchtime 1x $$m"; \
		(cd $$m && $(GO) test -count=1 -run 'Alloc' -bench=. -benchtime=1x ./...) || exit 1; \
	done

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		[ -n "$(FUZZTIME)" ] && budget=$(FUZZTIME); \
		echo "== fuzz $$name ($$pkg, $$budget)"; \
		mod=$${pkg%%/*}; rel=./$${pkg#*/}; \
		(cd $$mod && $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$$budget -fuzzminimizetime=500x $$rel) || exit 1; \
	done

# bench: the hot path's Go micro-benchmarks and the end-to-end scenarios
# (S1 raw, S2 filter+redact, S3 HTTP output, S4 overload, S5 idle, S2D and
# S3D with a disk buffer, S6D a disk backlog's memory, S1's lines as syslog
# over TCP and as OTLP/HTTP records) against
# the real binaries; writes results/runs/<date>-<commit>.json and regenerates
# results/README.md and its charts. BENCH_FLAGS passes flags to the harness
# (cd bench && go run ./cmd/bench -h).
BENCH_FLAGS ?=
bench:
	cd bench && $(GO) run ./cmd/bench -results ../results $(BENCH_FLAGS)

# bench-short: CI's gate, under three minutes; fails when S1 or S2 is under
# 40 % of the lab's floor measured in the same run (the sender straight into
# the sink), the breaker does not engage under overload, any PII leaks or
# any line is lost uncounted. Saves nothing.
bench-short:
	cd bench && $(GO) run ./cmd/bench -short -save=false

# bench-micro: only the Go micro-benchmarks.
bench-micro:
	@for m in $(MODULES); do \
		(cd $$m && $(GO) test -run='^$$' -bench='$(BENCH)' -benchtime=$(BENCHTIME) -benchmem ./...) || exit 1; \
	done

# chaos: the fault drills against the real binaries (Redis killed and
# restarted, HTTP sink faults, a Kafka broker restarted, overload, bad
# input, SIGTERM and SIGKILL, disk buffers killed, filled and damaged, a
# dead-letter storm and its replay, deeply nested JSON, huge regular
# expressions), then every fuzz target for CHAOS_FUZZTIME each, two at a
# time; writes
# results/chaos/<date>-<commit>.json and regenerates results/README.md.
# The drills take about 7 minutes; the fuzzing, CHAOS_FUZZTIME times half
# the fuzz targets: about 2 hours in all by default. CHAOS_FLAGS passes flags
# (cd chaos && go run ./cmd/chaos -h), e.g. CHAOS_FLAGS=-only=overload.
CHAOS_FUZZTIME ?= 5m
CHAOS_FLAGS ?=
chaos:
	cd chaos && $(GO) run ./cmd/chaos -results ../results -fuzztime $(CHAOS_FUZZTIME) \
		-fuzz-targets "$(FUZZ_TARGETS)" $(CHAOS_FLAGS)

# chaos-short: CI's subset, about three minutes: one Redis restart with a
# publish during the outage, one sink outage, one Kafka broker restart, one
# batch of bad input, the slowbody and halflines memory attacks, a SIGKILL
# during a short sink outage with a disk buffer, and a dead-letter storm.
# Fails on any crash, any line lost uncounted, or a proxy over its memory
# bound.
# Saves nothing.
chaos-short:
	cd chaos && $(GO) run ./cmd/chaos -short -save=false

# image: the container image (Dockerfile), with VERSION and the commit
# stamped in as build does. Needs a Docker daemon.
IMAGE ?= streamgate:dev
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$$(git rev-parse HEAD 2>/dev/null) -t $(IMAGE) .

# helm-check: helm lint and helm template of the chart with its default
# values and with each example under examples/, then the tests that check
# every rendered container's flags, environment, files, ports and probes
# against the binary's. Needs helm (.ci/run installs it); make test does
# not (its chart tests skip without helm, except on CI).
HELM  ?= helm
CHART := deploy/helm/streamgate
helm-check:
	@for f in "" $(CHART)/examples/*.yaml; do \
		echo "== helm lint and template $(CHART) $${f:+-f $$f}"; \
		$(HELM) lint --strict $(CHART) $${f:+-f $$f} || exit 1; \
		$(HELM) template streamgate $(CHART) $${f:+-f $$f} >/dev/null || exit 1; \
	done
	cd deploy && HELM=$(HELM) $(GO) test -count=1 -run '^TestHelm' ./helm/

# docs: regenerate the README's reference of processors, outputs and
# detectors from their registries. make test fails while it is out of date.
docs:
	cd dataplane && $(GO) generate ./refdoc

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fmt:
	gofmt -w $(MODULES)

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# lint: vet plus staticcheck when it is installed
# (go install honnef.co/go/tools/cmd/staticcheck@latest).
lint: fmt-check vet
	@if command -v staticcheck >/dev/null; then \
		for m in $(MODULES); do (cd $$m && staticcheck ./...) || exit 1; done; \
	else echo "staticcheck not installed; skipped"; fi

clean:
	rm -rf bin

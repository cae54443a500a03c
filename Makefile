# The commands the README and .ci/run use.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test fuzz bench-extract

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/flowwatch ./cmd/flowwatch

# The test command: vet, then every test with the race detector, against the Redis at
# REDIS_URL (default redis://127.0.0.1:6379); with CLUSTER_URL set (a Redis Cluster node's
# URL, the others as addr= parameters: scripts/redis-cluster.sh start prints one), once
# more against that cluster (only the packages that read it run again: the test cache
# keeps the others).
test:
	$(GO) vet ./...
	REDIS_CLUSTER_URL= $(GO) test -race -timeout 20m ./...
	@if [ -n "$(CLUSTER_URL)" ]; then \
	  echo "== again, against the Redis Cluster at $(CLUSTER_URL)"; \
	  REDIS_CLUSTER_URL='$(CLUSTER_URL)' $(GO) test -race -timeout 20m ./...; \
	fi

# A short run of every fuzz target (FUZZTIME each).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench-extract:
	bench/extract.sh

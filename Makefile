# ocisig: `make build` writes every wasm artifact to dist/ and the ocisig binary to
# $(TARGET_DIR)/release/ocisig; `make test` runs every test. CARGO_TARGET_DIR is honoured.

SHELL      := /bin/bash
CARGO      ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
WASM_DIR   := $(TARGET_DIR)/wasm32-unknown-unknown/dist
OCISIG     := $(TARGET_DIR)/release/ocisig
EXAMPLE    ?= signed
# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
WEB_EXAMPLES := signed threshold tampered wrong-key other-image bundle mixed-formats keyless
# binaryen's wasm-opt shrinks each module by about a tenth and trims its instruction count
# (`make bench` shows both); --converge repeats its passes until they gain nothing more (another
# 0.4 KB). The features are those rustc enables for wasm32-unknown-unknown;
# a stripped module carries no target_features section for wasm-opt to read them from.
WASM_OPT       ?= wasm-opt
WASM_OPT_FLAGS := -Oz --converge --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
	--enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types
# The browser's budget is gzipped bytes, and -Oz's output compresses worse than rustc's
# (316 KB gzipped became 332 KB): the page's module gets the light -O1.
WEB_WASM_OPT_FLAGS := $(subst -Oz --converge,-O1,$(WASM_OPT_FLAGS))
# $(call wasm_opt,IN,OUT[,FLAGS]): OUT is IN optimized, or IN itself (with a note) where
# binaryen is missing; under CI it is required.
define wasm_opt
	@if command -v $(WASM_OPT) >/dev/null; then \
		echo "$(WASM_OPT) $(1) -> $(2)"; $(WASM_OPT) $(or $(3),$(WASM_OPT_FLAGS)) $(1) -o $(2); \
	elif [ -n "$$CI" ]; then echo "CI: wasm-opt (binaryen) is required (.ci/install-deps)"; exit 1; \
	else echo "NOTE: wasm-opt (binaryen) not found; $(2) is not size-optimized (make deps installs it)"; \
		cp $(1) $(2); fi
endef

.PHONY: test-tuf sizes deps all build wasm-target wasm opa kubewarden web wasm-bindgen-cli demo test-web native run run-example test lint fmt test-rust test-opa fixtures fuzz fuzz-smoke bench examples clean help

all: build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: wasm opa kubewarden web native ## Build dist/*.wasm, the OPA bundle and the ocisig binary

wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || \
		rustup target add wasm32-unknown-unknown

wasm: wasm-target ## Build dist/ocisig.wasm (the raw verifier module)
	$(CARGO) build --locked -p ocisig-wasm --target wasm32-unknown-unknown --profile dist
	@mkdir -p dist
	$(call wasm_opt,$(WASM_DIR)/ocisig_wasm.wasm,dist/ocisig.wasm)
	@echo "dist/ocisig.wasm: $$(wc -c < dist/ocisig.wasm) bytes"

# The OPA module gets its ABI-version globals after the build (a Rust static would export an
# address); the bundle is reproducible (fixed order, times and owners).
opa: wasm-target ## Build dist/ocisig-opa.wasm and the OPA bundle dist/ocisig-opa-bundle.tar.gz
	$(CARGO) build --locked -p ocisig-opa --target wasm32-unknown-unknown --profile dist
	$(CARGO) build --locked --release -p wasm-post
	@mkdir -p dist
	$(call wasm_opt,$(WASM_DIR)/ocisig_opa.wasm,$(TARGET_DIR)/ocisig-opa.opt.wasm)
	$(TARGET_DIR)/release/wasm-post opa-globals $(TARGET_DIR)/ocisig-opa.opt.wasm dist/ocisig-opa.wasm
	@echo "dist/ocisig-opa.wasm: $$(wc -c < dist/ocisig-opa.wasm) bytes"
	@rm -rf $(TARGET_DIR)/opa-bundle && mkdir -p $(TARGET_DIR)/opa-bundle
	cp dist/ocisig-opa.wasm $(TARGET_DIR)/opa-bundle/policy.wasm
	cp policies/opa/bundle.manifest.json $(TARGET_DIR)/opa-bundle/.manifest
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		-C $(TARGET_DIR)/opa-bundle -cf - .manifest policy.wasm | gzip -n > dist/ocisig-opa-bundle.tar.gz

# The Kubewarden policy gets its metadata (metadata.yml, README.md as usage) in the custom
# section io.kubewarden.metadata, as `kwctl annotate` would add it.
kubewarden: wasm-target ## Build dist/ocisig-kubewarden.wasm (the Kubewarden policy, annotated)
	$(CARGO) build --locked -p ocisig-kubewarden --target wasm32-unknown-unknown --profile dist
	$(CARGO) build --locked --release -p wasm-post
	@mkdir -p dist
	$(call wasm_opt,$(WASM_DIR)/ocisig_kubewarden.wasm,$(TARGET_DIR)/ocisig-kubewarden.opt.wasm)
	$(TARGET_DIR)/release/wasm-post kubewarden-metadata $(TARGET_DIR)/ocisig-kubewarden.opt.wasm \
		dist/ocisig-kubewarden.wasm policies/kubewarden/metadata.yml policies/kubewarden/README.md
	@echo "dist/ocisig-kubewarden.wasm: $$(wc -c < dist/ocisig-kubewarden.wasm) bytes"

wasm-bindgen-cli:
	@[ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" = "$(WASM_BINDGEN_VERSION)" ] || \
		$(CARGO) install --locked wasm-bindgen-cli@$(WASM_BINDGEN_VERSION)

# The browser library (an npm package layout in dist/web/pkg) and the demo page around it.
web: wasm-target wasm-bindgen-cli ## Build the demo page and the browser library into dist/web/
	$(CARGO) build --locked -p ocisig-web --target wasm32-unknown-unknown --profile web
	@rm -rf dist/web && mkdir -p dist/web/pkg
	wasm-bindgen --target web --out-dir dist/web/pkg --out-name ocisig_web \
		$(TARGET_DIR)/wasm32-unknown-unknown/web/ocisig_web.wasm
	$(call wasm_opt,dist/web/pkg/ocisig_web_bg.wasm,$(TARGET_DIR)/ocisig_web_bg.opt.wasm,$(WEB_WASM_OPT_FLAGS))
	mv $(TARGET_DIR)/ocisig_web_bg.opt.wasm dist/web/pkg/ocisig_web_bg.wasm
	sed 's/@VERSION@/$(shell $(CARGO) pkgid -p ocisig-web | sed 's/.*[@#]//')/' web/package.json.in > dist/web/pkg/package.json
	cp web/www/index.html web/www/app.js web/www/style.css dist/web/
	for example in $(WEB_EXAMPLES); do \
		mkdir -p dist/web/examples/$$example && \
		cp examples/$$example/policy.json examples/$$example/evidence.json dist/web/examples/$$example/; \
	done
	mkdir -p dist/web/examples/policy-set && cp examples/policy-set/set.json dist/web/examples/policy-set/
	@echo "dist/web: wasm + JS gzipped: $$(cat dist/web/pkg/ocisig_web_bg.wasm dist/web/pkg/ocisig_web.js dist/web/app.js | gzip -9 | wc -c) bytes"

demo: web ## Serve the demo page at http://127.0.0.1:8080/ (PORT=...)
	node web/serve.mjs dist/web $(or $(PORT),8080)

native: wasm ## Build the ocisig binary, with dist/ocisig.wasm embedded
	$(CARGO) build --locked --release -p ocisig-host

run: native ## Verify the bundled cosign-signed image (an OCI layout) with its key
	$(OCISIG) verify oci:examples/signed/layout --key examples/keys/alice.pub

run-example: native ## Evaluate a bundled evidence example (EXAMPLE=signed|threshold|tampered|...)
	$(OCISIG) eval --policy examples/$(EXAMPLE)/policy.json --evidence examples/$(EXAMPLE)/evidence.json

# `make test` first installs what the suites need (the same idempotent steps CI runs), so that
# no suite of real parts (docker-registry, cosign, chromium, the fuzzers) is skipped.
test: deps wasm opa kubewarden web sizes lint test-rust test-opa test-web test-tuf fuzz-smoke ## Install what is missing, then run every check and test

sizes: wasm kubewarden web ## Check the artifacts against their size budgets
	bash scripts/check-sizes.sh

deps: ## Install what the tests need (rust target, Debian packages, cosign, npm packages, cargo tools)
	bash .ci/install-deps


node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

# The JS API under Node (wasm-bindgen-test), then the demo page in Debian's chromium.
test-web: web node_modules
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
		$(CARGO) test --locked -p ocisig-web --target wasm32-unknown-unknown
	node --test tests/web/

# The TUF conformance suite (../shared/tuf-conformance) against the core's TUF client.
test-tuf: native ## Run the TUF conformance suite against ocisig's TUF client (no expected failures)
	bash scripts/tuf-conformance.sh $(OCISIG)

# OPA's own JavaScript SDK loads dist/ocisig-opa.wasm; compared with `ocisig eval`.
test-opa: opa native node_modules
	OCISIG=$(OCISIG) node --test tests/opa/

# Builds the ocisig binary too (the CLI tests run it), with the same dependency features as the
# tests, so that wasmtime is compiled once rather than once per feature set.
test-rust: wasm opa kubewarden fixtures
	$(CARGO) test --locked --release --workspace

# A module built to misbehave, for the host's isolation tests (host-shim/tests/module.rs).
fixtures: wasm-target
	$(CARGO) build --locked -p misbehaving-module --target wasm32-unknown-unknown --profile dist

lint: wasm ## rustfmt, the core's docs, and clippy (native and wasm32), warnings are errors
	$(CARGO) fmt --all --check
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps -p ocisig
	$(CARGO) clippy --locked --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked --profile dist -p ocisig -p ocisig-wasm -p ocisig-opa -p ocisig-kubewarden -p ocisig-web -p misbehaving-module --target wasm32-unknown-unknown -- -D warnings

bench: build ## Benchmarks: medians and ratios measured in one run; writes target/bench/
	$(CARGO) bench --locked -p ocisig-tests --bench verify
	node benches/web.mjs $(TARGET_DIR)/bench/web.json
	bash benches/e2e.sh $(TARGET_DIR)/release/ocisig $(TARGET_DIR)/bench/e2e.json 20 100
	bash benches/bundles.sh $(TARGET_DIR)/release/ocisig $(TARGET_DIR)/bench/bundles.json 20
	$(CARGO) build --locked --release -p ocisig-host --example serve-load
	bash benches/serve.sh $(TARGET_DIR)/release/ocisig $(TARGET_DIR)/release/examples/serve-load $(TARGET_DIR)/bench/serve.json 5000 50 64

# Fuzzing (cargo-fuzz, nightly). New inputs go to $(FUZZ_CORPUS), the committed seeds in
# fuzz/corpus are read only. `make test` runs each target for FUZZ_SECONDS (30).
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := verify parsers bundle attestation abi differential ecdsa_tables rsa tuf
FUZZ_CORPUS  := $(abspath $(TARGET_DIR))/fuzz-corpus

fuzz-smoke: wasm ## Run every fuzz target for FUZZ_SECONDS each
	@if ! rustup toolchain list | grep -q '^nightly' || ! command -v cargo-fuzz >/dev/null; then \
		if [ -n "$$CI" ]; then echo "CI: nightly and cargo-fuzz are required (.ci/install-deps)"; exit 1; fi; \
		echo "SKIPPED fuzzing: needs a nightly toolchain and cargo-fuzz"; exit 0; fi; \
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_CORPUS)/$$t && \
		cargo +nightly fuzz run -s none $$t $(FUZZ_CORPUS)/$$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 2>&1 | \
			grep -E '^(stat::|#[0-9]+ *DONE|==|SUMMARY|thread|Failing)' ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

fuzz: ## Fuzz longer: FUZZ_SECONDS=600 per target
	$(MAKE) fuzz-smoke FUZZ_SECONDS=$(or $(LONG_FUZZ_SECONDS),600)

fmt: ## Format the code
	$(CARGO) fmt --all

examples: ## Regenerate examples/ with the real cosign and a local registry
	bash examples/regenerate.sh

clean:
	$(CARGO) clean
	rm -rf dist

# Thin wrapper over CMake for the README's two commands (and a few helpers).
# make demo   -- install missing Debian packages, build, run the demo (a scheduling pass, then
#                the control plane: server, CLI, DDP gang, retry, preemption with resume)
# make test   -- install missing Debian packages, build, run every test (Release, then ASan+UBSan)
# make fuzz   -- build the libFuzzer targets with clang-16 and run each for FUZZ_SECONDS (60)
# make test-k8s -- only the tests against the real Kubernetes test control plane (ctest -L k8s)
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo demo-sim test test-release test-asan test-k8s k8s-testenv fuzz bench-core format clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

TRACES ?= ../shared/traces

demo: build
	$(BUILD)/bin/kumo schedule --demo
	@echo; echo "== the control plane: kumo server + CLI + local executor (scripts/demo-server.sh) =="
	scripts/demo-server.sh

# The trace replay that `make demo` showed before the control plane existed.
demo-sim: build
	$(BUILD)/bin/kumo sim --trace philly --load 1.2 --trace-dir "$(TRACES)"

# The Kubernetes test control plane's binaries (built with go into a cache outside the repo
# unless already there; docs/kubernetes.md), so no k8s test spends its timeout building them.
k8s-testenv:
	@scripts/k8s-testenv build >/dev/null

test-release: build k8s-testenv
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-k8s: build k8s-testenv
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L k8s

$(ASAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKUMO_SANITIZE=ON

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target unit_tests property_tests integration_tests cache_integration_tests kumo \
	    fuzz_http_parser_replay fuzz_job_spec_replay fuzz_jwt_replay fuzz_control_plane_head_replay \
	    fuzz_dataset_manifest_replay \
	    k8s_load_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

test: test-release test-asan

# Every libFuzzer target (fuzz/*_fuzz.cc) for FUZZ_SECONDS each. New inputs go to
# $(FUZZ_BUILD)/corpus/<target> (the checked-in seeds in fuzz/corpus stay hand-written); a crash
# leaves crash-<sha1> in the current directory and stops here.
FUZZ_TARGETS ?= http_parser job_spec jwt control_plane_head dataset_manifest
fuzz: deps
	CC=clang-16 CXX=clang++-16 cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DKUMO_FUZZ=ON -DKUMO_BUILD_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addsuffix _fuzz,$(FUZZ_TARGETS))
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  $(FUZZ_BUILD)/bin/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=20000 \
	      $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t; \
	done

bench-core: build
	bench/core.sh

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

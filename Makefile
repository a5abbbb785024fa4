# Thin wrapper over CMake for the README's two commands (and a few helpers).
# make demo   -- install missing Debian packages, build, run the demo
# make test   -- install missing Debian packages, build, run every test (Release, then ASan+UBSan)
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build demo test test-release test-asan bench-core format clean

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
	@if [ -d "$(TRACES)" ]; then \
	  echo; echo "== kumo sim: the Philly multi-GPU trace at offered load 1.2, four policies =="; \
	  $(BUILD)/bin/kumo sim --trace philly --load 1.2 --trace-dir "$(TRACES)"; \
	else echo "($(TRACES) not found: skipping the trace replay)"; fi

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

$(ASAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKUMO_SANITIZE=ON

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target unit_tests property_tests integration_tests kumo
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

test: test-release test-asan

bench-core: build
	bench/core.sh

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

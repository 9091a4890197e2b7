# Front door. `make run` builds and boots the example app in a microVM;
# `make test` runs every test (host unit tests, fuzzers, QEMU boot tests).
BUILD ?= build
APP ?= hello
MACHINE ?= microvm
ARGS ?=

.PHONY: all deps configure build run test unit boot fuzz bench clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja >/dev/null

build: configure
	@ninja -C $(BUILD)

run: build
	tools/skiff run $(BUILD)/images/$(APP).elf --machine $(MACHINE) $(if $(ARGS),-- $(ARGS))

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

unit: build
	cd $(BUILD) && ctest --output-on-failure -j2 -L unit

boot: build
	cd $(BUILD) && ctest --output-on-failure -j2 -L boot

fuzz: build
	cd $(BUILD) && ctest --output-on-failure -j2 -L fuzz

bench: build
	bench/run

clean:
	rm -rf $(BUILD)

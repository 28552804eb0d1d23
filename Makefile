# longctx - build examples and benchmarks, run the test suite and the benchmarks.
#   make            build examples and benchmarks into build/
#   make test       the whole test suite (tests/run.sh: gcc and clang, C11 pedantic
#                   -Werror, C++17 include check, LONGCTX_NO_SIMD, OpenMP on and off,
#                   ASan+UBSan); last line "N passed, N failed"
#   make bench      run every benchmark in bench/
#   make run        build and run the main example
#   make clean
# Variables: CC (default gcc), OPENMP=0 to build without OpenMP, NATIVE=0 for a
# build without -march=native.

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
OPENMP  ?= 1
NATIVE  ?= 1

WARN    := -std=c11 -Wall -Wextra -Wpedantic -Werror
ARCH    := $(if $(filter 1,$(NATIVE)),-march=native,)
OMP     := $(if $(filter 1,$(OPENMP)),-fopenmp,)
CFLAGS  ?= -O2
CPPFLAGS += -Iinclude
LDLIBS  += -lm

EXAMPLES := $(patsubst examples/%.c,build/%,$(wildcard examples/*.c))
BENCHES  := $(patsubst bench/%.c,build/bench_%,$(wildcard bench/*.c))

.PHONY: all test bench run clean

all: $(EXAMPLES) $(BENCHES)

build/%: examples/%.c include/longctx.h | build
	$(CC) $(WARN) $(CFLAGS) $(ARCH) $(OMP) $(CPPFLAGS) $< -o $@ $(LDLIBS)

build/bench_%: bench/%.c bench/common.h include/longctx.h | build
	$(CC) $(WARN) -O3 $(ARCH) $(OMP) $(CPPFLAGS) $< -o $@ $(LDLIBS)

build:
	mkdir -p build

test:
	OPENMP=$(OPENMP) CC=$(CC) sh tests/run.sh

bench: $(BENCHES)
	@for b in $(BENCHES); do ./$$b || exit 1; done

run: build/rope_inspect build/attention_decode
	./build/rope_inspect --type yarn --head-dim 128 --theta 10000 --factor 4 --original-max-pos 4096
	./build/attention_decode

clean:
	rm -rf build

#!/bin/sh
# tests/run.sh - the whole test suite; `make test` runs it. The last line it prints
# is "N passed, N failed" (tests of every program in every build configuration, plus
# one entry per build or check step) and it exits non-zero on any failure.
#
# Build configurations (each compiles every tests/test_*.c and runs it):
#   gcc         gcc -O2 -march=native -fopenmp, C11 pedantic -Werror
#   gcc-noomp   the same without OpenMP
#   gcc-noomp-macro  -fopenmp with LONGCTX_NO_OPENMP
#   gcc-nosimd  LONGCTX_NO_SIMD (the scalar reference paths only)
#   clang       clang -O2 -march=native (-fopenmp when libomp is there)
#   clang-avx2  clang with AVX2+FMA+F16C only (no AVX-512), where the CPU has them
#   asan        gcc -O1 -fsanitize=address,undefined, LCX_TEST_QUICK=1
#   gcc-m32     on x86-64: gcc -m32 (size_t and pointers of 32 bits, as on 32-bit ARM;
#               SSE arithmetic, not the x87's), LCX_TEST_QUICK=1; needs gcc-multilib
#   gcc-fast-math  gcc -O2 with the implementation's definitions under fast-math
#               (tests/fast_math/longctx.h), LCX_TEST_QUICK=1
# and the checks: C++17 include (g++ and clang++), two translation units with
# LONGCTX_STATIC, the header included twice, the README snippet, test_base with
# LONGCTX_NO_CPUID, a user's translation unit with the header's code inlined into it
# (tests/check_inline.c), the stack each call uses (tests/check_stack.c, gcc and clang,
# OpenMP on and off), the examples and benchmarks built with -Werror and run in quick
# mode, the A/B tool (bench/ab), the implementation built with -Ofast (gcc and g++:
# tests/check_fast_math.c; clang must refuse it, unless LONGCTX_ALLOW_FAST_MATH), calls
# from four threads at once under ThreadSanitizer (tests/check_threads.c).
# Environment: OPENMP=0 drops every OpenMP configuration; CC is ignored (both
# compilers are always used when present); JOBS sets build parallelism.

set -u
cd "$(dirname "$0")/.." || exit 1
OUT=build/test
mkdir -p "$OUT"
OPENMP=${OPENMP:-1}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
WARN="-std=c11 -Wall -Wextra -Wpedantic -Werror"
PASSED=0
FAILED=0
FAILURES=""

have() { command -v "$1" >/dev/null 2>&1; }
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); FAILURES="$FAILURES
  $1"; echo "FAIL: $1"; }

omp_works() { # $1 = compiler
    printf '#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n' > "$OUT/omp.c"
    $1 -fopenmp "$OUT/omp.c" -o "$OUT/omp" >/dev/null 2>&1 && "$OUT/omp"
}
cpu_has() { grep -q " $1" /proc/cpuinfo 2>/dev/null; }

# name|compiler|flags|env
CONFIGS=""
add() { CONFIGS="$CONFIGS
$1"; }
GCC_OMP=""; CLANG_OMP=""
if [ "$OPENMP" != 0 ]; then
    omp_works gcc && GCC_OMP=-fopenmp
    have clang && omp_works clang && CLANG_OMP=-fopenmp
fi
if have gcc; then
    [ -n "$GCC_OMP" ] && add "gcc|gcc|-O2 -march=native -fopenmp|"
    add "gcc-noomp|gcc|-O2 -march=native|"
    [ -n "$GCC_OMP" ] && add "gcc-noomp-macro|gcc|-O2 -march=native -fopenmp -DLONGCTX_NO_OPENMP|"
    add "gcc-nosimd|gcc|-O2 -march=native $GCC_OMP -DLONGCTX_NO_SIMD|"
    add "asan|gcc|-O1 -g -march=native $GCC_OMP -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer|LCX_TEST_QUICK=1"
    add "gcc-fast-math|gcc|-O2 -march=native $GCC_OMP -Itests/fast_math|LCX_TEST_QUICK=1"
    if [ "$(uname -m)" = x86_64 ]; then
        printf 'int main(void){return sizeof(void *) == 4 ? 0 : 1;}\n' > "$OUT/m32.c"
        if gcc -m32 $GCC_OMP "$OUT/m32.c" -o "$OUT/m32" >/dev/null 2>&1 && "$OUT/m32"; then
            add "gcc-m32|gcc|-O2 -m32 -msse2 -mfpmath=sse -march=native $GCC_OMP|LCX_TEST_QUICK=1"
        else
            fail "gcc -m32 cannot build a 32-bit program (.ci/run installs gcc-multilib)"
        fi
    fi
else
    fail "gcc not found"
fi
if have clang; then
    add "clang|clang|-O2 -march=native $CLANG_OMP|"
    if cpu_has avx2 && cpu_has fma && cpu_has f16c; then
        add "clang-avx2|clang|-O2 -mavx2 -mfma -mf16c $CLANG_OMP|"
    fi
else
    fail "clang not found (.ci/run installs it)"
fi

TESTS=$(ls tests/test_*.c)

# ---- build everything, JOBS at a time -----------------------------------------
: > "$OUT/jobs"
echo "$CONFIGS" | while IFS='|' read -r name cc flags env; do
    [ -n "$name" ] || continue
    mkdir -p "$OUT/$name"
    for t in $TESTS; do
        b=$(basename "$t" .c)
        echo "$cc $WARN $flags -Iinclude -Itests $t -o $OUT/$name/$b -lm > $OUT/$name/$b.log 2>&1 || echo build-failed > $OUT/$name/$b.failed" >> "$OUT/jobs"
    done
done
# the include and usage checks
mkdir -p "$OUT/checks"
cat > "$OUT/checks/twice.c" <<'C'
#include "longctx.h"
#include "longctx.h"
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "longctx.h"
int main(void) { return lcx_status_string(LCX_OK)[0] == 'o' ? 0 : 1; }
C
cat > "$OUT/checks/static_a.c" <<'C'
#define LONGCTX_STATIC
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
int other(void);
int main(void) { return (lcx_f16_to_f32(lcx_f32_to_f16(1.5f)) == 1.5f && other() == 0) ? 0 : 1; }
C
cat > "$OUT/checks/static_b.c" <<'C'
#define LONGCTX_STATIC
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
int other(void) { return lcx_status_string(LCX_OK)[0] == 'o' ? 0 : 1; }
C
cat > "$OUT/checks/cpp.cpp" <<'C'
#include "longctx.h"
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include <cstdio>
int main() { std::printf("%s\n", lcx_version_string()); return lcx_f32_to_bf16(1.0f) == 0x3F80 ? 0 : 1; }
C
# the README's usage snippet: the first ```c block after the line <!-- snippet -->
awk '/<!-- snippet -->/{f=1; next} f==1 && /^```c/{f=2; next} f==2 && /^```/{exit} f==2{print}' README.md > "$OUT/checks/readme_snippet.c" 2>/dev/null
CHECKS="twice|gcc $WARN -O1 -Iinclude $OUT/checks/twice.c -o $OUT/checks/twice -lm
static-gcc|gcc $WARN -O1 -Iinclude $OUT/checks/static_a.c $OUT/checks/static_b.c -o $OUT/checks/static_gcc -lm
cpp-g++|g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -march=native -Iinclude $OUT/checks/cpp.cpp -o $OUT/checks/cpp_gxx
readme-snippet|gcc $WARN -O1 -Iinclude $OUT/checks/readme_snippet.c -o $OUT/checks/readme_snippet -lm
no-cpuid|gcc $WARN -O2 -march=native -DLONGCTX_NO_CPUID -Iinclude -Itests tests/test_base.c -o $OUT/checks/no_cpuid -lm"
# tests/check_inline.c: every entry point called once with constant sizes, so the header's
# code is inlined into the user's functions (outside its diagnostic pragmas); compiled
# with optimisation (the warnings need it), not linked. gcc and g++, with and without
# LONGCTX_STATIC, -O2 and -O3: each pair of these once at -march=native (about 5 s of CPU
# per gcc build), plus the AVX2-only path; clang and clang++ below.
GXX="g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -x c++"
INL="-Iinclude -c tests/check_inline.c -o /dev/null"
CHECKS="$CHECKS
inline-gcc-O2|gcc $WARN -O2 -march=native $INL
inline-gcc-static-O3|gcc $WARN -O3 -march=native -DLONGCTX_STATIC $INL
inline-g++-static-O2|$GXX -O2 -march=native -DLONGCTX_STATIC $INL
inline-g++-O3|$GXX -O3 -march=native $INL"
if cpu_has avx2 && cpu_has fma && cpu_has f16c; then
    CHECKS="$CHECKS
inline-gcc-avx2-O3|gcc $WARN -O3 -mavx2 -mfma -mf16c $INL
inline-g++-avx2-static-O2|$GXX -O2 -mavx2 -mfma -mf16c -DLONGCTX_STATIC $INL"
fi
if have clang; then
    CHECKS="$CHECKS
static-clang|clang $WARN -O1 -Iinclude $OUT/checks/static_a.c $OUT/checks/static_b.c -o $OUT/checks/static_clang -lm
cpp-clang++|clang++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -march=native -Iinclude $OUT/checks/cpp.cpp -o $OUT/checks/cpp_clangxx
inline-clang-static-O2|clang $WARN -O2 -march=native -DLONGCTX_STATIC $INL
inline-clang++-O3|clang++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -x c++ -O3 -march=native $INL"
fi
# the implementation built with -Ofast (a file of its own), the rest with -O2:
# tests/check_fast_math.c must get IEEE answers (run below); clang must refuse -Ofast
# for the implementation unless LONGCTX_ALLOW_FAST_MATH is defined
printf '#define LONGCTX_IMPLEMENTATION\n#include "longctx.h"\n' > "$OUT/checks/impl.c"
FM="-Iinclude tests/check_fast_math.c"
CHECKS="$CHECKS
fast-math-gcc|gcc $WARN -Ofast -march=native $GCC_OMP -Iinclude -c $OUT/checks/impl.c -o $OUT/checks/impl_fast_gcc.o && gcc $WARN -O2 -march=native $GCC_OMP $FM $OUT/checks/impl_fast_gcc.o -o $OUT/checks/fast_math_gcc -lm
fast-math-g++|g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -x c++ -Ofast -march=native -Iinclude -c $OUT/checks/impl.c -o $OUT/checks/impl_fast_gxx.o && g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -x c++ -O2 -march=native $FM -x none $OUT/checks/impl_fast_gxx.o -o $OUT/checks/fast_math_gxx"
if have clang; then
    CHECKS="$CHECKS
fast-math-clang-refused|if clang $WARN -Ofast -march=native -Iinclude -c $OUT/checks/impl.c -o $OUT/checks/impl_fast_clang.o 2> $OUT/checks/impl_fast_clang.err; then false; else grep -q LONGCTX_ALLOW_FAST_MATH $OUT/checks/impl_fast_clang.err; fi
fast-math-clang-allowed|clang $WARN -Ofast -march=native -DLONGCTX_ALLOW_FAST_MATH -Iinclude -c $OUT/checks/impl.c -o $OUT/checks/impl_fast_clang_allowed.o"
fi
# tests/check_threads.c: four threads on distinct objects at once, under ThreadSanitizer
CHECKS="$CHECKS
threads-tsan|gcc $WARN -O1 -g -march=native -fsanitize=thread -pthread -Iinclude tests/check_threads.c -o $OUT/checks/threads_tsan -lm"
# tests/check_stack.c: the stack each public call uses (the header promises < 8 KiB),
# built like a user's program (-O2 -march=native) with gcc and clang, OpenMP on and off,
# and as a debug build (-O0, under 32 KiB); run below
STK="-Iinclude tests/check_stack.c -lm"
CHECKS="$CHECKS
stack-gcc|gcc $WARN -O2 -march=native -pthread $STK -o $OUT/checks/stack_gcc
stack-gcc-O0|gcc $WARN -O0 -march=native -pthread -DLIMIT=32768 $STK -o $OUT/checks/stack_gcc_O0"
[ -n "$GCC_OMP" ] && CHECKS="$CHECKS
stack-gcc-omp|gcc $WARN -O2 -march=native -fopenmp -pthread $STK -o $OUT/checks/stack_gcc_omp"
if have clang; then
    CHECKS="$CHECKS
stack-clang|clang $WARN -O2 -march=native -pthread $STK -o $OUT/checks/stack_clang
stack-clang-O0|clang $WARN -O0 -march=native -pthread -DLIMIT=32768 $STK -o $OUT/checks/stack_clang_O0"
    [ -n "$CLANG_OMP" ] && CHECKS="$CHECKS
stack-clang-omp|clang $WARN -O2 -march=native -fopenmp -pthread $STK -o $OUT/checks/stack_clang_omp"
fi
echo "$CHECKS" | while IFS='|' read -r name cmd; do
    echo "$cmd > $OUT/checks/$name.log 2>&1 || echo build-failed > $OUT/checks/$name.failed" >> "$OUT/jobs"
done
rm -f "$OUT"/*/*.failed
t0=$(date +%s)
tr '\n' '\0' < "$OUT/jobs" | xargs -0 -P "$JOBS" -I{} sh -c '{}'
echo "built in $(( $(date +%s) - t0 )) s"

# ---- run ---------------------------------------------------------------------
echo "$CHECKS" > "$OUT/checks/list"
while IFS='|' read -r name cmd; do
    if [ -f "$OUT/checks/$name.failed" ]; then
        cat "$OUT/checks/$name.log"
        fail "check $name: build failed"
    else
        pass
    fi
done < "$OUT/checks/list"
for bin in twice static_gcc cpp_gxx readme_snippet no_cpuid static_clang cpp_clangxx fast_math_gcc fast_math_gxx threads_tsan; do
    [ -x "$OUT/checks/$bin" ] || continue
    if "$OUT/checks/$bin" > "$OUT/checks/$bin.out" 2>&1; then
        pass
    else
        cat "$OUT/checks/$bin.out"; fail "check $bin: ran and failed"
    fi
done
for bin in stack_gcc stack_gcc_omp stack_clang stack_clang_omp stack_gcc_O0 stack_clang_O0; do
    [ -x "$OUT/checks/$bin" ] || continue
    if "$OUT/checks/$bin" > "$OUT/checks/$bin.out" 2>&1; then
        pass
    else
        grep -v '^ok ' "$OUT/checks/$bin.out"; fail "check $bin: a call over 8 KiB of stack"
    fi
done

run_cfg() { # name env
    name=$1; env=$2
    for t in $TESTS; do
        b=$(basename "$t" .c)
        if [ -f "$OUT/$name/$b.failed" ]; then
            cat "$OUT/$name/$b.log"
            fail "$name/$b: build failed"
            continue
        fi
        s0=$(date +%s)
        env $env "$OUT/$name/$b" > "$OUT/$name/$b.out" 2>&1
        rc=$?
        grep -v '^ok ' "$OUT/$name/$b.out" | grep -E '^(FAIL|not ok)' | head -40
        line=$(tail -n 1 "$OUT/$name/$b.out")
        p=$(echo "$line" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
        f=$(echo "$line" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
        echo "[$name] $b: ${line} ($(( $(date +%s) - s0 )) s)"
        if [ -z "$p" ]; then
            tail -n 20 "$OUT/$name/$b.out"
            fail "$name/$b: crashed or printed no summary (exit $rc)"
            continue
        fi
        PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
        [ "$f" -gt 0 ] && FAILURES="$FAILURES
  $name/$b: $f failed"
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$name/$b: exit $rc"; fi
    done
}
echo "$CONFIGS" > "$OUT/configs"
while IFS='|' read -r name cc flags env; do
    [ -n "$name" ] || continue
    run_cfg "$name" "$env"
done < "$OUT/configs"

# ---- examples and benchmarks: built with -Werror, run in quick mode ---------------
if make -s all OPENMP="$OPENMP" > "$OUT/make_all.log" 2>&1; then
    pass
    for b in build/bench_*; do
        [ -x "$b" ] || continue
        if LCX_BENCH_QUICK=1 "$b" > "$OUT/$(basename "$b").out" 2>&1 && grep -q '^bench: name=' "$OUT/$(basename "$b").out"; then pass; else tail -5 "$OUT/$(basename "$b").out"; fail "$b --quick"; fi
    done
    for e in build/*; do
        case "$e" in build/bench_*|build/test) continue ;; esac
        [ -f "$e" ] && [ -x "$e" ] || continue
        if LCX_EXAMPLE_QUICK=1 "$e" > "$OUT/$(basename "$e").out" 2>&1; then pass; else tail -5 "$OUT/$(basename "$e").out"; fail "$e (quick run)"; fi
    done
    # rope_inspect --golden for CLEX prints a case in the shape of rope_clex.json
    G="$OUT/rope_inspect_clex.json"
    if build/rope_inspect --type clex --clex-random 1 --head-dim 64 --original-max-pos 4096 \
           --seq-len 8192 --golden > "$G" 2>&1 &&
       (for k in name rotary_dim theta original_max_pos max_factor param_factor act time_dt \
                 seq_len t up_proj down_proj inv_freq attention_factor; do
            grep -q "\"$k\": " "$G" || exit 1
        done); then pass; else cat "$G"; fail "rope_inspect --golden (clex): the keys of rope_clex.json"; fi
else
    cat "$OUT/make_all.log"
    fail "make all (examples and benchmarks with -Werror)"
fi

# ---- the A/B tool (bench/ab): two builds of this header in one process ------------
# Quick: a short cache, two rounds. Both builds are the same code, so their outputs
# must be identical (max_diff=0).
if have gcc; then
    A="$OUT/ab.out"
    if AB_DIR="$OUT/ab" CC=gcc OPENMP="$OPENMP" LCX_BENCH_QUICK=1 sh bench/ab/ab.sh . . \
           --n-kv 1000 --rounds 2 --reps 1 > "$A" 2>&1 && grep -q '^ab: .* max_diff=0 ' "$A"; then
        pass
    else
        tail -5 "$A"; fail "bench/ab/ab.sh . . (quick)"
    fi
    if AB_DIR="$OUT/ab" CC=gcc OPENMP="$OPENMP" LCX_BENCH_QUICK=1 sh bench/ab/ab.sh . . \
           --n-q 12 --n-kv 1000 --rounds 2 --reps 1 > "$A" 2>&1 &&
       grep -q '^ab: n_q=12 causal=1 .* max_diff=0 ' "$A"; then
        pass
    else
        tail -5 "$A"; fail "bench/ab/ab.sh . . --n-q 12 (quick)"
    fi
    if AB_DIR="$OUT/ab" CC=gcc OPENMP="$OPENMP" LCX_BENCH_QUICK=1 sh bench/ab/ab.sh . . \
           --prefill --n-kv 300 --rounds 2 --reps 1 > "$A" 2>&1 &&
       grep -q '^ab: prefill=causal .* max_diff=0 ' "$A"; then
        pass
    else
        tail -5 "$A"; fail "bench/ab/ab.sh . . --prefill (quick)"
    fi
fi

if [ "$FAILED" -gt 0 ]; then echo "failures:$FAILURES"; fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

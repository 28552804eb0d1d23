#!/bin/sh
# bench/ab/ab.sh A B [ab_decode options]
#
# Decode (or, with --prefill, prefill) speed of two versions of include/longctx.h,
# measured in one process with calls alternating (bench/ab/ab_decode.c says how, and what
# it prints). A and B are each a git revision (HEAD, main~2, a1b2c3d), a path to a
# longctx.h file, or "." for the working tree's include/longctx.h. Options after them go
# to ab_decode, e.g.
#     bench/ab/ab.sh HEAD . --n-kv 131072 --rounds 10
#     bench/ab/ab.sh HEAD~1 HEAD --type f32 --threads 1
#     bench/ab/ab.sh HEAD . --prefill --type f32 --n-kv 4096 --rounds 4 --reps 3
# Builds into build/ab (AB_DIR overrides) with $CC (default gcc), -O3 -march=native
# -fopenmp (OPENMP=0: without), as `make bench` builds the benchmarks. Needs a POSIX
# system with dlopen.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${AB_DIR:-$root/build/ab}
cc=${CC:-gcc}
omp=-fopenmp
[ "${OPENMP:-1}" = 0 ] && omp=
[ $# -ge 2 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

header() { # version, destination directory
    mkdir -p "$2"
    if [ "$1" = "." ]; then cp "$root/include/longctx.h" "$2/longctx.h"
    elif [ -f "$1" ]; then cp "$1" "$2/longctx.h"
    else git -C "$root" show "$1:include/longctx.h" > "$2/longctx.h"
    fi
}

header "$1" "$out/a"
header "$2" "$out/b"
shift 2
for s in a b; do
    printf '#define LONGCTX_IMPLEMENTATION\n#include "longctx.h"\n' > "$out/$s/lib.c"
    # -Bsymbolic: each build's calls stay inside it, never into the other build
    $cc -O3 -march=native $omp -fPIC -shared -Wl,-Bsymbolic -I"$out/$s" \
        "$out/$s/lib.c" -o "$out/$s/liblongctx.so" -lm
done
$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -O3 -march=native $omp \
    -I"$root/include" -I"$root/bench" "$root/bench/ab/ab_decode.c" -o "$out/ab_decode" -ldl -lm
exec "$out/ab_decode" "$out/a/liblongctx.so" "$out/b/liblongctx.so" "$@"

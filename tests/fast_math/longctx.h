/* tests/fast_math/longctx.h - the header as a file built with -ffast-math includes it
   (GCC's optimize pragma around it sets fast-math and __FAST_MATH__ for these lines):
   tests/run.sh's configuration gcc-fast-math builds every test against this, so that
   the implementation's definitions see the caller's fast-math while the tests' own
   code keeps IEEE arithmetic. Without the header's guard (section IMPLEMENTATION) the
   suite failed here: NaN and Inf parameters accepted, RoPE's cos/sin tables off. */
#pragma GCC push_options
#pragma GCC optimize("fast-math")
#include "../../include/longctx.h"
#pragma GCC pop_options

// Which vector instructions the byte scans use (the MIME line search, the CRLF check, relaxed
// canonicalisation, the unsubscribe link search). The build targets the x86-64 baseline, which
// has SSE2; AVX2 is chosen at run time where the CPU has it. Every path gives the same answers;
// tests force each one in turn to check that.
#pragma once
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#define ECOMM_HAVE_AVX2 1  // AVX2 functions can be built (with __attribute__((target("avx2"))))
#endif

namespace ecomm {

enum class VectorPath : std::uint8_t { scalar, sse2, avx2 };

VectorPath best_vector_path();              // the widest this CPU runs
VectorPath vector_path();                   // the one in use: the best unless a test chose another
bool use_vector_path(VectorPath path);      // false (nothing changed) where unavailable

}  // namespace ecomm

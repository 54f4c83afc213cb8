// The vector path in use (vector_path.h), chosen once from the CPU.
#include "util/vector_path.h"

#include <atomic>

namespace ecomm {

namespace {

bool available(VectorPath path)
{
    switch (path) {
    case VectorPath::scalar: return true;
#if defined(__SSE2__)
    case VectorPath::sse2: return true;
#endif
#if defined(ECOMM_HAVE_AVX2)
    case VectorPath::avx2:
        __builtin_cpu_init();  // may run before the constructors that would do it
        return __builtin_cpu_supports("avx2");
#endif
    default: return false;
    }
}

VectorPath widest_available()
{
    for (VectorPath path : {VectorPath::avx2, VectorPath::sse2})
        if (available(path)) return path;
    return VectorPath::scalar;
}

std::atomic<VectorPath>& current()
{
    static std::atomic<VectorPath> path{best_vector_path()};
    return path;
}

}  // namespace

VectorPath best_vector_path()
{
    static const VectorPath best = widest_available();
    return best;
}

VectorPath vector_path() { return current().load(std::memory_order_relaxed); }

bool use_vector_path(VectorPath path)
{
    if (!available(path)) return false;
    current().store(path, std::memory_order_relaxed);
    return true;
}

}  // namespace ecomm

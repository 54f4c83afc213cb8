// The vector paths of the byte scans (util/vector_path.h) for tests: which ones this CPU runs,
// and a guard that forces one.
#pragma once
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "util/vector_path.h"

namespace ecomm::test {

// The paths this CPU can run (scalar always); the choice is left on the best.
inline std::vector<VectorPath> available_vector_paths()
{
    std::vector<VectorPath> paths;
    for (VectorPath path : {VectorPath::scalar, VectorPath::sse2, VectorPath::avx2})
        if (use_vector_path(path)) paths.push_back(path);
    use_vector_path(best_vector_path());
    return paths;
}

inline std::string vector_path_name(VectorPath path)
{
    switch (path) {
    case VectorPath::scalar: return "scalar";
    case VectorPath::sse2: return "sse2";
    case VectorPath::avx2: return "avx2";
    }
    return "?";
}

// Forces a path for its lifetime, then goes back to the best (also when a check fails).
struct ForcedVectorPath {
    explicit ForcedVectorPath(VectorPath path) { CPPUNIT_ASSERT(use_vector_path(path)); }
    ~ForcedVectorPath() { use_vector_path(best_vector_path()); }
    ForcedVectorPath(const ForcedVectorPath&) = delete;
    ForcedVectorPath& operator=(const ForcedVectorPath&) = delete;
};

}  // namespace ecomm::test

// A fast, stable 64-bit hash for counter keys and recipient addresses. Stable means the same
// value in every process and every build, which std::hash does not promise: the counter table
// file keeps these values across restarts and between processes.
#pragma once
#include <cstdint>
#include <string_view>

namespace ecomm {

// FNV-1a over the bytes, then the MurmurHash3 finaliser so that every output bit depends on
// every input bit (HyperLogLog reads the top bits and the leading zeros of the rest).
inline std::uint64_t stable_hash64(std::string_view text)
{
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 33;
    return hash;
}

}  // namespace ecomm

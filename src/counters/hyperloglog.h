// Distinct-count estimate of a campaign's audience: HyperLogLog with 2^14 one-byte registers
// (standard error 0.81%; linear counting below 2.5 * 2^14, where it is far more accurate). The
// registers are stored as is in the counter table file; adding to them is idempotent, so a
// recipient seen twice, or a retried message, never counts twice.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ecomm {

constexpr int kHllPrecision = 14;
constexpr std::size_t kHllRegisters = std::size_t{1} << kHllPrecision;
constexpr std::uint8_t kHllMaxRank = 64 - kHllPrecision + 1;  // a valid register is 0..this

// Adds one item, given its 64-bit hash (stable_hash64). Returns true when a register changed.
bool hll_add(std::uint8_t* registers, std::uint64_t hash);

// The estimated number of distinct items added.
std::uint64_t hll_estimate(const std::uint8_t* registers);

// False when some register holds a value no add could have produced (a damaged table).
bool hll_valid(const std::uint8_t* registers);

}  // namespace ecomm

// Finding the next content line the MIME scanner must read. In most content only a few lines
// matter: those that may be a boundary ("--"), or begin a uuencoded or yEnc block ("begin",
// "=ybegin"). The others are skipped whole, 64 bytes at a time, without being split into lines.
#pragma once
#include <array>
#include <cstddef>
#include <string_view>

namespace ecomm::mime {

// The first bytes that make a line worth reading (repeat one to watch fewer).
using LineMarks = std::array<char, 3>;

inline constexpr LineMarks kBoundaryLines = {'-', '-', '-'};
inline constexpr LineMarks kBoundaryOrBlockLines = {'-', 'b', '='};
inline constexpr LineMarks kBlockLines = {'b', '=', '='};

// The offset of the first line start in text whose first byte is one of marks, where text itself
// starts a line; text.size() when no line in it does.
std::size_t find_marked_line(std::string_view text, const LineMarks& marks);

}  // namespace ecomm::mime

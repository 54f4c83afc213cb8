// Parsing of small non-negative decimal numbers from configuration and address text: digits
// only (no sign, no blanks), at most max. Shared so that every number is read the same strict way.
#pragma once
#include <optional>
#include <string_view>

namespace ecomm {

inline std::optional<int> parse_decimal(std::string_view text, int max)
{
    if (text.empty() || text.size() > 9) return std::nullopt;
    int value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

}  // namespace ecomm

// ASCII character tests for protocol text (header names, DKIM tags, domains). They match
// <cctype> in the "C" locale, which the milter never leaves, but inline: the per-character
// library calls were a measurable share of header parsing (docs/BENCHMARKS.md, 2026-12-07).
#pragma once

namespace ecomm {

// std::isspace in the "C" locale: space, \t, \n, \v, \f, \r.
constexpr bool is_ascii_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

constexpr char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace ecomm

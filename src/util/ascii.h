// ASCII character tests (white space, RFC 5322 field names), lower-casing and case-insensitive
// comparison for protocol text (header names, DKIM tags, domains, media types). They match
// <cctype> in the "C" locale, which the milter never leaves, but inline: the per-character
// library calls were a measurable share of header parsing (docs/BENCHMARKS.md, 2026-12-07).
#pragma once
#include <algorithm>
#include <string>
#include <string_view>

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

// RFC 5322 ftext: printable ASCII but ':', so no space and no 8-bit byte.
constexpr bool is_field_name_char(char c)
{
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7F && c != ':';
}

// A whole RFC 5322 field name, as a header the milter writes or a configuration names must be.
inline bool is_field_name(std::string_view name)
{
    return !name.empty() && std::all_of(name.begin(), name.end(), is_field_name_char);
}

inline std::string to_lower(std::string_view text)
{
    std::string out(text);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

inline bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

inline bool istarts_with(std::string_view text, std::string_view prefix)
{
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

}  // namespace ecomm

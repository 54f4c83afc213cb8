// The value of each byte as a base64 digit (RFC 4648 alphabet), -1 for a byte that is none:
// one table look-up per character for the MIME body decoder and the DKIM signature decoder.
#pragma once
#include <array>

namespace ecomm {

constexpr std::array<signed char, 256> make_base64_values()
{
    std::array<signed char, 256> table{};
    for (auto& entry : table) entry = -1;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return table;
}

inline constexpr auto kBase64Values = make_base64_values();

}  // namespace ecomm

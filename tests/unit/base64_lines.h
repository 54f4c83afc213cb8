// Base64 as MIME writers make it, for test and benchmark messages: 76-character lines, each
// ended with eol, and eol once more at the end (an empty line when the text ends a line).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ecomm::test {

inline std::string base64_lines(std::string_view bytes, std::string_view eol = "\n")
{
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const unsigned a = static_cast<unsigned char>(bytes[i]);
        const unsigned b = i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[i + 1]) : 0;
        const unsigned c = i + 2 < bytes.size() ? static_cast<unsigned char>(bytes[i + 2]) : 0;
        const unsigned v = (a << 16) | (b << 8) | c;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? alphabet[v & 63] : '=';
        if (i % 57 == 54) out += eol;
    }
    return out.append(eol);
}

}  // namespace ecomm::test

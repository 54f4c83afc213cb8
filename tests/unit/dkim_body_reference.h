// Plain readings of DKIM body input, line by line and byte by byte, to check the optimised
// code against (unit tests and tests/fuzz/dkim_body_fuzzer.cpp).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ecomm::test {

// The lines of body split at CRLF (a lone CR or LF is text); a last line without CRLF counts.
inline std::vector<std::string> crlf_lines_of(std::string_view body)
{
    std::vector<std::string> lines;
    std::string line;
    for (std::size_t at = 0; at < body.size(); ++at) {
        if (body[at] == '\r' && at + 1 < body.size() && body[at + 1] == '\n') {
            lines.push_back(line);
            line.clear();
            ++at;
        } else {
            line += body[at];
        }
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

// The lines joined with CRLF, empty lines at the end dropped. RFC 6376 sections 3.4.3 and 3.4.4:
// an empty simple body is one CRLF, an empty relaxed body nothing.
inline std::string joined_without_trailing_empty_lines(const std::vector<std::string>& lines, bool simple)
{
    std::string out, empty_lines;
    for (const std::string& line : lines) {
        if (line.empty()) {
            empty_lines += "\r\n";  // kept only if text follows
            continue;
        }
        out += empty_lines + line + "\r\n";
        empty_lines.clear();
    }
    return out.empty() && simple ? "\r\n" : out;
}

// Simple body canonicalisation (RFC 6376 section 3.4.3).
inline std::string simple_by_lines(std::string_view body)
{
    return joined_without_trailing_empty_lines(crlf_lines_of(body), true);
}

// Relaxed body canonicalisation (RFC 6376 section 3.4.4): blank runs become one space, blanks
// ending a line go.
inline std::string relaxed_by_lines(std::string_view body)
{
    std::vector<std::string> lines;
    for (const std::string& raw : crlf_lines_of(body)) {
        std::string line;
        bool blank = false;
        for (char c : raw) {
            if (c == ' ' || c == '\t') {
                blank = true;
                continue;
            }
            if (blank) line += ' ';
            blank = false;
            line += c;
        }
        lines.push_back(line);
    }
    return joined_without_trailing_empty_lines(lines, false);
}

// Whether every LF in text follows a CR, read byte by byte (last_was_cr: the previous chunk's
// last byte was one).
inline bool every_lf_follows_cr_by_reading(std::string_view text, bool last_was_cr)
{
    for (std::size_t at = 0; at < text.size(); ++at) {
        const bool after_cr = at == 0 ? last_was_cr : text[at - 1] == '\r';
        if (text[at] == '\n' && !after_cr) return false;
    }
    return true;
}

}  // namespace ecomm::test

// Base64 and quoted-printable decoding, streamed.
#include "mime/decoders.h"

#include <algorithm>

#include "util/base64_values.h"

namespace ecomm::mime {

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

void Base64Decoder::decode(std::string_view in, std::string& out)
{
    const std::size_t start = out.size();
    out.resize(start + in.size() / 4 * 3 + 3);
    char* dest = out.data() + start;
    std::size_t i = 0;
    while (i < in.size()) {
        // Fast path: whole quanta of alphabet characters.
        while (count_ == 0 && i + 4 <= in.size()) {
            const int a = kBase64Values[static_cast<unsigned char>(in[i])];
            const int b = kBase64Values[static_cast<unsigned char>(in[i + 1])];
            const int c = kBase64Values[static_cast<unsigned char>(in[i + 2])];
            const int d = kBase64Values[static_cast<unsigned char>(in[i + 3])];
            if ((a | b | c | d) < 0) break;
            const auto v = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6) | d);
            *dest++ = static_cast<char>(v >> 16);
            *dest++ = static_cast<char>(v >> 8);
            *dest++ = static_cast<char>(v);
            i += 4;
        }
        if (i == in.size()) break;
        const char ch = in[i++];
        if (ch == '=') {  // padding: flush what a partial quantum holds, start afresh
            if (count_ == 2) *dest++ = static_cast<char>(bits_ >> 4);
            else if (count_ == 3) {
                *dest++ = static_cast<char>(bits_ >> 10);
                *dest++ = static_cast<char>(bits_ >> 2);
            }
            reset();
            continue;
        }
        const int value = kBase64Values[static_cast<unsigned char>(ch)];
        if (value < 0) continue;
        bits_ = (bits_ << 6) | static_cast<std::uint32_t>(value);
        if (++count_ == 4) {
            *dest++ = static_cast<char>(bits_ >> 16);
            *dest++ = static_cast<char>(bits_ >> 8);
            *dest++ = static_cast<char>(bits_);
            reset();
        }
    }
    out.resize(static_cast<std::size_t>(dest - out.data()));
}

void QuotedPrintableDecoder::decode_line(std::string_view line, bool complete, std::string& out)
{
    std::string joined;
    if (!pending_.empty()) {
        joined = pending_;
        joined.append(line);
        line = joined;
        pending_.clear();
    }
    if (complete) {
        while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);  // transport padding
    }
    bool soft_break = false;
    std::size_t i = 0;
    while (i < line.size()) {
        // Text between escapes is copied as a run: most of a line has none.
        const std::size_t escape = std::min(line.find('=', i), line.size());
        out.append(line.substr(i, escape - i));
        i = escape;
        if (i == line.size()) break;
        if (i + 1 == line.size()) {
            if (complete) soft_break = true;
            else pending_.assign(1, '=');
            break;
        }
        if (i + 2 == line.size() && !complete) {
            pending_ = std::string(line.substr(i));
            break;
        }
        const int high = hex_value(line[i + 1]);
        const int low = i + 2 < line.size() ? hex_value(line[i + 2]) : -1;
        if (high >= 0 && low >= 0) {
            out += static_cast<char>(high * 16 + low);
            i += 3;
        } else {
            out += '=';  // malformed escape: keep it
            i += 1;
        }
    }
    if (complete && !soft_break) out += '\n';
}

}  // namespace ecomm::mime

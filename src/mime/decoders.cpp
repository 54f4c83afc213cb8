// Base64 and quoted-printable decoding, streamed.
#include "mime/decoders.h"

#include <algorithm>

#include "util/base64_values.h"
#include "util/vector_path.h"

#if defined(ECOMM_HAVE_AVX2)
#include <immintrin.h>
#endif

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

#if defined(ECOMM_HAVE_AVX2)
// Decodes 32 alphabet characters a step into 24 bytes, the method of Mula and Lemire ("Faster
// Base64 Encoding and Decoding Using AVX2 Instructions", 2018): two nibble look-ups tell
// alphabet bytes from all others, a third gives each byte the offset to its sextet, and two
// multiply-adds pack the sextets. A MIME line of 76 characters is two steps and three quanta.
// Stops before the first 32 bytes that hold anything else (a line break, padding, any other
// byte) and where fewer than 32 are left. Returns the characters used; it has written 3/4 of
// that many bytes at dest, and stores 32 bytes a step, so dest needs 8 bytes of room beyond.
__attribute__((target("avx2"))) std::size_t decode_avx2_steps(std::string_view in, char* dest)
{
    const __m256i lut_lo = _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A,
                                            0x1B, 0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                            0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m256i lut_hi = _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
                                            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
                                            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m256i lut_roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4,
                                              -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i mask_2f = _mm256_set1_epi8(0x2F);
    const __m256i pack_pairs = _mm256_set1_epi32(0x01400140);
    const __m256i pack_quads = _mm256_set1_epi32(0x00011000);
    const __m256i pack_lane = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5,
                                               4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m256i pack_lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1);
    std::size_t used = 0;
    for (; used + 32 <= in.size(); used += 32, dest += 24) {
        __m256i text = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in.data() + used));
        const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(text, 4), mask_2f);
        const __m256i lo_nibbles = _mm256_and_si256(text, mask_2f);
        const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
        const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
        if (!_mm256_testz_si256(lo, hi)) break;  // a byte outside the alphabet
        const __m256i eq_2f = _mm256_cmpeq_epi8(text, mask_2f);
        text = _mm256_add_epi8(text, _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles)));
        const __m256i pairs = _mm256_maddubs_epi16(text, pack_pairs);
        const __m256i quads = _mm256_madd_epi16(pairs, pack_quads);
        const __m256i packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(quads, pack_lane), pack_lanes);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dest), packed);
    }
    return used;
}
#endif

}  // namespace

void Base64Decoder::decode(std::string_view in, std::string& out)
{
    const std::size_t start = out.size();
    out.resize(start + room_for(in.size()));
    out.resize(start + decode(in, out.data() + start));
}

// Room: 3 bytes a quantum, 3 more for a partial quantum completed, 8 for the vector steps' last store.
std::size_t Base64Decoder::decode(std::string_view in, char* const begin)
{
    char* dest = begin;
#if defined(ECOMM_HAVE_AVX2)
    const bool avx2 = vector_path() == VectorPath::avx2;
#endif
    std::size_t i = 0;
    while (i < in.size()) {
#if defined(ECOMM_HAVE_AVX2)
        if (avx2 && count_ == 0) {
            const std::size_t used = decode_avx2_steps(in.substr(i), dest);
            i += used;
            dest += used / 4 * 3;
        }
#endif
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
    return static_cast<std::size_t>(dest - begin);
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

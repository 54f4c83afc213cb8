// CRLF checks and repair for DKIM input (crlf_text.h).
#include "auth/crlf_text.h"

#include "util/vector_path.h"

#if defined(ECOMM_HAVE_AVX2)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ecomm {

namespace {

// A body is mostly short lines, so a search LF by LF would stop every 70 bytes; the vector
// steps look at 64 bytes a step with one branch. Each returns where it stopped (a bare LF lies
// at or after it, or fewer than 64 bytes are left) and compares every byte from at with the one
// before it, so at >= 1.

#if defined(__SSE2__)
// The mask of LFs in the 16 bytes at p that do not follow a CR (p[-1] must be readable).
inline __m128i bare_lfs(const char* p)
{
    const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p - 1));
    return _mm_andnot_si128(_mm_cmpeq_epi8(before, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(here, _mm_set1_epi8('\n')));
}

std::size_t clean_sse2_steps(std::string_view text, std::size_t at)
{
    for (; at + 64 <= text.size(); at += 64) {
        const char* p = text.data() + at;
        const __m128i bare = _mm_or_si128(_mm_or_si128(bare_lfs(p), bare_lfs(p + 16)),
                                          _mm_or_si128(bare_lfs(p + 32), bare_lfs(p + 48)));
        if (_mm_movemask_epi8(bare) != 0) break;
    }
    return at;
}
#endif

#if defined(ECOMM_HAVE_AVX2)
__attribute__((target("avx2"))) std::size_t clean_avx2_steps(std::string_view text, std::size_t at)
{
    const __m256i cr = _mm256_set1_epi8('\r');
    const __m256i lf = _mm256_set1_epi8('\n');
    const auto bare_lfs = [&](const char* p) __attribute__((target("avx2"))) {
        const __m256i here = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i before = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p - 1));
        return _mm256_andnot_si256(_mm256_cmpeq_epi8(before, cr), _mm256_cmpeq_epi8(here, lf));
    };
    for (; at + 64 <= text.size(); at += 64) {
        const char* p = text.data() + at;
        const __m256i bare = _mm256_or_si256(bare_lfs(p), bare_lfs(p + 32));
        if (!_mm256_testz_si256(bare, bare)) break;
    }
    return at;
}
#endif

}  // namespace

bool every_lf_follows_cr(std::string_view text, bool last_was_cr)
{
    if (text.empty()) return true;
    if (text.front() == '\n' && !last_was_cr) return false;
    std::size_t at = 1;  // each byte from here is checked against the one before it
    switch (vector_path()) {
#if defined(ECOMM_HAVE_AVX2)
    case VectorPath::avx2: at = clean_avx2_steps(text, at); break;
#endif
#if defined(__SSE2__)
    case VectorPath::sse2: at = clean_sse2_steps(text, at); break;
#endif
    default: break;
    }
    for (; at < text.size(); ++at) {
        if (text[at] == '\n' && text[at - 1] != '\r') return false;
    }
    return true;
}

void append_crlf(std::string& out, std::string_view text, bool& last_was_cr)
{
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t newline = text.find('\n', start);
        const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
        if (end > start) {
            out.append(text.substr(start, end - start));
            last_was_cr = text[end - 1] == '\r';
        }
        if (newline == std::string_view::npos) break;
        if (!last_was_cr) out.push_back('\r');
        out.push_back('\n');
        last_was_cr = false;
        start = newline + 1;
    }
}

}  // namespace ecomm

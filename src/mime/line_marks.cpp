// The search for marked line starts (line_marks.h): a newline followed by a marked byte.
#include "mime/line_marks.h"

#include <cstdint>

#include "util/vector_path.h"

#if defined(ECOMM_HAVE_AVX2)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ecomm::mime {

namespace {

// Most content lines hold no mark: the vector steps look at 64 bytes a step with one branch.
// Each returns the first hit's newline, or where fewer than 65 bytes are left (a hit at the
// last newline needs the byte after it).

// The offset in a 64-byte step of its first hit, from the masks of its parts (lowest first).
template <typename... Masks>
std::size_t first_hit(Masks... masks)
{
    std::uint64_t all = 0;
    unsigned shift = 0;
    for (const std::uint64_t mask : {static_cast<std::uint64_t>(masks)...}) {
        all |= mask << shift;
        shift += 64 / sizeof...(masks);
    }
    return static_cast<std::size_t>(__builtin_ctzll(all));
}

#if defined(__SSE2__)
// Finds, 16 bytes at a time, the newlines followed by a marked byte.
class MarkedLineFinder {
public:
    explicit MarkedLineFinder(const LineMarks& marks)
        : mark0_(_mm_set1_epi8(marks[0])), mark1_(_mm_set1_epi8(marks[1])), mark2_(_mm_set1_epi8(marks[2]))
    {
    }
    // Bit i set when p[i] is a newline and p[i + 1] is marked (p[16] must be readable).
    __m128i hits(const char* p) const
    {
        const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
        const __m128i next_marked =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(next, mark0_), _mm_cmpeq_epi8(next, mark1_)), _mm_cmpeq_epi8(next, mark2_));
        return _mm_and_si128(_mm_cmpeq_epi8(here, newline_), next_marked);
    }

private:
    __m128i newline_ = _mm_set1_epi8('\n');
    __m128i mark0_, mark1_, mark2_;
};

std::size_t unmarked_sse2_steps(std::string_view text, std::size_t at, const LineMarks& marks)
{
    const MarkedLineFinder finder(marks);
    for (; at + 65 <= text.size(); at += 64) {
        const char* p = text.data() + at;
        const __m128i a = finder.hits(p), b = finder.hits(p + 16), c = finder.hits(p + 32), d = finder.hits(p + 48);
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) {
            const auto mask = [](__m128i hits) { return static_cast<unsigned>(_mm_movemask_epi8(hits)); };
            return at + first_hit(mask(a), mask(b), mask(c), mask(d));
        }
    }
    return at;
}
#endif

#if defined(ECOMM_HAVE_AVX2)
__attribute__((target("avx2"))) std::size_t unmarked_avx2_steps(std::string_view text, std::size_t at,
                                                                 const LineMarks& marks)
{
    const __m256i newline = _mm256_set1_epi8('\n');
    const __m256i mark0 = _mm256_set1_epi8(marks[0]);
    const __m256i mark1 = _mm256_set1_epi8(marks[1]);
    const __m256i mark2 = _mm256_set1_epi8(marks[2]);
    const auto hits = [&](const char* p) __attribute__((target("avx2"))) {
        const __m256i here = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i next = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 1));
        const __m256i next_marked_01 = _mm256_or_si256(_mm256_cmpeq_epi8(next, mark0), _mm256_cmpeq_epi8(next, mark1));
        const __m256i next_marked = _mm256_or_si256(next_marked_01, _mm256_cmpeq_epi8(next, mark2));
        return _mm256_and_si256(_mm256_cmpeq_epi8(here, newline), next_marked);
    };
    for (; at + 65 <= text.size(); at += 64) {
        const char* p = text.data() + at;
        const __m256i low = hits(p), high = hits(p + 32);
        const __m256i any = _mm256_or_si256(low, high);
        if (!_mm256_testz_si256(any, any)) {
            const auto mask = [](__m256i hits) __attribute__((target("avx2"))) {
                return static_cast<unsigned>(_mm256_movemask_epi8(hits));
            };
            return at + first_hit(mask(low), mask(high));
        }
    }
    return at;
}
#endif

}  // namespace

std::size_t find_marked_line(std::string_view text, const LineMarks& marks)
{
    const auto marked = [&marks](char c) { return c == marks[0] || c == marks[1] || c == marks[2]; };
    if (text.empty() || marked(text.front())) return 0;
    std::size_t at = 0;  // the next newline to look at
    switch (vector_path()) {
#if defined(ECOMM_HAVE_AVX2)
    case VectorPath::avx2: at = unmarked_avx2_steps(text, at, marks); break;
#endif
#if defined(__SSE2__)
    case VectorPath::sse2: at = unmarked_sse2_steps(text, at, marks); break;
#endif
    default: break;
    }
    for (; at + 1 < text.size(); ++at) {
        if (text[at] == '\n' && marked(text[at + 1])) return at + 1;
    }
    return text.size();
}

}  // namespace ecomm::mime

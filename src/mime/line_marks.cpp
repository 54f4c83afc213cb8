// The search for marked line starts (line_marks.h): a newline followed by a marked byte.
#include "mime/line_marks.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ecomm::mime {

#if defined(__SSE2__)
namespace {

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

}  // namespace
#endif

std::size_t find_marked_line(std::string_view text, const LineMarks& marks)
{
    const auto marked = [&marks](char c) { return c == marks[0] || c == marks[1] || c == marks[2]; };
    if (text.empty() || marked(text.front())) return 0;
    std::size_t at = 0;  // the next newline to look at
#if defined(__SSE2__)
    const MarkedLineFinder finder(marks);
    // Most content lines hold no mark: 64 bytes a step with one branch, then the 16 that hit.
    for (; at + 65 <= text.size(); at += 64) {
        const char* p = text.data() + at;
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(finder.hits(p), finder.hits(p + 16)),
                                           _mm_or_si128(finder.hits(p + 32), finder.hits(p + 48)))) != 0) break;
    }
    for (; at + 17 <= text.size(); at += 16) {
        const int found = _mm_movemask_epi8(finder.hits(text.data() + at));
        if (found != 0) return at + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(found))) + 1;
    }
#endif
    for (; at + 1 < text.size(); ++at) {
        if (text[at] == '\n' && marked(text[at + 1])) return at + 1;
    }
    return text.size();
}

}  // namespace ecomm::mime

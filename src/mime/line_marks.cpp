// The search for marked line starts (line_marks.h): a newline followed by a marked byte.
#include "mime/line_marks.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ecomm::mime {

std::size_t find_marked_line(std::string_view text, const LineMarks& marks)
{
    const auto marked = [&marks](char c) { return c == marks[0] || c == marks[1] || c == marks[2]; };
    if (text.empty() || marked(text.front())) return 0;
    std::size_t at = 0;  // the next newline to look at
#if defined(__SSE2__)
    const __m128i newline = _mm_set1_epi8('\n');
    const __m128i mark0 = _mm_set1_epi8(marks[0]);
    const __m128i mark1 = _mm_set1_epi8(marks[1]);
    const __m128i mark2 = _mm_set1_epi8(marks[2]);
    while (at + 17 <= text.size()) {
        const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at));
        const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at + 1));
        const __m128i next_marked =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(next, mark0), _mm_cmpeq_epi8(next, mark1)), _mm_cmpeq_epi8(next, mark2));
        const int found = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(here, newline), next_marked));
        if (found != 0) return at + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(found))) + 1;
        at += 16;
    }
#endif
    for (; at + 1 < text.size(); ++at) {
        if (text[at] == '\n' && marked(text[at + 1])) return at + 1;
    }
    return text.size();
}

}  // namespace ecomm::mime

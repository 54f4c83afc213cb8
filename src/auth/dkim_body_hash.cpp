// DKIM body canonicalisation and hash. The body is cut into three parts per chunk: the bytes at
// its start and end whose fate depends on the neighbouring chunk (blanks, CR, LF), which go
// through a byte-at-a-time state machine, and the middle, which starts and ends with ordinary
// text and is hashed in place (simple) or in the runs between relaxed's rewrites.
#include "auth/dkim_body_hash.h"

#include "auth/dkim_key.h"
#include "util/vector_path.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#if defined(ECOMM_HAVE_AVX2)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ecomm {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Bytes whose canonical form depends on what follows them.
bool is_undecided(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr std::string_view kCrlfs = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

// Relaxed canonicalisation changes the text at a tab, or a space followed by a blank or a CR.
// next_rewrite finds the first such position at or after from. text must not end in a space
// (the middle of a chunk never does), so the look at the next byte stays inside it. The vector
// steps return the first rewrite, or where fewer than 17 (33) bytes are left.

#if defined(__SSE2__)
std::size_t unchanged_sse2_steps(std::string_view text, std::size_t at)
{
    const __m128i space = _mm_set1_epi8(' ');
    const __m128i tab = _mm_set1_epi8('\t');
    const __m128i cr = _mm_set1_epi8('\r');
    for (; at + 17 <= text.size(); at += 16) {
        const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at));
        const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at + 1));
        const __m128i next_blank_or_cr =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(next, space), _mm_cmpeq_epi8(next, tab)), _mm_cmpeq_epi8(next, cr));
        const __m128i rewrite =
            _mm_or_si128(_mm_cmpeq_epi8(here, tab), _mm_and_si128(_mm_cmpeq_epi8(here, space), next_blank_or_cr));
        const int mask = _mm_movemask_epi8(rewrite);
        if (mask != 0) return at + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
    return at;
}
#endif

#if defined(ECOMM_HAVE_AVX2)
__attribute__((target("avx2"))) std::size_t unchanged_avx2_steps(std::string_view text, std::size_t at)
{
    const __m256i space = _mm256_set1_epi8(' ');
    const __m256i tab = _mm256_set1_epi8('\t');
    const __m256i cr = _mm256_set1_epi8('\r');
    for (; at + 33 <= text.size(); at += 32) {
        const __m256i here = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(text.data() + at));
        const __m256i next = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(text.data() + at + 1));
        const __m256i next_blank = _mm256_or_si256(_mm256_cmpeq_epi8(next, space), _mm256_cmpeq_epi8(next, tab));
        const __m256i next_blank_or_cr = _mm256_or_si256(next_blank, _mm256_cmpeq_epi8(next, cr));
        const __m256i rewrite =
            _mm256_or_si256(_mm256_cmpeq_epi8(here, tab), _mm256_and_si256(_mm256_cmpeq_epi8(here, space), next_blank_or_cr));
        const auto mask = static_cast<unsigned>(_mm256_movemask_epi8(rewrite));
        if (mask != 0) return at + static_cast<std::size_t>(__builtin_ctz(mask));
    }
    return at;
}
#endif

std::size_t next_rewrite(std::string_view text, std::size_t from)
{
    std::size_t at = from;
    switch (vector_path()) {
#if defined(ECOMM_HAVE_AVX2)
    case VectorPath::avx2: at = unchanged_avx2_steps(text, at); break;
#endif
#if defined(__SSE2__)
    case VectorPath::sse2: at = unchanged_sse2_steps(text, at); break;
#endif
    default: break;
    }
    for (; at < text.size(); ++at) {
        const char c = text[at];
        if (c == '\t') return at;
        if (c == ' ' && at + 1 < text.size() && (is_blank(text[at + 1]) || text[at + 1] == '\r')) return at;
    }
    return text.size();
}

const EVP_MD* digest_of(DkimBodyDigest digest) { return dkim_digest(digest == DkimBodyDigest::sha1); }

}  // namespace

void DkimBodyHash::ContextFree::operator()(evp_md_ctx_st* context) const noexcept
{
    EVP_MD_CTX_free(context);
}

DkimBodyHash::DkimBodyHash(DkimBodyCanon canon, DkimBodyDigest digest)
    : canon_(canon), digest_(digest), context_(EVP_MD_CTX_new())
{
    if (!context_ || EVP_DigestInit_ex(context_.get(), digest_of(digest), nullptr) != 1)
        throw std::runtime_error("OpenSSL: cannot start a DKIM body hash");
}

DkimBodyHash::~DkimBodyHash() = default;
DkimBodyHash::DkimBodyHash(DkimBodyHash&&) noexcept = default;
DkimBodyHash& DkimBodyHash::operator=(DkimBodyHash&&) noexcept = default;

void DkimBodyHash::hash(const char* data, std::size_t length)
{
    if (length == 0) return;
    EVP_DigestUpdate(context_.get(), data, length);
    hashed_any_ = true;
}

// Empty lines and a blank run followed by more text are part of the body after all.
void DkimBodyHash::hash_pending()
{
    while (pending_crlfs_ > 0) {
        const std::size_t lines = std::min(pending_crlfs_, kCrlfs.size() / 2);
        hash(kCrlfs.data(), lines * 2);
        pending_crlfs_ -= lines;
    }
    if (pending_blank_) {
        hash(" ", 1);
        pending_blank_ = false;
    }
}

void DkimBodyHash::content(char c)
{
    hash_pending();
    hash(&c, 1);
}

// One byte through the state machine.
void DkimBodyHash::step(char c)
{
    if (held_cr_) {
        held_cr_ = false;
        if (c == '\n') {
            pending_blank_ = false;  // blanks ending a line are dropped (relaxed)
            ++pending_crlfs_;
            return;
        }
        content('\r');  // a CR without its LF is text
    }
    if (c == '\r') {
        held_cr_ = true;
    } else if (canon_ == DkimBodyCanon::relaxed && is_blank(c)) {
        pending_blank_ = true;
    } else {
        content(c);
    }
}

// Text that starts and ends with a byte that is not a blank, CR or LF.
void DkimBodyHash::verbatim(std::string_view text)
{
    if (canon_ == DkimBodyCanon::simple) {
        hash(text.data(), text.size());
        return;
    }
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t rewrite = next_rewrite(text, start);
        hash(text.data() + start, rewrite - start);
        if (rewrite == text.size()) break;
        std::size_t end = rewrite;
        while (is_blank(text[end])) ++end;  // stops inside: text ends with ordinary text
        // A CR here is never the last byte either, so its LF (if any) is inside too.
        const bool ends_line = text[end] == '\r' && text[end + 1] == '\n';
        if (!ends_line) hash(" ", 1);
        start = end;
    }
}

void DkimBodyHash::update(std::string_view chunk)
{
    std::size_t first = 0;
    while (first < chunk.size() && is_undecided(chunk[first])) step(chunk[first++]);
    if (first == chunk.size()) return;
    std::size_t last = chunk.size();
    while (is_undecided(chunk[last - 1])) --last;  // stops at first at the latest

    if (held_cr_) {  // ordinary text follows it: not a line end
        held_cr_ = false;
        content('\r');
    }
    hash_pending();
    verbatim(chunk.substr(first, last - first));
    for (std::size_t at = last; at < chunk.size(); ++at) step(chunk[at]);
}

std::string DkimBodyHash::finish()
{
    if (held_cr_) {
        held_cr_ = false;
        content('\r');
    }
    // The empty lines ending the body and the blanks ending its last line are not hashed; the
    // last line gets its CRLF. An empty body is one CRLF (simple) or nothing (relaxed).
    pending_crlfs_ = 0;
    pending_blank_ = false;
    if (hashed_any_ || canon_ == DkimBodyCanon::simple) hash("\r\n", 2);

    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_.get(), out, &length) != 1)
        throw std::runtime_error("OpenSSL: cannot finish a DKIM body hash");
    return std::string(reinterpret_cast<const char*>(out), length);
}

bool dkim_body_hash_matches(std::string_view bh_tag, std::string_view digest)
{
    const std::optional<std::string> decoded = dkim_base64_decode(bh_tag);
    return decoded && !decoded->empty() && *decoded == digest;
}

}  // namespace ecomm

// Streaming search for an unsubscribe or preferences link in decoded text and HTML. The text
// comes from the sender: every look stays inside the window, and the window stays bounded.
#include "mail/unsubscribe_link_finder.h"

#include <algorithm>
#include <array>
#include <cstring>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mail/list_unsubscribe.h"
#include "util/vector_path.h"

namespace ecomm {

namespace {

constexpr std::uint64_t near_bytes = 300;          // keyword .. link in running text
constexpr std::uint64_t after_anchor_bytes = 100;  // </a> .. keyword
constexpr std::uint64_t anchor_text_bytes = 1024;  // longest anchor text considered
constexpr std::uint64_t qualifier_bytes = 40;      // "manage your email " before "preferences"
constexpr std::size_t evidence_chars = 200;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// ASCII case-insensitive match of a lower-case word at text (which has word.size() bytes).
bool matches_at(const char* text, std::string_view word)
{
    for (std::size_t i = 0; i < word.size(); ++i)
        if (lower(text[i]) != word[i]) return false;
    return true;
}

// ---- the candidate search --------------------------------------------------------------------
//
// One pass over a block finds where any of the scan's five words starts: at each position three
// bytes, folded with | 0x20, are compared with each word's first, second and last characters,
// 16 (SSE2) or 32 (AVX2) positions at a time, and only where all three match is the whole word
// checked. Folding makes letters lower case and leaves '<', '/' and ':' as they are (a control
// byte that folds onto one of them is weeded out by the check). No word is a prefix of another,
// so at most one starts at a position.

using Words = std::array<std::string_view, 5>;
constexpr Words plain_words = {"unsub", "opt", "preference", "http", "mailto:"};
constexpr Words html_words = {"unsub", "opt", "preference", "<a", "</a"};
constexpr std::size_t longest_word = 10;

constexpr bool valid_words(const Words& words)
{
    for (std::string_view word : words) {
        if (word.size() < 2 || word.size() > longest_word) return false;
        for (char c : {word[0], word[1], word.back()})
            if ((c | 0x20) != c) return false;  // the vector compare folds with | 0x20
        for (std::string_view other : words)
            if (other != word && other.substr(0, word.size()) == word) return false;  // a prefix of another
    }
    return true;
}
static_assert(valid_words(plain_words) && valid_words(html_words));

// Called for each candidate in order; false stops the search.
using Visit = bool (*)(void* context, std::size_t pos, unsigned word);

// The word of words that starts at pos and ends within text, or -1.
int word_at(std::string_view text, std::size_t pos, const Words& words)
{
    for (unsigned i = 0; i < words.size(); ++i)
        if (pos + words[i].size() <= text.size() && matches_at(text.data() + pos, words[i])) return static_cast<int>(i);
    return -1;
}

// Confirms the positions of mask (bit i: position p + i) in order. False when visit stopped.
bool visit_mask(std::string_view text, std::size_t p, std::uint32_t mask, const Words& words, Visit visit, void* context)
{
    while (mask != 0) {
        const std::size_t pos = p + static_cast<std::size_t>(__builtin_ctz(mask));
        mask &= mask - 1;
        if (const int word = word_at(text, pos, words); word >= 0 && !visit(context, pos, static_cast<unsigned>(word)))
            return false;
    }
    return true;
}

// Positions [p, stop) one by one: the portable path, and the tail of the vector ones.
bool search_scalar(std::string_view text, std::size_t p, std::size_t stop, const Words& words, Visit visit, void* context)
{
    for (; p < stop; ++p)
        if (const int word = word_at(text, p, words); word >= 0 && !visit(context, p, static_cast<unsigned>(word)))
            return false;
    return true;
}

#if defined(__SSE2__)
// Positions [p, stop) 16 at a time while the loads stay within text (a vector reaches
// longest_word - 1 bytes past its last position); the rest are left to the caller. Advances p.
inline bool search_sse2_steps(std::string_view text, std::size_t& p, std::size_t stop, const Words& words, Visit visit,
                              void* context)
{
    const char* data = text.data();
    const auto load = [data](std::size_t at) {
        return _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at)), _mm_set1_epi8(0x20));
    };
    __m128i first[5], second[5], last[5];
    for (unsigned i = 0; i < 5; ++i) {
        first[i] = _mm_set1_epi8(words[i][0]);
        second[i] = _mm_set1_epi8(words[i][1]);
        last[i] = _mm_set1_epi8(words[i].back());
    }
    for (; p + 16 <= stop && p + 16 + longest_word - 1 <= text.size(); p += 16) {
        const __m128i a = load(p);
        const __m128i b = load(p + 1);
        __m128i any = _mm_setzero_si128();
        for (unsigned i = 0; i < 5; ++i) {
            const __m128i z = load(p + words[i].size() - 1);
            any = _mm_or_si128(any, _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, first[i]), _mm_cmpeq_epi8(b, second[i])),
                                                  _mm_cmpeq_epi8(z, last[i])));
        }
        const auto mask = static_cast<std::uint32_t>(_mm_movemask_epi8(any));
        if (mask != 0 && !visit_mask(text, p, mask, words, visit, context)) return false;
    }
    return true;
}

bool search_sse2(std::string_view text, std::size_t p, std::size_t stop, const Words& words, Visit visit, void* context)
{
    return search_sse2_steps(text, p, stop, words, visit, context) && search_scalar(text, p, stop, words, visit, context);
}
#endif

#if defined(ECOMM_HAVE_AVX2)
// The same 32 positions at a time, for CPUs that have AVX2 (util/vector_path.h).
__attribute__((target("avx2"))) bool search_avx2(std::string_view text, std::size_t p, std::size_t stop,
                                                 const Words& words, Visit visit, void* context)
{
    const char* data = text.data();
    const auto load = [data](std::size_t at) __attribute__((target("avx2"))) {
        return _mm256_or_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + at)), _mm256_set1_epi8(0x20));
    };
    __m256i first[5], second[5], last[5];
    for (unsigned i = 0; i < 5; ++i) {
        first[i] = _mm256_set1_epi8(words[i][0]);
        second[i] = _mm256_set1_epi8(words[i][1]);
        last[i] = _mm256_set1_epi8(words[i].back());
    }
    for (; p + 32 <= stop && p + 32 + longest_word - 1 <= text.size(); p += 32) {
        const __m256i a = load(p);
        const __m256i b = load(p + 1);
        __m256i any = _mm256_setzero_si256();
        for (unsigned i = 0; i < 5; ++i) {
            const __m256i z = load(p + words[i].size() - 1);
            any = _mm256_or_si256(any, _mm256_and_si256(_mm256_and_si256(_mm256_cmpeq_epi8(a, first[i]),
                                                                          _mm256_cmpeq_epi8(b, second[i])),
                                                         _mm256_cmpeq_epi8(z, last[i])));
        }
        const auto mask = static_cast<std::uint32_t>(_mm256_movemask_epi8(any));
        if (mask != 0 && !visit_mask(text, p, mask, words, visit, context)) return false;
    }
    return search_sse2_steps(text, p, stop, words, visit, context) && search_scalar(text, p, stop, words, visit, context);
}
#endif

// Candidates starting in [from, stop) of text, each ending within text, in order.
bool search(std::string_view text, std::size_t from, std::size_t stop, const Words& words, Visit visit, void* context)
{
    stop = std::min(stop, text.size());
    if (from >= stop) return true;
    switch (vector_path()) {
#if defined(ECOMM_HAVE_AVX2)
    case VectorPath::avx2: return search_avx2(text, from, stop, words, visit, context);
#endif
#if defined(__SSE2__)
    case VectorPath::sse2: return search_sse2(text, from, stop, words, visit, context);
#endif
    default: return search_scalar(text, from, stop, words, visit, context);
    }
}

// Characters that may continue a URL in plain text (printable ASCII but blanks, quotes, <>).
bool is_url_char(char c)
{
    return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"' && c != '`';
}

bool contains(std::string_view text, std::string_view lower_word)  // text: a few dozen bytes
{
    for (std::size_t i = 0; i + lower_word.size() <= text.size(); ++i)
        if (matches_at(text.data() + i, lower_word)) return true;
    return false;
}

constexpr std::string_view opt_out_spellings[] = {"optout", "opt-out", "opt_out", "opt%20out"};
constexpr std::string_view preference_qualifiers[] = {"manage", "email", "e-mail", "subscription", "update your",
                                                      "communication", "mailing"};

// Case-insensitive: the words that make a URL an unsubscribe or preferences link ("unsub",
// "optout", "opt-out", "opt_out", "opt%20out", "preference"). One pass over the URL.
bool url_has_keyword(std::string_view url)
{
    for (std::size_t i = 0; i < url.size(); ++i) {
        const std::string_view rest = url.substr(i);
        switch (lower(url[i])) {
        case 'u':
            if (rest.size() >= 5 && matches_at(rest.data(), "unsub")) return true;
            break;
        case 'o':
            for (std::string_view word : opt_out_spellings)
                if (rest.size() >= word.size() && matches_at(rest.data(), word)) return true;
            break;
        case 'p':
            if (rest.size() >= 10 && matches_at(rest.data(), "preference")) return true;
            break;
        default:
            break;
        }
    }
    return false;
}

std::string lower_copy(std::string_view text)
{
    std::string out(text);
    for (char& c : out) c = lower(c);
    return out;
}

void append_utf8(std::string& out, unsigned long code)
{
    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// An href value as a browser would use it: character references decoded (numeric ones and
// the named ones that occur in URLs), tabs and newlines removed, surrounding spaces trimmed.
std::string decode_href(std::string_view value)
{
    const auto special_from = [&value](std::size_t from) {
        for (std::size_t k = from; k < value.size(); ++k)
            if (value[k] == '&' || value[k] == '\t' || value[k] == '\r' || value[k] == '\n') return k;
        return std::string_view::npos;
    };
    if (special_from(0) == std::string_view::npos
        && (value.empty() || (value.front() != ' ' && value.back() != ' ')))
        return std::string(value);
    static constexpr struct { std::string_view name; char c; } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"colon", ':'},
        {"sol", '/'}, {"period", '.'}, {"quest", '?'}, {"equals", '='}, {"num", '#'},
        {"percnt", '%'}, {"lowbar", '_'}, {"plus", '+'}, {"commat", '@'}, {"comma", ','},
        {"semi", ';'}, {"excl", '!'}, {"dollar", '$'}, {"ast", '*'}, {"tilde", '~'}, {"nbsp", ' '},
    };
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto special = special_from(i);
        out.append(value.substr(i, special == std::string_view::npos ? std::string_view::npos : special - i));
        if (special == std::string_view::npos) break;
        i = special;
        const char c = value[i];
        if (c != '&') continue;  // tab or newline: dropped
        const auto semi = value.find(';', i + 1);
        if (semi == std::string_view::npos || semi - i > 12) { out += c; continue; }
        const std::string_view ref = value.substr(i + 1, semi - i - 1);
        if (ref.size() >= 2 && ref[0] == '#') {
            const bool hex = ref[1] == 'x' || ref[1] == 'X';
            const std::string_view digits = ref.substr(hex ? 2 : 1);
            unsigned long code = 0;
            bool ok = !digits.empty();
            for (char d : digits) {
                int v;
                if (d >= '0' && d <= '9') v = d - '0';
                else if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
                else if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
                else { ok = false; break; }
                code = code * (hex ? 16 : 10) + static_cast<unsigned long>(v);
            }
            if (!ok) { out += c; continue; }
            append_utf8(out, code);
            i = semi;
            continue;
        }
        const std::string lowered = lower_copy(ref);
        const auto match = std::find_if(std::begin(named), std::end(named),
                                        [&](const auto& entry) { return entry.name == lowered; });
        if (match == std::end(named)) { out += c; continue; }
        out += match->c;
        i = semi;
    }
    const auto first = out.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

// Walks the attributes of a tag from just after "<a" to its '>' (outside quoted values), or to
// the end of text. Returns the length consumed; *href receives the first href's raw value.
std::size_t parse_tag(std::string_view text, std::string* href, bool* has_href)
{
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        while (i < n && (is_space(text[i]) || text[i] == '/')) ++i;
        if (i >= n) break;
        if (text[i] == '>') return i + 1;
        const std::size_t name_start = i;
        while (i < n && !is_space(text[i]) && text[i] != '/' && text[i] != '>' && text[i] != '=') ++i;
        const std::string_view name = text.substr(name_start, i - name_start);
        std::size_t j = i;
        while (j < n && is_space(text[j])) ++j;
        if (j >= n || text[j] != '=') continue;  // attribute without value
        ++j;
        while (j < n && is_space(text[j])) ++j;
        std::string_view value;
        if (j < n && (text[j] == '"' || text[j] == '\'')) {
            const char quote = text[j];
            const auto close = text.find(quote, j + 1);
            const std::size_t stop = close == std::string_view::npos ? n : close;
            value = text.substr(j + 1, stop - j - 1);
            i = close == std::string_view::npos ? n : close + 1;
        } else {
            const std::size_t start = j;
            while (j < n && !is_space(text[j]) && text[j] != '>') ++j;
            value = text.substr(start, j - start);
            i = j;
        }
        if (!*has_href && name.size() == 4 && matches_at(name.data(), "href")) {
            *has_href = true;
            *href = decode_href(value);
        }
    }
    return n;
}

}  // namespace

bool UnsubscribeLinkFinder::Link::usable()
{
    if (state == State::unknown)
        state = classify_unsubscribe_uri(uri) == UnsubscribeUri::none ? State::unusable : State::usable;
    return state == State::usable;
}

void UnsubscribeLinkFinder::Link::set(std::string_view text)
{
    uri.assign(text);
    state = State::unknown;
}

void UnsubscribeLinkFinder::reset()
{
    found_ = false;
    evidence_.clear();
    reset_part();
    html_ = false;
}

void UnsubscribeLinkFinder::reset_part()
{
    raw_.clear();
    base_ = scanned_ = skip_until_ = 0;
    keyword_seen_ = url_seen_ = anchor_open_ = closed_anchor_seen_ = false;
    keyword_end_ = url_end_ = anchor_text_start_ = closed_anchor_end_ = 0;
    url_.set({});
    anchor_.set({});
    closed_anchor_.set({});
}

void UnsubscribeLinkFinder::begin_text(bool html)
{
    reset_part();
    html_ = html;
}

void UnsubscribeLinkFinder::end_text()
{
    if (!found_) scan(end());
    reset_part();
}

void UnsubscribeLinkFinder::text(std::string_view decoded)
{
    // The window's usual size at once, and only for a message with text to search: a finder is
    // made for every message, and dropped at the end of the headers when the search cannot matter.
    if (!found_ && !decoded.empty() && raw_.capacity() < behind_bytes + lookahead_bytes + block_bytes)
        raw_.reserve(behind_bytes + lookahead_bytes + block_bytes);
    while (!found_ && !decoded.empty()) {
        const std::size_t n = std::min(decoded.size(), block_bytes);
        raw_.append(decoded.data(), n);
        decoded.remove_prefix(n);

        // Scanned a block at a time: text often comes a line at a time, and each search has a
        // fixed cost. (Where the scans stop never changes what is found.)
        if (end() >= scanned_ + lookahead_bytes + block_bytes) scan(end() - lookahead_bytes);
        // Keep behind_bytes before the scan position for looks backwards. The text before that
        // is dropped in large steps: dropping it every block would move the kept bytes each time.
        const std::uint64_t keep_from = scanned_ > behind_bytes ? scanned_ - behind_bytes : 0;
        if (keep_from >= base_ + compact_bytes) {
            const std::size_t drop = static_cast<std::size_t>(keep_from - base_);
            raw_.erase(0, drop);
            base_ = keep_from;
        }
    }
}

bool UnsubscribeLinkFinder::low_has(std::uint64_t pos, std::string_view word) const
{
    if (pos < base_ || pos + word.size() > end()) return false;
    return matches_at(raw_.data() + (pos - base_), word);
}

std::vector<std::pair<std::size_t, unsigned>> UnsubscribeLinkFinder::candidates(std::string_view text, bool html,
                                                                                std::size_t from, std::size_t stop)
{
    std::vector<std::pair<std::size_t, unsigned>> found;
    search(text, from, stop, html ? html_words : plain_words, [](void* context, std::size_t pos, unsigned word) {
        static_cast<std::vector<std::pair<std::size_t, unsigned>>*>(context)->emplace_back(pos, word);
        return true;
    }, &found);
    return found;
}

void UnsubscribeLinkFinder::scan(std::uint64_t limit)
{
    if (found_ || limit <= scanned_) return;
    // The candidates come in order, at most one per position: each is handled as it is found.
    search(raw_, static_cast<std::size_t>(scanned_ - base_), static_cast<std::size_t>(limit - base_),
           html_ ? html_words : plain_words, [](void* context, std::size_t pos, unsigned word) {
               auto& self = *static_cast<UnsubscribeLinkFinder*>(context);
               const std::uint64_t at = self.base_ + pos;
               switch (word) {
               case 0: self.on_keyword(at, Event::unsub); break;
               case 1: self.on_keyword(at, Event::opt); break;
               case 2: self.on_keyword(at, Event::prefer); break;
               case 3:
                   if (self.html_) self.on_anchor_open(at);
                   else self.on_url(at);
                   break;
               default:
                   if (self.html_) self.on_anchor_close(at);
                   else self.on_url(at);
                   break;
               }
               return !self.found_;
           }, this);
    scanned_ = limit;
}

void UnsubscribeLinkFinder::report(std::string_view link)
{
    found_ = true;
    evidence_.clear();
    for (char c : link.substr(0, evidence_chars))
        evidence_ += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
}

void UnsubscribeLinkFinder::on_keyword(std::uint64_t pos, Event event)
{
    std::uint64_t stop = pos;
    bool strong = true;
    if (event == Event::unsub) {
        stop = pos + 5;
    } else if (event == Event::opt) {
        if (pos > 0 && is_letter(low_at(pos - 1))) return;  // "adopt", "co-opt" stays
        std::uint64_t at = pos + 3;
        for (int separators = 0; separators < 3; ++separators) {
            const char c = low_at(at);
            if (c == ' ' || c == '-' || c == '_' || c == '\t' || c == '\r' || c == '\n') ++at;
            else if (html_ && low_has(at, "&nbsp;")) at += 6;
            else break;
        }
        if (!low_has(at, "out")) return;
        stop = at + 3;
    } else {  // "preference": strong only with a qualifier just before it
        stop = pos + 10;
        const std::uint64_t from = std::max(base_, pos > qualifier_bytes ? pos - qualifier_bytes : 0);
        const std::string_view before = std::string_view(raw_).substr(
            static_cast<std::size_t>(from - base_), static_cast<std::size_t>(pos - from));
        strong = false;
        for (std::string_view word : preference_qualifiers)
            if (contains(before, word)) strong = true;
    }

    if (html_) {
        // In the anchor's text, or inside the <a ...> tag itself (class="unsubscribe").
        if (anchor_open_ && pos < anchor_text_start_ + anchor_text_bytes) {
            if (anchor_.usable()) report(anchor_.uri);
            return;  // a keyword inside a dead link is no invitation to the next one
        }
        if (!strong) return;
        if (closed_anchor_seen_ && pos >= closed_anchor_end_ && pos - closed_anchor_end_ <= after_anchor_bytes
            && closed_anchor_.usable()) {
            report(closed_anchor_.uri);
            return;
        }
    } else {
        if (!strong) return;
        if (url_seen_ && pos >= url_end_ && pos - url_end_ <= near_bytes && url_end_ >= base_) {
            const std::string_view between(raw_.data() + (url_end_ - base_), static_cast<std::size_t>(pos - url_end_));
            if (between.find('\n') == std::string_view::npos && url_.usable()) {
                report(url_.uri);
                return;
            }
        }
    }
    keyword_seen_ = true;
    keyword_end_ = stop;
}

void UnsubscribeLinkFinder::on_url(std::uint64_t pos)
{
    if (pos < skip_until_) return;
    const std::uint64_t limit = std::min(end(), pos + lookahead_bytes);
    std::uint64_t stop = pos;
    while (stop < limit && is_url_char(raw_[stop - base_])) ++stop;
    std::string_view url(raw_.data() + (pos - base_), static_cast<std::size_t>(stop - pos));
    while (!url.empty() && std::strchr(".,;:!?)]'*", url.back())) url.remove_suffix(1);
    skip_until_ = pos + url.size();
    if (url.size() < 8) return;  // shorter than any usable URI
    Link link;
    link.set(url);

    if (url_has_keyword(url)) {
        if (link.usable()) report(url);
        return;
    }
    if (keyword_seen_ && keyword_end_ <= pos && pos - keyword_end_ <= near_bytes && keyword_end_ >= base_) {
        // Same line, or the keyword's line then only blank lines before the URL's line.
        const std::string_view between(raw_.data() + (keyword_end_ - base_), static_cast<std::size_t>(pos - keyword_end_));
        const auto first = between.find('\n');
        bool near = true;
        if (first != std::string_view::npos) {
            const auto last = between.rfind('\n');
            for (std::size_t i = first + 1; i < last; ++i)
                if (!is_space(between[i])) { near = false; break; }
        }
        if (near && link.usable()) {
            report(url);
            return;
        }
    }
    url_seen_ = true;
    url_end_ = pos + url.size();
    url_ = std::move(link);
}

void UnsubscribeLinkFinder::on_anchor_open(std::uint64_t pos)
{
    if (pos < skip_until_) return;  // "<a" inside the previous tag: each byte is parsed once
    const char next = low_at(pos + 2);
    if (!is_space(next) && next != '>' && next != '/') return;  // <abbr>, <address>, <area>
    const std::uint64_t limit = std::min(end(), pos + lookahead_bytes);
    const std::string_view tag(raw_.data() + (pos + 2 - base_), static_cast<std::size_t>(limit - pos - 2));
    std::string href;
    bool has_href = false;
    const std::size_t length = parse_tag(tag, &href, &has_href);
    skip_until_ = pos + 2 + length;

    anchor_open_ = true;
    anchor_text_start_ = pos + 2 + length;
    anchor_.set(href);
    if (!has_href) anchor_.state = Link::State::unusable;
    if (url_has_keyword(href) || (keyword_seen_ && keyword_end_ <= pos && pos - keyword_end_ <= near_bytes))
        if (anchor_.usable()) report(href);
}

void UnsubscribeLinkFinder::on_anchor_close(std::uint64_t pos)
{
    const char next = low_at(pos + 3);
    if (!is_space(next) && next != '>') return;  // </abbr>, </address>
    if (!anchor_open_) return;
    anchor_open_ = false;
    if (pos >= anchor_text_start_ + anchor_text_bytes || anchor_.state == Link::State::unusable) return;
    closed_anchor_seen_ = true;
    closed_anchor_end_ = pos + 4;
    std::swap(closed_anchor_, anchor_);
}

}  // namespace ecomm

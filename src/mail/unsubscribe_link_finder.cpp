// Streaming search for an unsubscribe or preferences link in decoded text and HTML. The text
// comes from the sender: every look stays inside the window, and the window stays bounded.
#include "mail/unsubscribe_link_finder.h"

#include <algorithm>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mail/list_unsubscribe.h"

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

// Calls found(pos) for every case-insensitive occurrence of needle (lower case, at least two
// characters) that starts in [from, stop) and ends within text. With SSE2 it compares the
// needle's first and last characters 16 positions at a time (a letter's case folds with
// | 0x20) and checks the rest only where both match, several GB/s on a block in cache.
template <class Found>
void find_all(std::string_view text, std::size_t from, std::size_t stop, std::string_view needle, Found&& found)
{
    const std::size_t n = needle.size();
    if (text.size() < n) return;
    stop = std::min(stop, text.size() - n + 1);
    std::size_t p = from;
#if defined(__SSE2__)
    const std::size_t last = n - 1;
    const __m128i first_char = _mm_set1_epi8(needle[0]);
    const __m128i last_char = _mm_set1_epi8(needle[last]);
    const __m128i first_fold = _mm_set1_epi8(is_letter(needle[0]) ? 0x20 : 0);
    const __m128i last_fold = _mm_set1_epi8(is_letter(needle[last]) ? 0x20 : 0);
    const char* data = text.data();
    for (; p + 16 <= stop; p += 16) {
        const __m128i a = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + p)), first_fold);
        const __m128i b = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + p + last)), last_fold);
        unsigned mask = static_cast<unsigned>(
            _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first_char), _mm_cmpeq_epi8(b, last_char))));
        while (mask != 0) {
            const std::size_t at = p + static_cast<std::size_t>(__builtin_ctz(mask));
            if (matches_at(data + at, needle)) found(at);
            mask &= mask - 1;
        }
    }
#endif
    for (; p < stop; ++p)
        if (matches_at(text.data() + p, needle)) found(p);
}

// Characters that may continue a URL in plain text (printable ASCII but blanks, quotes, <>).
bool is_url_char(char c)
{
    return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"' && c != '`';
}

bool contains(std::string_view text, std::string_view lower_word)
{
    bool hit = false;
    find_all(text, 0, text.size(), lower_word, [&hit](std::size_t) { hit = true; });
    return hit;
}

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
            for (std::string_view word : {"optout", "opt-out", "opt_out", "opt%20out"})
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

UnsubscribeLinkFinder::UnsubscribeLinkFinder()
{
    raw_.reserve(behind_bytes + lookahead_bytes + block_bytes);
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
    candidates_.clear();
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
    while (!found_ && !decoded.empty()) {
        const std::size_t n = std::min(decoded.size(), block_bytes);
        raw_.append(decoded.data(), n);
        decoded.remove_prefix(n);

        if (end() >= scanned_ + lookahead_bytes) scan(end() - lookahead_bytes);
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

void UnsubscribeLinkFinder::collect(std::string_view needle, Event event, std::uint64_t from,
                                    std::uint64_t limit)
{
    // Candidates start in [from, limit); their text may run up to the window's end.
    find_all(raw_, static_cast<std::size_t>(from - base_), static_cast<std::size_t>(limit - base_), needle,
             [&](std::size_t pos) { candidates_.push_back({base_ + pos, event}); });
}

void UnsubscribeLinkFinder::scan(std::uint64_t limit)
{
    if (found_ || limit <= scanned_) return;
    candidates_.clear();
    collect("unsub", Event::unsub, scanned_, limit);
    collect("opt", Event::opt, scanned_, limit);
    collect("preference", Event::prefer, scanned_, limit);
    if (html_) {
        collect("<a", Event::anchor_open, scanned_, limit);
        collect("</a", Event::anchor_close, scanned_, limit);
    } else {
        collect("http", Event::url, scanned_, limit);
        collect("mailto:", Event::url, scanned_, limit);
    }
    std::sort(candidates_.begin(), candidates_.end(),
              [](const Candidate& a, const Candidate& b) { return a.pos < b.pos; });
    for (const Candidate& candidate : candidates_) {
        if (found_) break;
        switch (candidate.event) {
        case Event::unsub:
        case Event::opt:
        case Event::prefer: on_keyword(candidate.pos, candidate.event); break;
        case Event::url: on_url(candidate.pos); break;
        case Event::anchor_open: on_anchor_open(candidate.pos); break;
        case Event::anchor_close: on_anchor_close(candidate.pos); break;
        }
    }
    candidates_.clear();
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
        for (std::string_view word : {"manage", "email", "e-mail", "subscription", "update your",
                                      "communication", "mailing"})
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

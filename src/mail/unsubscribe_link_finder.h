// Finds an unsubscribe or preferences link in the decoded text of a message (eComm policy
// IV.C.1.a, "an unsubscribe link"), for the unsubscribe rule when the config lets a body link
// stand in for List-Unsubscribe. The MIME scanner streams the decoded text/plain and text/html
// leaves into it, in chunks of any size; memory stays bounded whatever the message's size.
//
// What counts (case-insensitive):
//   keywords   "unsub..." (unsubscribe, unsubscription), "opt-out" / "opt out" / "optout",
//              and "preference(s)"; "preferences" in running text only with a qualifier in the
//              40 characters before it ("manage", "email", "e-mail", "subscription",
//              "update your", "communication", "mailing"), as in "manage your preferences".
//   links      https, http or mailto URIs that classify_unsubscribe_uri accepts (a real host,
//              a real address), so "#", "javascript:", "{{unsub}}" or a bare word never count.
//   HTML       an <a href="..."> (entities decoded, tabs and newlines removed as browsers do)
//              whose href contains "unsub", "opt-out"/"optout"/"opt_out" or "preference"; or
//              whose anchor text (up to 1 KiB, nested markup included) contains a keyword; or
//              an anchor following a keyword in the text within 300 bytes ("To unsubscribe,
//              <a href=...>click here</a>"), or followed by one within 100 bytes of its </a>
//              ("<a href=...>Click here</a> to unsubscribe").
//   plain text a URL that contains one of the URL words above; or a URL on the same line as a
//              keyword (either order, within 300 bytes), or on the line after the keyword's
//              line, blank lines between allowed ("To unsubscribe visit:\n\n  https://...").
// Only "unsub", "opt" and "preference" candidates are looked at, plus "<a"/"</a" in HTML and
// "http"/"mailto:" in plain text, all five found in one vectorised pass over each block (AVX2
// when the CPU has it, else SSE2), so the cost is one cheap pass rather than a per-byte state
// machine.
//
// Memory: the text is scanned in blocks of 8 KiB; the window keeps 512 bytes behind the scan
// position and 2 KiB ahead (the longest URL or <a> tag considered; longer ones are cut), and
// drops the text behind in steps of 64 KiB, so it never holds more than about 85 KiB however
// long the part.
// Once a link is found, further text is ignored.
//
// Not handled (documented limits): links hidden in HTML comments or by CSS still count; a
// keyword written with entities or soft hyphens ("Unsub&shy;scribe") is not recognised.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mime/scanner.h"  // MimeTextSink

namespace ecomm {

class UnsubscribeLinkFinder : public MimeTextSink {
public:
    UnsubscribeLinkFinder() = default;

    // One text leaf: begin_text, any number of text calls, end_text. Text arriving without
    // begin_text is treated as plain text; end_text must come before found() is final (up to
    // 2 KiB of the part wait for look-ahead until then).
    void begin_text(bool html) override;
    void text(std::string_view decoded) override;
    void end_text() override;

    bool found() const { return found_; }
    // The link that satisfied the search (the URI as written, entities decoded, cut to 200
    // characters, control characters replaced); empty when none was found.
    std::string evidence() const { return evidence_; }

    // Forget everything, to reuse the finder for another message.
    void reset();

    // Bytes currently held in the window (for tests of the memory bound).
    std::size_t window_bytes() const { return raw_.size(); }

    // The candidate search itself, for tests: each (position, word) in [from, stop) where one
    // of the scan's words starts, case-insensitively, and ends within text, in order. The
    // words, by index: "unsub", "opt", "preference", then "http", "mailto:" (plain text) or
    // "<a", "</a" (html).
    static std::vector<std::pair<std::size_t, unsigned>> candidates(std::string_view text, bool html,
                                                                   std::size_t from, std::size_t stop);

    static constexpr std::size_t block_bytes = 8192;
    static constexpr std::size_t lookahead_bytes = 2048;
    static constexpr std::size_t behind_bytes = 512;
    static constexpr std::size_t compact_bytes = 64 * 1024;  // dead text dropped in steps this large

private:
    enum class Event : std::uint8_t { unsub, opt, prefer, url, anchor_open, anchor_close };

    // A link seen but not judged yet: whether its URI is usable is decided when it matters.
    struct Link {
        enum class State : std::uint8_t { unknown, usable, unusable };
        std::string uri;  // as written (an href with entities decoded), at most lookahead_bytes
        State state = State::unknown;
        bool usable();
        void set(std::string_view text);
    };

    void reset_part();
    void scan(std::uint64_t limit);
    void on_keyword(std::uint64_t pos, Event event);
    void on_url(std::uint64_t pos);
    void on_anchor_open(std::uint64_t pos);
    void on_anchor_close(std::uint64_t pos);
    void report(std::string_view link);

    // Window helpers over absolute positions.
    std::uint64_t end() const { return base_ + raw_.size(); }
    char low_at(std::uint64_t pos) const  // lower-cased; '\0' outside the window
    {
        if (pos < base_ || pos >= end()) return '\0';
        const char c = raw_[pos - base_];
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    }
    bool low_has(std::uint64_t pos, std::string_view word) const;

    bool found_ = false;
    std::string evidence_;

    // The current part.
    bool html_ = false;
    std::string raw_;                  // the window
    std::uint64_t base_ = 0;           // absolute offset of raw_[0] within the part
    std::uint64_t scanned_ = 0;        // candidates starting before this were handled
    std::uint64_t skip_until_ = 0;     // inside the last URL (plain) or <a> tag (html)

    bool keyword_seen_ = false;        // a keyword in running text (not in an anchor)
    std::uint64_t keyword_end_ = 0;

    bool url_seen_ = false;            // plain: the last valid URL without a keyword
    std::uint64_t url_end_ = 0;
    Link url_;

    bool anchor_open_ = false;         // html: inside <a ...> ... </a>
    std::uint64_t anchor_text_start_ = 0;
    Link anchor_;                      //       its href
    bool closed_anchor_seen_ = false;  // html: the last closed anchor (href not known unusable)
    std::uint64_t closed_anchor_end_ = 0;
    Link closed_anchor_;
};

}  // namespace ecomm

// Attachments hidden inside text: uuencoded blocks ("begin 644 name" followed by uuencoded lines,
// also "begin-base64 644 name") and yEnc blocks ("=ybegin ... name=..."), found in a stream of
// text (a decoded text part, a preamble or an epilogue) fed in any chunking.
//
// Bounded: only the first kKeep bytes of each line are looked at; state is one pending begin line.
#pragma once
#include <string>
#include <string_view>

namespace ecomm::mime {

class EmbeddedEncodingDetector {
public:
    struct Block {
        std::string kind;      // "uu" or "yenc"
        std::string filename;  // as written on the begin line
    };

    // Text in any chunking; returns true when a block was completed by this text (see found()).
    bool feed(std::string_view text);
    // The same for text already split into lines: one line without its '\n' (ends_line: the
    // line break follows; else more of the line comes next), as feed(line + "\n") would take it.
    bool feed_line(std::string_view line, bool ends_line);
    // End of the text: an unfinished last line is judged too.
    bool finish();
    bool found() const { return found_; }
    // No begin line waits for its next line and no line is half read: a line that starts with
    // neither 'b' nor '=' then changes nothing, and need not be fed.
    bool idle() const { return begin_name_.empty() && line_.empty() && !skipping_; }
    const Block& block() const { return block_; }
    void reset() { *this = EmbeddedEncodingDetector{}; }

    static constexpr std::size_t kKeep = 256;

private:
    bool judge_line(std::string_view line);

    std::string line_;          // start of the current line, at most kKeep bytes
    std::string begin_name_;    // a "begin" line was seen; the next line decides
    std::string begin_kind_;    // "uu" or "uu-base64"
    bool skipping_ = false;     // feed: the rest of a line whose start needed no look
    bool found_ = false;
    Block block_;
};

}  // namespace ecomm::mime

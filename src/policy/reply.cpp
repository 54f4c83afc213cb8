// Building SMTP replies. The text mixes our words with sender-controlled data (addresses,
// filenames), so everything is sanitised here, once, before it reaches the MTA.
#include "policy/reply.h"

#include <algorithm>

namespace ecomm {

namespace {

// "5.7.1" under a tempfail becomes "4.7.1" and vice versa, so the classes always agree.
std::string enhanced_for(Action action, std::string enhanced)
{
    if (enhanced.size() < 5 || (enhanced[0] != '4' && enhanced[0] != '5')) enhanced = "5.7.1";
    enhanced[0] = action == Action::tempfail ? '4' : '5';
    return enhanced;
}

// Bytes the text takes once libmilter's escaping has doubled each '%'.
std::size_t escaped_size(std::string_view text)
{
    return text.size() + static_cast<std::size_t>(std::count(text.begin(), text.end(), '%'));
}

bool is_utf8_continuation(char c)
{
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;  // 10xxxxxx
}

// Bytes of the UTF-8 character at text[pos] (a byte >= 0x80), or 1 when no whole character
// starts there: one '?' then stands for each character a reader would see, or for each byte
// of anything else.
std::size_t utf8_character_size(std::string_view text, std::size_t pos)
{
    const auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t size = 1;  // RFC 3629 section 4: the lead byte says how many follow
    if (lead >= 0xC2 && lead <= 0xDF) size = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) size = 3;
    else if (lead >= 0xF0 && lead <= 0xF4) size = 4;
    std::size_t have = 1;
    while (have < size && pos + have < text.size() && is_utf8_continuation(text[pos + have])) ++have;
    return have == size ? size : 1;
}

}  // namespace

// RFC 5321 section 4.2 allows a reply text HT, SP and printable ASCII only: control characters
// become spaces and 8-bit bytes (a sender's UTF-8 file name) '?', so the cut below counts
// the bytes that are sent.
std::string sanitize_reply_text(std::string_view text, std::size_t max_bytes)
{
    std::string out;
    out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
    std::size_t size = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        const auto byte = static_cast<unsigned char>(text[pos]);
        const std::size_t used = byte >= 0x80 ? utf8_character_size(text, pos) : 1;
        const char c = byte >= 0x80 ? '?' : (byte < 0x20 || byte == 0x7F) ? ' ' : text[pos];
        size += c == '%' ? 2 : 1;
        if (size > max_bytes) break;
        out += c;
        pos += used;
    }
    return out;
}

Reply make_reply(Action action, const RuleResult& rule, const std::string& policy_url)
{
    Reply reply;
    reply.code = action == Action::tempfail ? "451" : "550";
    reply.enhanced = enhanced_for(action, rule.enhanced_status);

    std::string citation = " (eComm policy " + rule.policy_section;
    if (!policy_url.empty()) citation += "; " + policy_url;
    citation += ")";
    citation = sanitize_reply_text(citation, kMaxReplyLine / 2);

    // code + space + enhanced + space, then the words, then the citation: all within the limit.
    const std::size_t prefix = reply.code.size() + 1 + reply.enhanced.size() + 1;
    const std::size_t room = kMaxReplyLine - prefix - escaped_size(citation);
    std::string words = rule.reply_text.empty() ? "message refused by policy rule " + rule.rule
                                                : rule.reply_text;
    reply.text = sanitize_reply_text(words, room) + citation;
    return reply;
}

Reply internal_error_reply(Action action)
{
    Reply reply;
    if (action == Action::reject) {
        reply.code = "550";
        reply.enhanced = "5.3.0";
        reply.text = "message refused: internal error in the policy filter";
    } else {
        reply.code = "451";
        reply.enhanced = "4.3.0";
        reply.text = "internal error in the policy filter, try again later";
    }
    return reply;
}

}  // namespace ecomm

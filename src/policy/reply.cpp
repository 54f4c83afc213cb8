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

}  // namespace

std::string sanitize_reply_text(std::string_view text, std::size_t max_bytes)
{
    std::string out;
    out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
    std::size_t escaped_size = 0;
    for (const char c : text) {
        escaped_size += c == '%' ? 2 : 1;
        if (escaped_size > max_bytes) break;
        const auto byte = static_cast<unsigned char>(c);
        out += (byte < 0x20 || byte == 0x7F) ? ' ' : c;
    }
    // Cut short: step back over continuation bytes so that a UTF-8 sequence is never split.
    std::size_t cut = out.size();
    if (cut < text.size())
        while (cut > 0 && is_utf8_continuation(text[cut])) --cut;
    out.resize(cut);
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

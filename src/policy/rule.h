// The rule interface. A rule is a pure function of the message facts, the sender's
// classification and the config snapshot; it never calls libmilter. Adding a rule means one
// file under rules/ and one line in the table in pipeline.cpp.
#pragma once
#include "config/snapshot.h"
#include "policy/classify.h"
#include "policy/facts.h"
#include "policy/verdict.h"
#include "util/ascii.h"

namespace ecomm {

struct RuleInput {
    const MessageFacts& facts;
    const Snapshot& snapshot;
    const Classification& classification;
    Date today;  // in the configured time zone
};

using RuleFunction = RuleResult (*)(const RuleInput&);

RuleResult check_registration(const RuleInput& input);  // IV.B.3.c.i
RuleResult check_return_path(const RuleInput& input);   // IV.B.3.c.ii
RuleResult check_authentication(const RuleInput& input);  // IV.B.3.c.iii
RuleResult check_bulk_hours(const RuleInput& input);      // IV.B.3.c.iv
RuleResult check_attachments(const RuleInput& input);     // IV.B.3.c.v
RuleResult check_rate(const RuleInput& input);            // IV.B.3.c.vi-vii
RuleResult check_unsubscribe(const RuleInput& input);     // IV.C.1.a
RuleResult check_external_tag(const RuleInput& input);  // IV.B.3.c (exemption)

// The body rules (attachments, unsubscribe) judge registered senders, and with
// [body] min_recipients > 0 any message with more recipients than that.
inline bool body_rules_apply(const RuleInput& input)
{
    const int threshold = input.snapshot.config.body_rules_min_recipients;
    return input.classification.sender_class == SenderClass::registered
           || (threshold > 0 && input.facts.recipients.size() > static_cast<std::size_t>(threshold));
}

// Whether the unsubscribe rule could still want a link in the body, judged at the end of the
// headers from what is known then, so that the session can skip the search when it could not
// change the verdict. True when the message would be promotional under some registry entry it
// may yet be classified under (possible_entries: signing_domains are the d= of its DKIM
// signatures, which pass only the end of the message tells), or when [body] min_recipients
// makes the body rules judge it whoever sent it.
bool unsubscribe_link_may_matter(const MessageFacts& facts, const Snapshot& snapshot,
                                 const std::vector<std::string>& signing_domains);

// Results that did not trigger share this shape.
inline RuleResult untriggered(std::string rule, std::string result, std::string detail)
{
    RuleResult r;
    r.rule = std::move(rule);
    r.result = std::move(result);
    r.detail = std::move(detail);
    return r;
}

// The edits that make `name: value` ours in a header a sender could forge (the external tag, the
// junk flag): a sender's copy must not stand in for ours ("X-Spam-Flag: NO"), so one with another
// value goes (highest occurrence first, so that no removal shifts another) and ours is added
// unless a copy already says the same (compared trimmed, in any case).
struct OwnHeaderEdits {
    std::vector<HeaderEdit> edits;
    std::size_t removed = 0;       // copies with another value
    bool already_present = false;  // a copy says what ours says: it stays, ours is not added
};

inline OwnHeaderEdits own_header_edits(const MessageFacts& facts, const std::string& name, const std::string& value)
{
    const auto trimmed = [](std::string_view text) {
        while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
        while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
        return text;
    };
    OwnHeaderEdits out;
    std::vector<int> other_values;
    int occurrence = 0;
    for (const Header& header : facts.headers) {
        if (!iequals(header.name, name)) continue;
        ++occurrence;
        if (iequals(trimmed(header.value), trimmed(value))) out.already_present = true;
        else other_values.push_back(occurrence);
    }
    for (auto index = other_values.rbegin(); index != other_values.rend(); ++index)
        out.edits.push_back({HeaderEdit::Kind::remove, name, "", *index});
    out.removed = other_values.size();
    if (!out.already_present) out.edits.push_back({HeaderEdit::Kind::add, name, value, 1});
    return out;
}

}  // namespace ecomm

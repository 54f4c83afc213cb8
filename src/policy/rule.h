// The rule interface. A rule is a pure function of the message facts, the sender's
// classification and the config snapshot; it never calls libmilter. Adding a rule means one
// file under rules/ and one line in the table in pipeline.cpp.
#pragma once
#include "config/snapshot.h"
#include "policy/classify.h"
#include "policy/facts.h"
#include "policy/verdict.h"

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

}  // namespace ecomm

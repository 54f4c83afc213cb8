// Rule "unsubscribe" — eComm policy IV.C.1.a: only transactional mail may go without an
// unsubscribe mechanism. Promotional mail needs a List-Unsubscribe header with an https or
// mailto URI (RFC 2369; RFC 8058 one-click reported when present) or, when [body]
// unsubscribe_body_link allows it, an unsubscribe or preferences link in its text.
#include "mail/list_unsubscribe.h"
#include "policy/classify.h"
#include "policy/message_category.h"
#include "policy/rule.h"

namespace ecomm {

bool unsubscribe_link_may_matter(const MessageFacts& facts, const Snapshot& snapshot,
                                 const std::vector<std::string>& signing_domains)
{
    const MainConfig& config = snapshot.config;
    if (!config.unsubscribe_body_link) return false;
    const int threshold = config.body_rules_min_recipients;
    if (threshold > 0 && facts.recipients.size() > static_cast<std::size_t>(threshold)) return true;
    if (is_internal_sender(facts, config)) return false;
    for (const RegistryEntry* entry : possible_entries(facts, snapshot, signing_domains))
        if (decide_category(entry, facts, config.category_header).category == MessageCategory::promotional)
            return true;
    return false;
}

RuleResult check_unsubscribe(const RuleInput& input)
{
    const MessageFacts& facts = input.facts;
    const MainConfig& config = input.snapshot.config;
    if (!facts.body_scanned) return untriggered("unsubscribe", "skip", "not scanned (internal sender)");
    if (!body_rules_apply(input)) return untriggered("unsubscribe", "skip", "not a registered sender");

    const CategoryDecision category = decide_category(input.classification.entry, facts, config.category_header);
    if (category.category == MessageCategory::transactional)
        return untriggered("unsubscribe", "skip", "transactional (" + category.reason + ")");

    const ListUnsubscribe list = parse_list_unsubscribe(facts.header_values("List-Unsubscribe"));
    if (list.has_mechanism()) {
        const OneClick one_click = check_one_click(list, facts.header_values("List-Unsubscribe-Post"));
        std::string detail = std::string("List-Unsubscribe ") + (list.https ? "https" : list.http ? "http" : "mailto")
                             + ", one-click " + std::string(to_string(one_click));
        return untriggered("unsubscribe", "pass", detail);
    }
    if (config.unsubscribe_body_link && facts.unsubscribe_link)
        return untriggered("unsubscribe", "pass", "unsubscribe link in the body: " + facts.unsubscribe_link_evidence);

    RuleResult result = untriggered("unsubscribe", "fail",
                                    "promotional (" + category.reason + ") without an unsubscribe mechanism");
    result.triggered = true;
    result.policy_section = "IV.C.1.a";
    result.reply_text = config.unsubscribe_body_link
                            ? "promotional mail must offer an unsubscribe mechanism: add a List-Unsubscribe header "
                              "(RFC 2369, ideally RFC 8058 one-click) or an unsubscribe link"
                            : "promotional mail must carry a List-Unsubscribe header (RFC 2369, ideally RFC 8058 "
                              "one-click)";
    return result;
}

}  // namespace ecomm

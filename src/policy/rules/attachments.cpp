// Rule "attachments" — eComm policy IV.B.3.c.v: messages must not directly include attachments;
// documents and media belong on a web server, linked from the message. The MIME scanner
// (src/mime/) finds them as the body streams; this rule judges its findings and names the
// first offending part in the reply so the sender knows what to remove.
#include "policy/rule.h"

namespace ecomm {

namespace {

std::string describe(const MimeFinding& finding)
{
    std::string text = "part " + finding.part + " " + (finding.content_type.empty() ? "?" : finding.content_type);
    if (!finding.filename.empty()) text += " \"" + finding.filename + "\"";
    return text;
}

}  // namespace

RuleResult check_attachments(const RuleInput& input)
{
    const MessageFacts& facts = input.facts;
    if (!facts.body_scanned) return untriggered("attachments", "skip", "not scanned (internal sender)");
    if (!body_rules_apply(input)) return untriggered("attachments", "skip", "not a registered sender");
    if (facts.attachments.empty()) return untriggered("attachments", "pass", "no attachment");

    const MimeFinding& first = facts.attachments.front();
    std::string detail = describe(first) + " (" + first.reason + ")";
    if (facts.attachments.size() > 1) detail += " and " + std::to_string(facts.attachments.size() - 1) + " more";
    RuleResult result = untriggered("attachments", "fail", detail);
    result.triggered = true;
    result.policy_section = "IV.B.3.c.v";
    result.reply_text = describe(first) + " is an attachment; university mail may not carry attachments: "
                        "put the document on a web server and link to it instead";
    return result;
}

}  // namespace ecomm

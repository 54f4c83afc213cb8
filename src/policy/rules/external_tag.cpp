// Rule "external-tag" — eComm policy IV.B.3 (exception process): mail from outside the university
// is flagged as external; a registered sender granted the exemption is not, and internal mail
// never is. Idempotent: an existing tag header is kept, and the Subject prefix is never doubled.
#include "mail/address.h"
#include "policy/rule.h"

namespace ecomm {

namespace {

bool subject_has_prefix(const std::string& subject, const std::string& prefix)
{
    std::string_view text = subject;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    return istarts_with(text, prefix);
}

}  // namespace

RuleResult check_external_tag(const RuleInput& input)
{
    const Classification& who = input.classification;
    if (who.sender_class == SenderClass::internal)
        return untriggered("external-tag", "skip", "internal sender");
    if (who.sender_class == SenderClass::registered && who.entry->external_tag_exempt)
        return untriggered("external-tag", "exempt", "'" + who.entry->id + "' is exempt from the tag");

    const MainConfig& config = input.snapshot.config;
    RuleResult result = untriggered("external-tag", "tagged", "from outside the university");
    result.triggered = true;
    result.policy_section = "IV.B.3.c";

    if (input.facts.first_header(config.tag_header))
        result.detail += "; tag header already present";
    else
        result.tag_edits.push_back({HeaderEdit::Kind::add, config.tag_header, config.tag_value, 1});

    if (!config.subject_prefix.empty()) {
        const Header* subject = input.facts.first_header("Subject");
        const std::string current = subject ? subject->value : std::string();
        if (!subject_has_prefix(current, config.subject_prefix))
            result.tag_subject = current.empty() ? config.subject_prefix
                                                 : config.subject_prefix + " " + current;
    }
    return result;
}

}  // namespace ecomm

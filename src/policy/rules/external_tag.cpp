// Rule "external-tag" — eComm policy IV.B.3 (exception process): mail from outside the university
// is flagged as external; a registered sender granted the exemption is not, and internal mail
// never is. Idempotent: a tag header that already says what ours says is kept, and the Subject
// prefix is not doubled on a Subject that starts with it, encoded words decoded (RFC 2047). A
// copy the sender wrote with another value ("no") is removed.
#include "mail/address.h"
#include "mime/header_params.h"
#include "policy/rule.h"
#include "util/ascii.h"

namespace ecomm {

namespace {

// How much of the Subject is decoded to look for the prefix: a dozen encoded words of the
// longest RFC 2047 section 2 allows, and no hostile Subject costs more.
constexpr std::size_t kSubjectWindow = 1024;

std::string_view without_leading_blanks(std::string_view text)
{
    while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
    return text;
}

// Whether the Subject already starts with the prefix as a reader sees it: encoded words decoded
// (adjacent ones joined), leading blanks skipped, in any case, and the prefix followed by a blank
// or the end ("[EXTERNAL]x" is the sender's word, not our prefix). Doubt means no: a second
// prefix is harmless, a missing one is not.
bool subject_has_prefix(std::string_view subject, std::string_view prefix)
{
    const bool cut = subject.size() > kSubjectWindow;
    const std::string decoded = mime::decode_encoded_words(subject.substr(0, kSubjectWindow));
    std::string_view text = without_leading_blanks(decoded);
    if (!istarts_with(text, prefix)) return false;
    text.remove_prefix(prefix.size());
    if (text.empty()) return !cut;
    if (!is_ascii_space(text.front())) return false;
    // A cut window decodes as the whole Subject does up to its first encoded word left
    // incomplete, whose blank before it the whole may join away: that must not follow.
    const std::string_view next = without_leading_blanks(text);
    return !cut || (!next.empty() && !next.starts_with("=?"));
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

    const OwnHeaderEdits tag = own_header_edits(input.facts, config.tag_header, config.tag_value);
    result.tag_edits = tag.edits;
    if (tag.removed != 0)
        result.detail += "; " + std::to_string(tag.removed) + " tag header(s) with another value removed";
    if (tag.already_present) result.detail += "; tag header already present";

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

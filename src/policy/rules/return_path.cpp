// Rule "return-path" — eComm policy IV.B.3.c.ii: mail from a third-party vendor or shared service
// carries the sender's unique identifier in the return-path. For a registered entry with an
// identifier, the MAIL FROM local part must hold it as a whole token and match the entry's
// return_path pattern; carrying another entry's identifier instead fails too. The null sender <> carries
// no identifier and fails for such an entry (documented in ecomm-milter.conf(5)).
#include "mail/address.h"
#include "policy/rule.h"

namespace ecomm {

namespace {

RuleResult failure(const std::string& detail, const std::string& reply_text)
{
    RuleResult result = untriggered("return-path", "fail", detail);
    result.triggered = true;
    result.policy_section = "IV.B.3.c.ii";
    result.reply_text = reply_text;
    return result;
}

const RegistryEntry* other_owner(const Registry& registry, const RegistryEntry& self,
                                 std::string_view local_part)
{
    for (const auto& entry : registry.entries)
        if (&entry != &self && !entry.identifier.empty() && contains_token(local_part, entry.identifier))
            return &entry;
    return nullptr;
}

}  // namespace

RuleResult check_return_path(const RuleInput& input)
{
    const RegistryEntry* entry = input.classification.entry;
    if (input.classification.sender_class != SenderClass::registered || !entry)
        return untriggered("return-path", "skip", "not a registered sender");
    if (entry->identifier.empty() && !entry->return_path)
        return untriggered("return-path", "skip", "'" + entry->id + "' has no return-path identifier");

    const std::string& mail_from = input.facts.mail_from;
    const std::string shown = "<" + mail_from + ">";
    if (mail_from.empty())
        return failure("null return-path <> carries no identifier of '" + entry->id + "'",
                       "the return-path <> lacks the unique identifier registered for this sender");

    // The sender's own identifier identifies it, whatever else the local part holds: a VERP or
    // random suffix may happen to spell another entry's identifier ("bounce-mc7f3a-cv91").
    // Without its own, another entry's identifier means a borrowed return-path.
    const std::string_view local = local_part_of(mail_from);
    const bool own = !entry->identifier.empty() && contains_token(local, entry->identifier);
    if (!own) {
        if (const RegistryEntry* owner = other_owner(input.snapshot.registry, *entry, local))
            return failure("return-path " + shown + " carries the identifier of '" + owner->id
                               + "', not of '" + entry->id + "'",
                           "the return-path " + shown + " carries another sender's identifier");
    }
    if (!entry->identifier.empty() && !own)
        return failure("return-path " + shown + " lacks identifier '" + entry->identifier + "' of '"
                           + entry->id + "'",
                       "the return-path " + shown
                           + " lacks the unique identifier registered for this sender");
    if (entry->return_path && !entry->return_path->matches(mail_from))
        return failure("return-path " + shown + " does not match the pattern of '" + entry->id + "'",
                       "the return-path " + shown
                           + " does not have the form registered for this sender");
    return untriggered("return-path", "pass",
                       "return-path " + shown + " belongs to '" + entry->id + "'");
}

}  // namespace ecomm

// Rule "registration" — eComm policy IV.B.3.c.i: mail that uses a university domain must come
// from a registered official sender (networks and domains documented with OIT). Also warns in
// the days before a registration expires; an expired one counts as unregistered (classify.cpp).
#include "policy/calendar.h"
#include "policy/rule.h"

namespace ecomm {

namespace {

RuleResult registered_result(const RuleInput& input)
{
    const RegistryEntry& entry = *input.classification.entry;
    std::string detail = "registered sender '" + entry.id + "'";
    if (!entry.expires) return untriggered("registration", "pass", detail);

    const long days_left = days_between(input.today, *entry.expires);
    detail += ", registration valid through " + entry.expires->to_string();
    if (days_left > input.snapshot.config.expiry_warning_days)
        return untriggered("registration", "pass", detail);
    detail += " (expires in " + std::to_string(days_left) + (days_left == 1 ? " day)" : " days)");
    return untriggered("registration", "warn", detail);
}

}  // namespace

RuleResult check_registration(const RuleInput& input)
{
    const Classification& who = input.classification;
    switch (who.sender_class) {
    case SenderClass::internal:
        return untriggered("registration", "skip", "internal sender: " + who.reason);
    case SenderClass::registered:
        return registered_result(input);
    case SenderClass::external:
        return untriggered("registration", "none", "not university mail");
    case SenderClass::impersonation:
        break;
    }
    RuleResult result = untriggered("registration", "fail", who.reason);
    result.triggered = true;
    result.policy_section = "IV.B.3.c.i";
    if (who.expired_entry)
        result.reply_text = "the official-sender registration '" + who.expired_entry->id
                            + "' expired on " + who.expired_entry->expires->to_string()
                            + "; renew it with the Office of Information Technology";
    else
        result.reply_text = "this server is not registered to send university mail; register its "
                            "networks and domains as an official sender with the Office of "
                            "Information Technology";
    return result;
}

}  // namespace ecomm

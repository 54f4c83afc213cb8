// Rule "bulk-hours" — eComm policy IV.B.3.c.iv: messages to audiences of over 15,000 university
// addresses may not be sent during business hours. The session adds the message's university
// recipients to its campaign's audience in the shared table; this rule defers the campaign's
// mail while business hours last and says when it may be sent.
#include "policy/rule.h"

namespace ecomm {

RuleResult check_bulk_hours(const RuleInput& input)
{
    const auto& audience = input.facts.audience;
    if (!audience) return untriggered("bulk-hours", "skip", "not a registered sender");
    const MainConfig& config = input.snapshot.config;
    const std::uint64_t size = audience->audience();
    const auto threshold = static_cast<std::uint64_t>(config.bulk_threshold);
    std::string detail = "campaign " + audience->campaign + " audience " + std::to_string(size) + " of " +
                         std::to_string(threshold);
    if (size <= threshold) return untriggered("bulk-hours", "pass", detail);

    const BusinessHoursState hours = business_hours_at(config.business_hours, config.time_zone, input.facts.now);
    if (!hours.open) return untriggered("bulk-hours", "pass", detail + ", outside business hours");

    // Hours configured never to end (every day 00:00-24:00) leave no time to name.
    const std::string after = hours.closes_at ? format_local_time(*hours.closes_at, config.time_zone) : "";
    const std::string no_end = "without an end in the next " + std::to_string(kMaxBusinessDaysAhead) + " days";
    RuleResult result = untriggered("bulk-hours", "fail",
                                    detail + ", business hours " + (after.empty() ? no_end : "until " + after));
    result.triggered = true;
    result.policy_section = "IV.B.3.c.iv";
    result.enhanced_status = "4.7.0";
    result.reply_text = "this campaign reaches about " + std::to_string(size) + " university addresses (over " +
                        std::to_string(threshold) + "); it may not be sent during business hours" +
                        (after.empty() ? ", which run " + no_end : ": send it after " + after);
    return result;
}

}  // namespace ecomm

// Rule "rate" — eComm policy IV.B.3.c.vi: sending rates must not exceed thirty messages per
// minute; vii: the ability to throttle. The session counts the message in the shared table (and
// holds a sender that is only just over its rate, see core/rate_counter.h); this rule judges what
// the counting found and tells a deferred sender when to retry.
#include "policy/rule.h"

namespace ecomm {

RuleResult check_rate(const RuleInput& input)
{
    const auto& rate = input.facts.rate;
    if (!rate) return untriggered("rate", "skip", "no rate limit applies");
    const std::string counted = std::to_string(rate->in_window) + " in the last minute, limit " +
                                std::to_string(rate->limit) + " (" + rate->key + ")";
    if (rate->within) {
        if (rate->held.count() == 0) return untriggered("rate", "pass", counted);
        return untriggered("rate", "throttled", counted + ", held " + std::to_string(rate->held.count()) + " ms");
    }
    const std::string retry = std::to_string(std::max<long long>(1, rate->retry_after.count()));
    RuleResult result = untriggered("rate", "fail", counted + ", retry in " + retry + " s");
    result.triggered = true;
    result.policy_section = "IV.B.3.c.vi";
    result.enhanced_status = "4.7.1";
    result.reply_text = "sending rate over " + std::to_string(rate->limit) +
                        " messages a minute; slow down and retry after " + retry + " seconds";
    return result;
}

}  // namespace ecomm

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
RuleResult check_external_tag(const RuleInput& input);  // IV.B.3.c (exemption)

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

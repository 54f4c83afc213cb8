// Rule "authentication" — eComm policy IV.B.3.c.iii: messages must pass SPF and/or DKIM. Each
// registry entry says which (spf, dkim, spf-or-dkim, spf-and-dkim); a DKIM signature counts when
// it passes and its d= is one of the entry's signing domains. When the requirement is not met
// and a needed result is temperror (DNS timed out) the authentication-temperror action applies,
// when it is permerror the authentication-permerror action, else the authentication action.
// Other senders are not judged here, but their results still show in the detail (and in the
// Authentication-Results header the pipeline adds).
#include "mail/address.h"
#include "policy/rule.h"

namespace ecomm {

namespace {

using DkimCode = DkimSignatureResult::Code;
using SpfCode = SpfResult::Code;

struct Outcome {
    bool spf_pass = false;
    bool dkim_pass = false;
    bool spf_temperror = false, spf_permerror = false;
    bool dkim_temperror = false, dkim_permerror = false;
    std::string dkim_signer;  // d= of the signature that passed
};

Outcome evaluate(const MessageFacts& facts, const std::vector<std::string>& signing_domains)
{
    Outcome o;
    if (facts.spf) {
        o.spf_pass = facts.spf->code == SpfCode::pass;
        o.spf_temperror = facts.spf->code == SpfCode::temperror;
        o.spf_permerror = facts.spf->code == SpfCode::permerror;
    }
    for (const auto& signature : facts.dkim) {
        if (!domain_in(signature.domain, signing_domains)) continue;
        if (signature.counts_as_pass() && !o.dkim_pass) {
            o.dkim_pass = true;
            o.dkim_signer = signature.domain;
        }
        o.dkim_temperror |= signature.code == DkimCode::temperror;
        o.dkim_permerror |= signature.code == DkimCode::permerror;
    }
    return o;
}

std::string results_text(const MessageFacts& facts)
{
    std::string text;
    text.reserve(128);  // one allocation for the usual one signature
    text.append("spf=").append(facts.spf ? to_string(facts.spf->code) : "none");
    if (facts.spf && !facts.spf->domain.empty()) text.append(" (").append(facts.spf->domain).append(")");
    if (facts.dkim.empty()) return text.append(" dkim=none");
    for (const auto& signature : facts.dkim) {
        text.append(" dkim=").append(to_string(signature.code)).append(" (d=").append(signature.domain);
        if (!signature.reason.empty()) text.append(", ").append(signature.reason);
        text += ')';
    }
    return text;
}

bool requirement_met(AuthRequirement requirement, const Outcome& o)
{
    switch (requirement) {
    case AuthRequirement::spf: return o.spf_pass;
    case AuthRequirement::dkim: return o.dkim_pass;
    case AuthRequirement::spf_or_dkim: return o.spf_pass || o.dkim_pass;
    case AuthRequirement::spf_and_dkim: return o.spf_pass && o.dkim_pass;
    }
    return false;
}

// Only errors in a check the entry needs, and that did not pass, can explain the failure.
void classify_failure(AuthRequirement requirement, const Outcome& o, bool* temperror, bool* permerror)
{
    const bool needs_spf = requirement != AuthRequirement::dkim && !o.spf_pass;
    const bool needs_dkim = requirement != AuthRequirement::spf && !o.dkim_pass;
    *temperror = (needs_spf && o.spf_temperror) || (needs_dkim && o.dkim_temperror);
    *permerror = (needs_spf && o.spf_permerror) || (needs_dkim && o.dkim_permerror);
}

// RFC 7372 codes say which needed check failed: 5.7.23 SPF (5.7.24 when the SPF record itself
// is in error), 5.7.20 DKIM, 5.7.26 both. A check that passed is not named: with spf-and-dkim,
// a passing SPF leaves DKIM alone to blame.
std::string enhanced_status(AuthRequirement requirement, const Outcome& o)
{
    const bool spf_failed = requirement != AuthRequirement::dkim && !o.spf_pass;
    const bool dkim_failed = requirement != AuthRequirement::spf && !o.dkim_pass;
    if (spf_failed && dkim_failed) return "5.7.26";
    if (dkim_failed) return "5.7.20";
    return o.spf_permerror ? "5.7.24" : "5.7.23";
}

}  // namespace

RuleResult check_authentication(const RuleInput& input)
{
    const MessageFacts& facts = input.facts;
    const Classification& who = input.classification;
    if (!facts.authenticated) return untriggered("authentication", "skip", "not evaluated (internal sender)");
    const std::string detail = results_text(facts);
    if (who.sender_class != SenderClass::registered || !who.entry)
        return untriggered("authentication", "none", detail);

    const RegistryEntry& entry = *who.entry;
    const Outcome outcome = evaluate(facts, entry.dkim_domains());
    const std::string requirement = std::string(to_string(entry.authentication));
    if (requirement_met(entry.authentication, outcome))
        return untriggered("authentication", "pass", detail + "; meets " + requirement + " for '" + entry.id + "'");

    bool temperror = false, permerror = false;
    classify_failure(entry.authentication, outcome, &temperror, &permerror);
    RuleResult result = untriggered("authentication", temperror ? "temperror" : permerror ? "permerror" : "fail",
                                    detail + "; '" + entry.id + "' requires " + requirement);
    result.triggered = true;
    result.policy_section = "IV.B.3.c.iii";
    if (temperror) {
        result.action_key = "authentication-temperror";
        result.enhanced_status = "4.4.3";
        result.reply_text = "SPF/DKIM could not be checked for now (DNS lookup failed); try again later";
    } else {
        if (permerror) result.action_key = "authentication-permerror";
        result.enhanced_status = enhanced_status(entry.authentication, outcome);
        result.reply_text = "the message failed authentication: '" + entry.id + "' must pass " + requirement
                            + " (" + detail + "); fix the sending platform's SPF record or DKIM signing";
    }
    return result;
}

}  // namespace ecomm

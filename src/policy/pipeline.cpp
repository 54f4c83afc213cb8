// Runs the rules and merges their results into a Verdict (see pipeline.h).
#include "policy/pipeline.h"

#include <array>
#include <utility>

#include "policy/authentication_results.h"
#include "policy/calendar.h"
#include "policy/reply.h"
#include "policy/rule.h"

namespace ecomm {

namespace {

struct RuleEntry {
    const char* id;
    RuleFunction check;
};

// Pipeline order: the order of results in logs and JSON, and the tie-break between rules
// asking for equally severe actions.
constexpr std::array<RuleEntry, 8> kRules{{
    {"registration", check_registration},
    {"return-path", check_return_path},
    {"authentication", check_authentication},
    {"bulk-hours", check_bulk_hours},
    {"attachments", check_attachments},
    {"rate", check_rate},
    {"unsubscribe", check_unsubscribe},
    {"external-tag", check_external_tag},
}};

std::string report_value(const RuleResult& result)
{
    return result.rule + "=" + result.result + " (" + result.detail + ")";
}

// Header edits for the non-blocking actions (tag, junk) of every triggered rule.
void collect_edits(const MessageFacts& facts, const MainConfig& config, Verdict& verdict)
{
    bool junked = false;
    for (const RuleResult& result : verdict.results) {
        if (!result.triggered) continue;
        if (result.action == Action::junk && !junked) {
            // As the external tag treats its header: a sender's "X-Spam-Flag: NO" must not stay.
            const OwnHeaderEdits junk = own_header_edits(facts, config.junk_header, config.junk_value);
            verdict.edits.insert(verdict.edits.end(), junk.edits.begin(), junk.edits.end());
            junked = true;
        } else if (result.action == Action::tag) {
            if (result.tag_edits.empty() && !result.tag_subject)
                verdict.edits.push_back({HeaderEdit::Kind::add, config.report_header, report_value(result), 1});
            verdict.edits.insert(verdict.edits.end(), result.tag_edits.begin(), result.tag_edits.end());
            if (result.tag_subject) verdict.new_subject = result.tag_subject;
        }
    }
}

// Every incoming copy that claims our authserv-id is forged or stale (RFC 8601 section 5): it
// goes whoever sent the message, highest first so that no removal shifts one still to come.
// Ours is added where SPF and DKIM were evaluated.
void add_authentication_results(const MessageFacts& facts, const MainConfig& config, Verdict& verdict)
{
    const auto& forged = facts.forged_authentication_results;
    for (auto index = forged.rbegin(); index != forged.rend(); ++index)
        verdict.edits.push_back({HeaderEdit::Kind::remove, "Authentication-Results", "", *index});
    if (!facts.authenticated) return;
    verdict.edits.push_back({HeaderEdit::Kind::insert, "Authentication-Results",
                             authentication_results_value(config.authserv_id, facts), 0});
}

}  // namespace

Verdict run_pipeline(const MessageFacts& facts, const Snapshot& snapshot)
{
    return run_pipeline(facts, snapshot, classify(facts, snapshot));
}

Verdict run_pipeline(const MessageFacts& facts, const Snapshot& snapshot, Classification classification)
{
    const MainConfig& config = snapshot.config;
    Verdict verdict;
    verdict.classification = std::move(classification);
    const RuleInput input{facts, snapshot, verdict.classification, local_date(facts.now, config.time_zone)};

    const RuleResult* deciding = nullptr;
    for (const RuleEntry& rule : kRules) {
        RuleResult result = rule.check(input);
        result.rule = rule.id;
        const std::string& key = result.action_key.empty() ? result.rule : result.action_key;
        result.action = result.triggered ? config.action_for(key) : Action::accept;
        verdict.results.push_back(std::move(result));
    }
    for (const RuleResult& result : verdict.results)
        if (result.triggered && (!deciding || more_severe(result.action, deciding->action)))
            deciding = &result;
    if (!deciding) {
        if (!config.monitor) add_authentication_results(facts, config, verdict);
        return verdict;
    }

    verdict.would_be = deciding->action;
    verdict.deciding_rule = deciding->rule;
    if (config.monitor) return verdict;  // log what would have happened; change nothing

    verdict.action = deciding->action;
    switch (verdict.action) {
    case Action::reject:
    case Action::tempfail:
        verdict.reply = make_reply(verdict.action, *deciding, config.policy_url);
        break;
    case Action::discard:
        break;
    case Action::quarantine:
        verdict.quarantine_reason = "eComm policy: " + report_value(*deciding);
        add_authentication_results(facts, config, verdict);
        collect_edits(facts, config, verdict);
        break;
    default:
        add_authentication_results(facts, config, verdict);
        collect_edits(facts, config, verdict);
        break;
    }
    return verdict;
}

}  // namespace ecomm

// Formats decision lines (see decision_log.h). Sender-controlled text is escaped so that one
// decision is always exactly one parseable line.
#include "core/decision_log.h"

#include <cstdio>

namespace ecomm {

namespace {

bool needs_quotes(std::string_view value)
{
    if (value.empty()) return true;
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7F || c == '"' || c == '\\' || c == '=') return true;
    }
    return false;
}

const RuleResult* find_result(const Verdict& verdict, std::string_view rule)
{
    for (const auto& result : verdict.results)
        if (result.rule == rule) return &result;
    return nullptr;
}

}  // namespace

std::string log_field(std::string_view key, std::string_view value)
{
    std::string out(key);
    out += '=';
    if (!needs_quotes(value)) return out.append(value);
    out += '"';
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string format_decision(const Verdict& verdict, const MessageFacts& facts, bool monitor)
{
    const Classification& who = verdict.classification;
    std::string line = facts.queue_id.empty() ? "NOQUEUE" : facts.queue_id;
    line += ": " + log_field("action", to_string(verdict.action));
    if (monitor && verdict.would_be != Action::accept)
        line += " " + log_field("would", to_string(verdict.would_be));
    line += " " + log_field("rule", verdict.deciding_rule.empty() ? "-" : verdict.deciding_rule);
    line += " " + log_field("class", to_string(who.sender_class));
    line += " " + log_field("sender", who.entry ? who.entry->id : "-");
    const std::string ip = facts.client_ip ? facts.client_ip->to_string() : "";
    line += " " + log_field("client", facts.client_hostname + "[" + ip + "]");
    line += " " + log_field("from", "<" + facts.mail_from + ">");
    line += " " + log_field("rcpts", std::to_string(facts.recipients.size()));

    std::string also;
    for (const auto& result : verdict.results)
        if (result.triggered && result.rule != verdict.deciding_rule)
            also += (also.empty() ? "" : ",") + result.rule;
    if (!also.empty()) line += " " + log_field("also", also);

    const RuleResult* deciding = find_result(verdict, verdict.deciding_rule);
    line += " " + log_field("detail", deciding ? deciding->detail : who.reason);
    for (const auto& result : verdict.results)
        if (result.result == "warn") line += " " + log_field("warning", result.detail);
    if (who.expired_entry) line += " " + log_field("expired", who.expired_entry->id);
    if (facts.rate && facts.rate->held.count() > 0)
        line += " " + log_field("throttled", std::to_string(facts.rate->held.count()) + "ms");
    return line;
}

std::string format_campaign_crossing(const Verdict& verdict, const MessageFacts& facts, int threshold)
{
    const AudienceFacts& audience = *facts.audience;
    const RegistryEntry* sender = verdict.classification.entry;
    std::string line = (facts.queue_id.empty() ? std::string("NOQUEUE") : facts.queue_id) + ": warning=bulk-hours";
    line += " " + log_field("campaign", audience.campaign);
    line += " " + log_field("sender", sender ? sender->id : "-");
    line += " audience=" + std::to_string(audience.audience());
    line += " threshold=" + std::to_string(threshold);
    line += " " + log_field("source", audience.source);
    line += " detail=\"first crossing of the campaign's audience threshold\"";
    return line;
}

}  // namespace ecomm

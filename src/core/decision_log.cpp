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

// Appends " key=value", the value quoted when needed (see decision_log.h). Appending in place
// keeps the line one buffer instead of a temporary string per field.
void append_field(std::string& line, std::string_view key, std::string_view value)
{
    line += ' ';
    line.append(key);
    line += '=';
    if (!needs_quotes(value)) {
        line.append(value);
        return;
    }
    line += '"';
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            line += '\\';
            line += c;
        } else if (byte < 0x20 || byte == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
            line += escaped;
        } else {
            line += c;
        }
    }
    line += '"';
}

std::string line_start(const MessageFacts& facts)
{
    std::string line;
    line.reserve(320);  // a typical decision line fits: one allocation
    line.append(facts.queue_id.empty() ? std::string_view("NOQUEUE") : std::string_view(facts.queue_id));
    line += ':';
    return line;
}

}  // namespace

std::string format_decision(const Verdict& verdict, const MessageFacts& facts, bool monitor)
{
    const Classification& who = verdict.classification;
    std::string line = line_start(facts);
    append_field(line, "action", to_string(verdict.action));
    if (monitor && verdict.would_be != Action::accept) append_field(line, "would", to_string(verdict.would_be));
    append_field(line, "rule", verdict.deciding_rule.empty() ? "-" : verdict.deciding_rule);
    append_field(line, "class", to_string(who.sender_class));
    append_field(line, "sender", who.entry ? who.entry->id : "-");
    const std::string ip = facts.client_ip ? facts.client_ip->to_string() : "";
    append_field(line, "client", facts.client_hostname + "[" + ip + "]");
    append_field(line, "from", "<" + facts.mail_from + ">");
    append_field(line, "rcpts", std::to_string(facts.recipients.size()));

    std::string also;
    for (const auto& result : verdict.results)
        if (result.triggered && result.rule != verdict.deciding_rule) {
            if (!also.empty()) also += ',';
            also += result.rule;
        }
    if (!also.empty()) append_field(line, "also", also);

    const RuleResult* deciding = find_result(verdict, verdict.deciding_rule);
    append_field(line, "detail", deciding ? deciding->detail : who.reason);
    for (const auto& result : verdict.results)
        if (result.result == "warn") append_field(line, "warning", result.detail);
    if (who.expired_entry) append_field(line, "expired", who.expired_entry->id);
    if (facts.rate && facts.rate->held.count() > 0)
        append_field(line, "throttled", std::to_string(facts.rate->held.count()) + "ms");
    return line;
}

std::string format_campaign_crossing(const Verdict& verdict, const MessageFacts& facts, int threshold)
{
    const AudienceFacts& audience = *facts.audience;
    const RegistryEntry* sender = verdict.classification.entry;
    std::string line = line_start(facts);
    line += " warning=bulk-hours";
    append_field(line, "campaign", audience.campaign);
    append_field(line, "sender", sender ? sender->id : "-");
    append_field(line, "audience", std::to_string(audience.audience()));
    append_field(line, "threshold", std::to_string(threshold));
    append_field(line, "source", audience.source);
    append_field(line, "detail", "first crossing of the campaign's audience threshold");
    return line;
}

}  // namespace ecomm

// ecomm-milter-stats' report: sorts the table's entries, decides which campaigns the bulk-hours
// rule holds right now, and writes them as aligned text or as JSON (see stats_report.h).
#include "counters/stats_report.h"

#include <algorithm>
#include <cstddef>
#include <ctime>
#include <optional>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace ecomm {

namespace {

// One campaign as the report shows it.
struct CampaignStatus {
    const CampaignEntryView* entry = nullptr;
    std::uint64_t audience = 0;
    bool over_threshold = false;
    bool rule_fires = false;      // over the threshold during business hours
    bool held = false;            // ... and the milter enforces an action that holds it
    bool would_be_held = false;   // ... but the milter only monitors
    std::optional<std::string> send_after;  // the local time it may be sent, when (would be) held
};

// Whether the bulk-hours action keeps a campaign from going now: tempfail defers it (the MTA
// tries again) and reject refuses it (the sender must); any other action lets it through.
bool holds(Action action) { return action == Action::tempfail || action == Action::reject; }

std::vector<const RateEntryView*> sorted_rates(const CounterView& view)
{
    std::vector<const RateEntryView*> rates;
    for (const auto& rate : view.rates) rates.push_back(&rate);
    std::sort(rates.begin(), rates.end(), [](const RateEntryView* a, const RateEntryView* b) {
        if (a->in_window != b->in_window) return a->in_window > b->in_window;
        return a->key < b->key;
    });
    return rates;
}

// Business hours are worked out once: every campaign is judged at the same instant.
std::vector<CampaignStatus> campaign_statuses(const CounterView& view, SystemTime now, const StatsSettings& settings)
{
    const BusinessHoursState hours = business_hours_at(settings.business_hours, settings.time_zone, now);
    std::vector<CampaignStatus> statuses;
    for (const auto& campaign : view.campaigns) {
        CampaignStatus status;
        status.entry = &campaign;
        status.audience = std::max(campaign.estimate, campaign.declared);
        status.over_threshold = status.audience > settings.bulk_threshold;
        status.rule_fires = status.over_threshold && hours.open;
        const bool kept = status.rule_fires && holds(settings.bulk_action);
        status.held = kept && !settings.monitor;
        status.would_be_held = kept && settings.monitor;
        if (kept && hours.closes_at) status.send_after = format_local_time(*hours.closes_at, settings.time_zone);
        statuses.push_back(std::move(status));
    }
    std::sort(statuses.begin(), statuses.end(), [](const CampaignStatus& a, const CampaignStatus& b) {
        if (a.audience != b.audience) return a.audience > b.audience;
        return a.entry->key < b.entry->key;
    });
    return statuses;
}

// The location comes from the configuration: still, no control characters reach the postmaster's
// terminal.
std::string printable(std::string_view text)
{
    std::string out(text);
    for (char& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = '?';
    }
    return out;
}

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF) that starts text, or 0 when none does.
std::size_t utf8_sequence_length(std::string_view text)
{
    const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    const auto continues = [&](std::size_t at, unsigned char low = 0x80, unsigned char high = 0xbf) {
        return at < text.size() && byte(at) >= low && byte(at) <= high;
    };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) return continues(1) ? 2 : 0;
    if (lead >= 0xe0 && lead <= 0xef) {
        const unsigned char low = lead == 0xe0 ? 0xa0 : 0x80;
        const unsigned char high = lead == 0xed ? 0x9f : 0xbf;
        return continues(1, low, high) && continues(2) ? 3 : 0;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        const unsigned char low = lead == 0xf0 ? 0x90 : 0x80;
        const unsigned char high = lead == 0xf4 ? 0x8f : 0xbf;
        return continues(1, low, high) && continues(2) && continues(3) ? 4 : 0;
    }
    return 0;
}

// Whether the character of this length at the start of text is one the reports cannot show as it
// is: a C0 control or DEL, a C1 control (U+0080-U+009F, "\xc2\x80"-"\xc2\x9f").
bool is_control_character(std::string_view text, std::size_t length)
{
    const auto lead = static_cast<unsigned char>(text[0]);
    if (length == 1) return lead < 0x20 || lead == 0x7f;
    return length == 2 && lead == 0xc2 && static_cast<unsigned char>(text[1]) <= 0x9f;
}

bool needs_escaping(std::string_view key)
{
    if (key.starts_with(kEscapedKeyMarker)) return true;
    while (!key.empty()) {
        const std::size_t length = utf8_sequence_length(key);
        if (length == 0 || is_control_character(key, length)) return true;
        key.remove_prefix(length);
    }
    return false;
}

void append_hex_escape(std::string& out, unsigned char byte)
{
    constexpr std::string_view kHex = "0123456789abcdef";
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
}

std::optional<unsigned char> hex_byte(std::string_view digits)
{
    unsigned value = 0;
    for (char c : digits) {
        const char lower = static_cast<char>(c | 0x20);
        if (c >= '0' && c <= '9') value = value * 16 + static_cast<unsigned>(c - '0');
        else if (lower >= 'a' && lower <= 'f') value = value * 16 + static_cast<unsigned>(lower - 'a' + 10);
        else return std::nullopt;
    }
    return static_cast<unsigned char>(value);
}

// Rows under a heading row, each column as wide as its widest cell; numeric columns are right
// aligned. Two spaces of indent, two between columns, no trailing blanks.
std::string render_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right_aligned)
{
    std::vector<std::size_t> widths(right_aligned.size(), 0);
    for (const auto& row : rows)
        for (std::size_t column = 0; column < row.size(); ++column)
            widths[column] = std::max(widths[column], row[column].size());
    std::string out;
    for (const auto& row : rows) {
        std::string line = " ";
        for (std::size_t column = 0; column < row.size(); ++column) {
            const std::string padding(widths[column] - row[column].size(), ' ');
            line += ' ';
            line += right_aligned[column] ? padding + row[column] : row[column] + padding;
            if (column + 1 < row.size()) line += ' ';
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + '\n';
    }
    return out;
}

std::string fill_line(const CounterView& view)
{
    std::ostringstream out;
    // A store without fixed slots (Redis) has only entries to count.
    if (view.rate_slots == 0 && view.campaign_slots == 0) {
        out << "rate entries: " << view.rates.size() << ", campaigns: " << view.campaigns.size();
        return out.str();
    }
    out << "rate slots: " << view.rates.size() << '/' << view.rate_slots
        << " used, campaign slots: " << view.campaigns.size() << '/' << view.campaign_slots
        << " used, evictions: " << view.evictions;
    return out.str();
}

std::string campaign_state_text(const CampaignStatus& status, const StatsSettings& settings)
{
    const std::string no_end =
        "business hours do not end in the next " + std::to_string(kMaxBusinessDaysAhead) + " days";
    if (status.held) return "held: " + (status.send_after ? "may be sent from " + *status.send_after : no_end);
    if (status.would_be_held)
        return "would be held (monitor): " + (status.send_after ? "may be sent from " + *status.send_after : no_end);
    if (status.rule_fires)
        return "over threshold, not held ([actions] bulk-hours = " + std::string(to_string(settings.bulk_action)) + ")";
    if (status.over_threshold) return "over threshold, not held (outside business hours)";
    return "-";
}

}  // namespace

std::string shown_key(std::string_view key)
{
    if (!needs_escaping(key)) return std::string(key);
    std::string out(kEscapedKeyMarker);
    while (!key.empty()) {
        std::size_t length = utf8_sequence_length(key);
        const bool escaped = length == 0 || is_control_character(key, length) || key.front() == '\\';
        if (length == 0) length = 1;  // a stray byte: escaped alone, the next one judged afresh
        for (char c : key.substr(0, length)) {
            if (escaped) append_hex_escape(out, static_cast<unsigned char>(c));
            else out += c;
        }
        key.remove_prefix(length);
    }
    return out;
}

std::optional<std::string> key_from_shown(std::string_view shown)
{
    if (!shown.starts_with(kEscapedKeyMarker)) return std::string(shown);
    shown.remove_prefix(kEscapedKeyMarker.size());
    std::string key;
    while (!shown.empty()) {
        if (shown.front() != '\\') {
            key += shown.front();
            shown.remove_prefix(1);
            continue;
        }
        if (shown.size() < 4 || shown[1] != 'x') return std::nullopt;
        const auto byte = hex_byte(shown.substr(2, 2));
        if (!byte) return std::nullopt;
        key += static_cast<char>(*byte);
        shown.remove_prefix(4);
    }
    return key;
}

std::string format_utc_iso8601(SystemTime time)
{
    const std::time_t seconds = std::chrono::system_clock::to_time_t(
        std::chrono::floor<std::chrono::seconds>(time));
    std::tm fields{};
    if (gmtime_r(&seconds, &fields) == nullptr) return "?";
    char text[64];
    if (std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &fields) == 0) return "?";
    return text;
}

std::string format_stats_text(const CounterView& view, SystemTime now, const StatsSettings& settings)
{
    std::ostringstream out;
    const bool table = view.rate_slots != 0 || view.campaign_slots != 0;
    out << (table ? "counter table " : "counters in ") << printable(view.location) << '\n' << fill_line(view) << '\n';

    const BusinessHoursState hours = business_hours_at(settings.business_hours, settings.time_zone, now);
    out << "at " << format_utc_iso8601(now) << ", business hours (" << settings.time_zone << ") are ";
    if (hours.open && hours.closes_at)
        out << "open until " << format_local_time(*hours.closes_at, settings.time_zone) << '\n';
    else if (hours.open)
        out << "open without an end in the next " << kMaxBusinessDaysAhead << " days\n";
    else
        out << "closed\n";

    out << "\nsenders (default limit " << settings.rate_limit << " a minute):\n";
    const auto rates = sorted_rates(view);
    if (rates.empty()) {
        out << "  (none)\n";
    } else {
        std::vector<std::vector<std::string>> rows{{"KEY", "LAST MINUTE", "PENDING", "TOTAL", "LAST USED"}};
        for (const RateEntryView* rate : rates)
            rows.push_back({shown_key(rate->key), std::to_string(rate->in_window), std::to_string(rate->pending),
                            std::to_string(rate->total), format_utc_iso8601(rate->last_used)});
        out << render_table(rows, {false, true, true, true, false});
    }

    out << "\ncampaigns (threshold " << settings.bulk_threshold << " university recipients):\n";
    const auto campaigns = campaign_statuses(view, now, settings);
    if (campaigns.empty()) {
        out << "  (none)\n";
    } else {
        std::vector<std::vector<std::string>> rows{{"KEY", "SENDER", "ESTIMATE", "DECLARED", "AUDIENCE", "STATE"}};
        for (const CampaignStatus& status : campaigns)
            rows.push_back({shown_key(status.entry->key), shown_key(status.entry->sender),
                            std::to_string(status.entry->estimate), std::to_string(status.entry->declared),
                            std::to_string(status.audience), campaign_state_text(status, settings)});
        out << render_table(rows, {false, false, true, true, true, false});
    }
    return out.str();
}

std::string format_stats_json(const CounterView& view, SystemTime now, const StatsSettings& settings)
{
    using Json = nlohmann::ordered_json;
    Json document;
    document["table"] = Json{
        {"location", view.location},
        {"rate_slots", view.rate_slots},
        {"rate_used", view.rates.size()},
        {"campaign_slots", view.campaign_slots},
        {"campaign_used", view.campaigns.size()},
        {"evictions", view.evictions},
    };

    Json senders = Json::array();
    for (const RateEntryView* rate : sorted_rates(view)) {
        senders.push_back(Json{
            {"key", shown_key(rate->key)},
            {"in_last_minute", rate->in_window},
            {"pending", rate->pending},
            {"total", rate->total},
            {"last_used", format_utc_iso8601(rate->last_used)},
        });
    }
    document["senders"] = std::move(senders);

    Json campaigns = Json::array();
    for (const CampaignStatus& status : campaign_statuses(view, now, settings)) {
        campaigns.push_back(Json{
            {"key", shown_key(status.entry->key)},
            {"sender", shown_key(status.entry->sender)},
            {"estimate", status.entry->estimate},
            {"declared", status.entry->declared},
            {"audience", status.audience},
            {"threshold", settings.bulk_threshold},
            {"held", status.held},
            {"would_be_held", status.would_be_held},
            {"send_after", status.send_after ? Json(*status.send_after) : Json(nullptr)},
        });
    }
    document["campaigns"] = std::move(campaigns);

    // replace: a location that is not UTF-8 must not make dump() throw.
    return document.dump(2, ' ', false, Json::error_handler_t::replace) + '\n';
}

}  // namespace ecomm

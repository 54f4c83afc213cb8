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

// Keys and campaign ids come from mail (a Feedback-ID header, say): no control characters reach
// the postmaster's terminal.
std::string printable(std::string_view text)
{
    std::string out(text);
    for (char& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = '?';
    }
    return out;
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
            rows.push_back({printable(rate->key), std::to_string(rate->in_window), std::to_string(rate->pending),
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
            rows.push_back({printable(status.entry->key), printable(status.entry->sender),
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
            {"key", rate->key},
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
            {"key", status.entry->key},
            {"sender", status.entry->sender},
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

    // replace: a key cut inside a UTF-8 character must not make dump() throw.
    return document.dump(2, ' ', false, Json::error_handler_t::replace) + '\n';
}

}  // namespace ecomm

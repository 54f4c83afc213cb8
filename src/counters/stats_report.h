// What ecomm-milter-stats prints (DESIGN.md "Counters"): a snapshot of the counter table as a
// report for the postmaster's eye, or as JSON for scripts. Pure formatting: it takes a
// CounterView and the time, never touches the table, so tests pin both.
//
// Senders are listed busiest first (messages in the last minute, then key); campaigns largest
// audience first. A campaign is "held" when its audience, max(estimate, declared), exceeds the
// bulk threshold while business hours are open, which is exactly when the bulk-hours rule defers
// it (IV.B.3.c.iv); the report then says the local time from which it may be sent.
#pragma once
#include <cstdint>
#include <string>

#include "counters/counter_store.h"
#include "policy/business_hours.h"

namespace ecomm {

struct StatsSettings {
    int rate_limit = 30;                  // [rate] limit: the default messages a minute per sender
    std::uint64_t bulk_threshold = 15000; // [bulk] threshold
    BusinessHours business_hours;         // [bulk] business_days, business_hours, holidays
    std::string time_zone = "UTC";        // [policy] time_zone
};

// The human report: table location and fill, one line per sender, one per campaign.
std::string format_stats_text(const CounterView& view, SystemTime now, const StatsSettings& settings);

// The same as one JSON document (ending in a newline):
// {"table": {"location", "rate_slots", "rate_used", "campaign_slots", "campaign_used", "evictions"},
//  "senders": [{"key", "in_last_minute", "pending", "total", "last_used"}],
//  "campaigns": [{"key", "sender", "estimate", "declared", "audience", "threshold", "held",
//                 "send_after" (the local time, or null when not held or when business hours
//                 do not end within kMaxBusinessDaysAhead days)}]}
// Times are ISO 8601 UTC ("2026-03-02T15:04:05Z"). Bytes that are not UTF-8 (a key cut inside a
// character, a raw header value) come out as U+FFFD rather than failing the whole document.
std::string format_stats_json(const CounterView& view, SystemTime now, const StatsSettings& settings);

// "2026-03-02T15:04:05Z" (whole seconds, rounded down).
std::string format_utc_iso8601(SystemTime time);

}  // namespace ecomm

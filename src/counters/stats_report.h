// What ecomm-milter-stats prints (DESIGN.md "Counters"): a snapshot of the counter table as a
// report for the postmaster's eye, or as JSON for scripts. Pure formatting: it takes a
// CounterView and the time, never touches the table, so tests pin both.
//
// Senders are listed busiest first (messages in the last minute, then key); campaigns largest
// audience first. The bulk-hours rule (IV.B.3.c.iv) fires for a campaign whose audience,
// max(estimate, declared), exceeds the bulk threshold while business hours are open. It is
// "held" then only when the rule's action keeps it from going (tempfail defers it, reject
// refuses it) and the milter enforces: in monitor mode it "would be held", and with another
// action (tag, say) it goes. For a held campaign the report says when it may be sent.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "counters/counter_store.h"
#include "policy/action.h"
#include "policy/business_hours.h"

namespace ecomm {

struct StatsSettings {
    int rate_limit = 30;                  // [rate] limit: the default messages a minute per sender
    std::uint64_t bulk_threshold = 15000; // [bulk] threshold
    BusinessHours business_hours;         // [bulk] business_days, business_hours, holidays
    std::string time_zone = "UTC";        // [policy] time_zone
    bool monitor = false;                 // [milter] mode = monitor: the milter holds nothing
    Action bulk_action = Action::tempfail;  // [actions] bulk-hours
};

// The human report: table location and fill, one line per sender, one per campaign (keys and
// senders as shown_key() shows them).
std::string format_stats_text(const CounterView& view, SystemTime now, const StatsSettings& settings);

// The same as one JSON document (ending in a newline):
// {"table": {"location", "rate_slots", "rate_used", "campaign_slots", "campaign_used", "evictions"},
//  "senders": [{"key", "in_last_minute", "pending", "total", "last_used"}],
//  "campaigns": [{"key", "sender", "estimate", "declared", "audience", "threshold", "held",
//                 "would_be_held" (monitor mode), "send_after" (the local time, or null when
//                 neither held nor would be, or when business hours do not end within
//                 kMaxBusinessDaysAhead days)}]}
// Times are ISO 8601 UTC ("2026-03-02T15:04:05Z"). Keys and senders are shown as shown_key()
// shows them; bytes that are not UTF-8 elsewhere (the location) come out as U+FFFD rather than
// failing the whole document.
std::string format_stats_json(const CounterView& view, SystemTime now, const StatsSettings& settings);

// A key as both reports show it and --reset takes it. Keys come from mail; one that a terminal or
// JSON would not show byte for byte (a control character, C0 or C1, or bytes that are not UTF-8)
// is shown escaped: kEscapedKeyMarker, then the key with each such byte and each backslash as
// \xHH ("escaped:news\x1b[1m"). A key that itself starts with the marker is shown escaped too, so
// that every shown form names exactly one key. Any other key is shown as it is.
inline constexpr std::string_view kEscapedKeyMarker = "escaped:";
std::string shown_key(std::string_view key);

// The key a shown form names (the inverse of shown_key; an escaped form may escape any byte);
// nullopt for an escaped form with a backslash not starting \xHH.
std::optional<std::string> key_from_shown(std::string_view shown);

// "2026-03-02T15:04:05Z" (whole seconds, rounded down).
std::string format_utc_iso8601(SystemTime time);

}  // namespace ecomm

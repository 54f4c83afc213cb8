// Business hours (IV.B.3.c.iv): working days, opening hours and holidays in the configured IANA
// time zone, evaluated with cctz so that DST changes are handled (a day of 23 or 25 hours, a
// local time that happens twice or never).
#pragma once
#include <array>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "config/diagnostic.h"
#include "config/registry.h"

namespace ecomm {

struct BusinessHours {
    std::array<bool, 7> days{false, true, true, true, true, true, false};  // [0] is Sunday
    int open_minute = 8 * 60;    // local minutes after midnight; business hours are [open, close)
    int close_minute = 17 * 60;  // 1..1440, greater than open_minute
    std::set<Date> holidays;     // whole days with no business hours
};

// How far ahead the end of business hours is looked for: more than a week, so that only
// hours that never end (every day, 00:00-24:00) have none.
constexpr int kMaxBusinessDaysAhead = 8;

struct BusinessHoursState {
    bool open = false;
    // When open: the first moment outside business hours, when a held campaign may be sent
    // (periods that touch, 00:00-24:00 on consecutive days, are one). Nullopt when there is
    // none within kMaxBusinessDaysAhead days.
    std::optional<std::chrono::system_clock::time_point> closes_at;
};

// Whether now falls in business hours in zone (an unknown zone counts as UTC).
BusinessHoursState business_hours_at(const BusinessHours& hours, const std::string& zone,
                                     std::chrono::system_clock::time_point now);

// "Mon-Fri", "Mon, Wed, Fri", "Sun-Sat", "none" (case-insensitive, English three-letter names;
// a range may wrap, e.g. "Fri-Mon"). Nullopt when malformed.
std::optional<std::array<bool, 7>> parse_business_days(std::string_view text);

// "08:00-17:00" (24-hour clock; "24:00" allowed as a close). Nullopt when malformed or empty.
std::optional<std::pair<int, int>> parse_business_hours(std::string_view text);

// A holidays file: one YYYY-MM-DD per line; blank lines and '#' comments ignored. Bad lines go to
// diagnostics as "FILE:LINE: what is wrong"; a missing file is an error too.
std::set<Date> load_holidays(const std::string& path, Diagnostics& diagnostics);

// A local time for a reply: "2026-11-30 17:00 MST (UTC-07:00)".
std::string format_local_time(std::chrono::system_clock::time_point time, const std::string& zone);

}  // namespace ecomm

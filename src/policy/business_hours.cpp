// Business hours (IV.B.3.c.iv) in the configured IANA zone, through cctz: whether a moment is
// inside them, when they end, the parsers for the config values, and the holidays
// file. Hours are wall-clock hours: the office is open whenever the local clock reads a time in
// [open, close) on a business day that is not a holiday. That one rule settles every DST case:
// a clock that jumps from 01:59 to 03:00 is open from 03:00 when hours start at 02:30, and a clock
// that reads 01:00-01:59 twice is open (or closed) both times.
#include "policy/business_hours.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "mail/address.h"

namespace ecomm {

namespace {

constexpr std::size_t kMaxHolidaysFileSize = 1024 * 1024;  // a century of dates is 40 KiB
constexpr std::size_t kMaxQuoted = 64;  // of a bad line, in its diagnostic
constexpr std::array<std::string_view, 7> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

cctz::time_zone load_zone(const std::string& zone)
{
    cctz::time_zone tz;
    if (!cctz::load_time_zone(zone, &tz)) tz = cctz::utc_time_zone();
    return tz;
}

// 0 for Sunday, as BusinessHours::days counts.
int day_index(const cctz::civil_day& day)
{
    switch (cctz::get_weekday(day)) {
    case cctz::weekday::sunday: return 0;
    case cctz::weekday::monday: return 1;
    case cctz::weekday::tuesday: return 2;
    case cctz::weekday::wednesday: return 3;
    case cctz::weekday::thursday: return 4;
    case cctz::weekday::friday: return 5;
    case cctz::weekday::saturday: return 6;
    }
    return 0;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

std::optional<int> day_named(std::string_view name)
{
    name = trim(name);
    for (std::size_t i = 0; i < kDayNames.size(); ++i)
        if (iequals(name, kDayNames[i])) return static_cast<int>(i);
    return std::nullopt;
}

// "HH:MM" with two digits each, 00:00..24:00, as minutes after midnight.
std::optional<int> clock_minutes(std::string_view text)
{
    if (text.size() != 5 || text[2] != ':') return std::nullopt;
    for (const std::size_t i : {0, 1, 3, 4})
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
    const int hour = (text[0] - '0') * 10 + (text[1] - '0');
    const int minute = (text[3] - '0') * 10 + (text[4] - '0');
    if (minute > 59 || hour > 24 || (hour == 24 && minute != 0)) return std::nullopt;
    return hour * 60 + minute;
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

// The whole file, or false with errno's text in error.
bool read_file(const std::string& path, std::string& content, std::string& error)
{
    errno = 0;
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        error = std::strerror(errno ? errno : EIO);
        return false;
    }
    char buffer[16384];
    for (;;) {
        const std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
        content.append(buffer, got);
        if (content.size() > kMaxHolidaysFileSize) {
            error = "larger than 1 MiB";
            return false;
        }
        if (got < sizeof buffer) break;
    }
    if (std::ferror(file.get())) {  // e.g. EISDIR: fopen() opens a directory, fread() fails
        error = std::strerror(errno ? errno : EIO);
        return false;
    }
    return true;
}

// The first instant at or after now at which the local clock reads `close` (or, when that
// reading is skipped by a DST jump, the jump itself: the first instant the clock reads later).
// A reading that happens twice ends the pass now is in: the first one while it lies ahead,
// else the second.
cctz::time_point<cctz::seconds> first_reading(const cctz::time_zone& tz, const cctz::civil_second& close,
                                              cctz::time_point<cctz::seconds> now)
{
    const auto found = tz.lookup(close);
    switch (found.kind) {
    case cctz::time_zone::civil_lookup::SKIPPED: return found.trans;
    case cctz::time_zone::civil_lookup::REPEATED: return found.pre > now ? found.pre : found.post;
    case cctz::time_zone::civil_lookup::UNIQUE: break;
    }
    return found.pre;
}

// When now is in business hours, the end of the day's period it is in; else nullopt.
std::optional<cctz::time_point<cctz::seconds>> period_end(const BusinessHours& hours, const cctz::time_zone& tz,
                                                          cctz::time_point<cctz::seconds> now)
{
    const cctz::civil_second local = cctz::convert(now, tz);
    const cctz::civil_day day(local);
    const int minute = local.hour() * 60 + local.minute();
    if (!hours.days[static_cast<std::size_t>(day_index(day))]) return std::nullopt;
    if (hours.holidays.contains(Date{static_cast<int>(day.year()), day.month(), day.day()})) return std::nullopt;
    if (minute < hours.open_minute || minute >= hours.close_minute) return std::nullopt;
    // civil_minute arithmetic carries 1440 over to the next day's 00:00.
    const cctz::civil_second close(cctz::civil_minute(day) + hours.close_minute);
    return first_reading(tz, close, now);
}

}  // namespace

BusinessHoursState business_hours_at(const BusinessHours& hours, const std::string& zone,
                                     std::chrono::system_clock::time_point now)
{
    const cctz::time_zone tz = load_zone(zone);
    auto end = period_end(hours, tz, std::chrono::floor<cctz::seconds>(now));
    BusinessHoursState state;
    if (!end) return state;
    state.open = true;
    // A period that ends as the next begins (24:00, then 00:00 of a business day) does not end
    // business hours: follow them, one period a day, to the first moment outside.
    for (int day = 0; day < kMaxBusinessDaysAhead; ++day) {
        const auto next = period_end(hours, tz, *end);
        if (!next) {
            state.closes_at = *end;
            return state;
        }
        end = next;
    }
    return state;
}

std::optional<std::array<bool, 7>> parse_business_days(std::string_view text)
{
    std::array<bool, 7> days{};
    text = trim(text);
    if (text.empty()) return std::nullopt;
    if (iequals(text, "none")) return days;

    while (true) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        const std::size_t dash = item.find('-');
        const auto first = day_named(item.substr(0, dash));
        if (!first) return std::nullopt;
        int last = *first;
        if (dash != std::string_view::npos) {
            const auto end = day_named(item.substr(dash + 1));
            if (!end) return std::nullopt;
            last = *end;
        }
        // A range runs forward from its first day and may wrap past Saturday ("Fri-Mon").
        for (int day = *first;; day = (day + 1) % 7) {
            days[static_cast<std::size_t>(day)] = true;
            if (day == last) break;
        }
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return days;
}

std::optional<std::pair<int, int>> parse_business_hours(std::string_view text)
{
    text = trim(text);
    if (text.size() != 11 || text[5] != '-') return std::nullopt;
    const auto open = clock_minutes(text.substr(0, 5));
    const auto close = clock_minutes(text.substr(6, 5));
    if (!open || !close || *open >= *close) return std::nullopt;
    return std::pair{*open, *close};
}

std::set<Date> load_holidays(const std::string& path, Diagnostics& diagnostics)
{
    std::set<Date> holidays;
    std::string content, error;
    if (!read_file(path, content, error)) {
        diagnostics.push_back({Diagnostic::Severity::error, path, 0, "cannot read holidays file: " + error});
        return holidays;
    }

    std::string_view rest = content;
    int line_number = 0;
    while (!rest.empty()) {
        ++line_number;
        const std::size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);

        line = trim(line.substr(0, line.find('#')));  // "2026-12-25  # Christmas"
        if (line.empty()) continue;
        if (const auto date = Date::parse(line)) {
            holidays.insert(*date);
        } else {
            // A line of a wrong file may be long: quote enough of it to find it.
            const std::string shown = line.size() > kMaxQuoted ? std::string(line.substr(0, kMaxQuoted)) + "..."
                                                                : std::string(line);
            diagnostics.push_back({Diagnostic::Severity::error, path, line_number,
                                   "invalid holiday '" + shown + "' (expected YYYY-MM-DD)"});
        }
    }
    return holidays;
}

std::string format_local_time(std::chrono::system_clock::time_point time, const std::string& zone)
{
    // %Ez is the offset as "-07:00"; %Z the zone's abbreviation ("MST", or "-03" where it has none).
    return cctz::format("%Y-%m-%d %H:%M %Z (UTC%Ez)", std::chrono::floor<cctz::seconds>(time), load_zone(zone));
}

}  // namespace ecomm

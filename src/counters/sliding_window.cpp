// The rate limiter's arithmetic (sliding_window.h): 60 one-second buckets, bucket i holding the
// one second s in (newest_second - 60, newest_second] with s mod 60 == i. Every mutating call
// first moves the window forward to now, clearing the buckets of the seconds it passes over, so a
// bucket never holds a count from a minute ago. Pure functions: the caller (the counter table)
// provides the locking.
#include "counters/sliding_window.h"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace ecomm {

// The counter table lays slots out by this size; a change here is a file format change.
static_assert(sizeof(WindowCounts) == 8 + 2 * kWindowSeconds + 2 * kWindowSeconds);
static_assert(sizeof(WindowCounts) == 248);

namespace {

constexpr std::uint16_t kBucketMax = std::numeric_limits<std::uint16_t>::max();

// Bucket index of a second; correct for negative seconds too (C++ % truncates toward zero).
std::size_t bucket(std::int64_t second)
{
    const std::int64_t index = second % kWindowSeconds;
    return static_cast<std::size_t>(index < 0 ? index + kWindowSeconds : index);
}

// A clock stepped back by a window or more (NTP, a host that had run ahead): the buckets hold
// seconds that will not come round for that long, and counting in them would freeze the sender's
// window until they did. Those counts are taken as gone.
bool stepped_back(const WindowCounts& counts, std::int64_t now_second)
{
    return now_second <= counts.newest_second - kWindowSeconds;
}

// The second a call at now_second counts in: a clock that went back by less than the window uses
// the newest bucket; one that stepped back further, now_second (where nothing is live).
std::int64_t effective_second(const WindowCounts& counts, std::int64_t now_second)
{
    return stepped_back(counts, now_second) ? now_second : std::max(now_second, counts.newest_second);
}

// Whether second still has a live bucket (it has not slid out and is not in the future).
bool is_live(const WindowCounts& counts, std::int64_t second)
{
    return second <= counts.newest_second && second > counts.newest_second - kWindowSeconds;
}

// Moves the window forward to now_second, clearing the buckets of the seconds passed over (all of
// them after a step back of a window or more). Returns the second this call counts in.
std::int64_t advance(WindowCounts& counts, std::int64_t now_second)
{
    if (!stepped_back(counts, now_second) && now_second <= counts.newest_second) return counts.newest_second;
    if (stepped_back(counts, now_second) || now_second - counts.newest_second >= kWindowSeconds) {
        std::fill(std::begin(counts.counted), std::end(counts.counted), std::uint16_t{0});
        std::fill(std::begin(counts.pending), std::end(counts.pending), std::uint16_t{0});
    } else {
        for (std::int64_t second = counts.newest_second + 1; second <= now_second; ++second) {
            counts.counted[bucket(second)] = 0;
            counts.pending[bucket(second)] = 0;
        }
    }
    counts.newest_second = now_second;
    return now_second;
}

// Messages in the `span` seconds ending with at_second, counting only the live buckets: with
// at_second past newest_second this is what the window will hold then, if nothing more is added.
int sum_counted(const WindowCounts& counts, std::int64_t at_second, int span)
{
    span = std::clamp(span, 1, kWindowSeconds);
    int total = 0;
    for (std::int64_t second = at_second - span + 1; second <= at_second; ++second) {
        if (is_live(counts, second)) total += counts.counted[bucket(second)];
    }
    return total;
}

// The burst limit's span: burst messages are allowed within burst * 60 / per_minute seconds.
int burst_span(const RateLimit& limit)
{
    const std::int64_t numerator = std::int64_t{limit.burst} * kWindowSeconds;
    const std::int64_t span = (numerator + limit.per_minute - 1) / limit.per_minute;
    return static_cast<int>(std::clamp<std::int64_t>(span, 1, kWindowSeconds));
}

bool within_limit(const WindowCounts& counts, const RateLimit& limit, std::int64_t at_second)
{
    if (sum_counted(counts, at_second, kWindowSeconds) >= limit.per_minute) return false;
    if (limit.burst <= 0) return true;
    return sum_counted(counts, at_second, burst_span(limit)) < limit.burst;
}

// Milliseconds from now until the start of second, rounded up so that a retry after the wait
// lands in that second.
std::chrono::milliseconds wait_until(std::int64_t second, SystemTime now)
{
    const auto remaining = std::chrono::seconds(second) - now.time_since_epoch();
    return std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(remaining));
}

}  // namespace

int count_in_window(const WindowCounts& counts, std::int64_t now_second, int span)
{
    return sum_counted(counts, effective_second(counts, now_second), span);
}

int pending_in_window(const WindowCounts& counts, std::int64_t now_second)
{
    const std::int64_t at_second = effective_second(counts, now_second);
    int total = 0;
    for (std::int64_t second = at_second - kWindowSeconds + 1; second <= at_second; ++second) {
        if (is_live(counts, second)) total += counts.pending[bucket(second)];
    }
    return total;
}

RateDecision try_reserve(WindowCounts& counts, const RateLimit& limit, SystemTime now)
{
    const std::int64_t second = advance(counts, unix_second(now));
    const std::size_t index = bucket(second);
    RateDecision decision;

    const bool unlimited = limit.per_minute <= 0;
    if (unlimited || within_limit(counts, limit, second)) {
        if (counts.counted[index] < kBucketMax) {
            ++counts.counted[index];
            if (counts.pending[index] < kBucketMax) ++counts.pending[index];
            decision.reservation = RateReservation{"", second};
        } else if (unlimited) {
            // No limit to enforce: a full bucket only makes the figures shown low.
            decision.reservation = RateReservation{"", second};
        } else {
            decision.wait = wait_until(second + 1, now);  // the bucket is full: the next one is not
        }
        decision.in_window = count_in_window(counts, second);
        return decision;
    }

    // The first future second at which enough buckets have expired. At second + 60 every bucket
    // has, so the search always ends.
    decision.in_window = count_in_window(counts, second);
    for (std::int64_t later = second + 1; later <= second + kWindowSeconds; ++later) {
        if (within_limit(counts, limit, later)) {
            decision.wait = wait_until(later, now);
            break;
        }
    }
    return decision;
}

void commit_reservation(WindowCounts& counts, std::int64_t reserved_second, SystemTime now)
{
    const std::int64_t second = advance(counts, unix_second(now));
    if (is_live(counts, reserved_second)) {
        std::uint16_t& pending = counts.pending[bucket(reserved_second)];
        if (pending > 0) --pending;
        return;
    }
    // Slid out (or never from this window): count the accepted message now so it is not lost.
    std::uint16_t& counted = counts.counted[bucket(second)];
    if (counted < kBucketMax) ++counted;
}

void release_reservation(WindowCounts& counts, std::int64_t reserved_second, SystemTime now)
{
    advance(counts, unix_second(now));
    if (!is_live(counts, reserved_second)) return;
    const std::size_t index = bucket(reserved_second);
    if (counts.counted[index] > 0) --counts.counted[index];
    if (counts.pending[index] > 0) --counts.pending[index];
}

std::int64_t unix_second(SystemTime time)
{
    return std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
}

}  // namespace ecomm

// The rate limiter's arithmetic, as pure functions over one sender's counts: a sliding window of
// 60 one-second buckets, so "at most N messages in any 60 seconds" holds to the second (never
// fixed minute buckets, which let 2N through across a minute boundary). The struct is stored as
// is in the counter table file, so it has a fixed layout and no pointers.
#pragma once
#include <chrono>
#include <cstdint>

#include "counters/counter_store.h"

namespace ecomm {

constexpr int kWindowSeconds = 60;

struct WindowCounts {
    std::int64_t newest_second = 0;            // the latest second a bucket was used for
    std::uint16_t counted[kWindowSeconds]{};   // messages per second (reserved or committed)
    std::uint16_t pending[kWindowSeconds]{};   // of those, reserved and not yet committed
};

// Messages counted in the `span` seconds ending with now_second (span 1..60).
int count_in_window(const WindowCounts& counts, std::int64_t now_second, int span = kWindowSeconds);
int pending_in_window(const WindowCounts& counts, std::int64_t now_second);

// Counts one message at now when the limit allows it, and says how long until it would otherwise.
// Buckets older than the window are cleared first; a clock that went back by less than the
// window counts in newest_second's bucket, and one that stepped back further starts the window
// again at now.
RateDecision try_reserve(WindowCounts& counts, const RateLimit& limit, SystemTime now);

// Makes a reservation permanent. A reservation that has slid out of the window (a message that
// took longer than a minute) is counted again at now, so no accepted message goes uncounted.
void commit_reservation(WindowCounts& counts, std::int64_t reserved_second, SystemTime now);

// Takes a reservation back (no-op once its second has left the window).
void release_reservation(WindowCounts& counts, std::int64_t reserved_second, SystemTime now);

std::int64_t unix_second(SystemTime time);

}  // namespace ecomm

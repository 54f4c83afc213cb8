// Unit tests for the rate limiter's sliding window: at, under and over 30 a minute with exact
// waits, bursts, the two-phase reserve/commit/release counting, clocks that jump, and a seeded
// random replay checking that no 60 seconds ever hold more than the limit. Times are injected.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "counters/sliding_window.h"

namespace ecomm {
namespace {

using std::chrono::milliseconds;

// An arbitrary origin not aligned to a minute, so nothing depends on where minutes begin.
constexpr std::int64_t kOriginMs = 1'700'000'017'000;

// The time `ms` milliseconds after the origin.
SystemTime at(std::int64_t ms)
{
    return SystemTime(milliseconds(kOriginMs + ms));
}

std::int64_t second_of(std::int64_t ms)
{
    return unix_second(at(ms));
}

RateLimit per_minute(int limit, int burst = 0)
{
    RateLimit rate;
    rate.per_minute = limit;
    rate.burst = burst;
    return rate;
}

// Reserves `count` messages at one instant, asserting each is allowed.
void reserve_all(WindowCounts& counts, const RateLimit& limit, std::int64_t ms, int count)
{
    for (int i = 0; i < count; ++i) {
        const RateDecision decision = try_reserve(counts, limit, at(ms));
        CPPUNIT_ASSERT_MESSAGE("message " + std::to_string(i + 1), decision.reservation.has_value());
    }
}

}  // namespace

class SlidingWindowTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SlidingWindowTest);
    CPPUNIT_TEST(allows_exactly_the_limit);
    CPPUNIT_TEST(allows_under_the_limit);
    CPPUNIT_TEST(refuses_over_the_limit_with_the_exact_wait);
    CPPUNIT_TEST(waits_for_the_oldest_second_to_leave);
    CPPUNIT_TEST(steady_rate_at_the_limit_is_never_refused);
    CPPUNIT_TEST(random_traffic_never_exceeds_the_limit);
    CPPUNIT_TEST(random_traffic_never_exceeds_the_burst);
    CPPUNIT_TEST(burst_limits_messages_at_once);
    CPPUNIT_TEST(burst_span_rounds_up);
    CPPUNIT_TEST(commit_keeps_the_count);
    CPPUNIT_TEST(release_frees_the_allowance);
    CPPUNIT_TEST(release_after_the_window_is_a_no_op);
    CPPUNIT_TEST(late_commit_counts_the_message_now);
    CPPUNIT_TEST(pending_counts_reservations_only);
    CPPUNIT_TEST(backwards_clock_counts_in_the_newest_second);
    CPPUNIT_TEST(clock_stepped_back_an_hour_starts_the_window_again);
    CPPUNIT_TEST(long_idle_gap_clears_everything);
    CPPUNIT_TEST(a_minute_later_the_window_is_empty);
    CPPUNIT_TEST(zero_limit_is_unlimited);
    CPPUNIT_TEST(full_bucket_waits_for_the_next_second);
    CPPUNIT_TEST(full_bucket_does_not_stop_an_unlimited_sender);
    CPPUNIT_TEST(unix_second_rounds_down);
    CPPUNIT_TEST_SUITE_END();

public:
    void allows_exactly_the_limit()
    {
        WindowCounts counts;
        for (int i = 1; i <= 30; ++i) {
            const RateDecision decision = try_reserve(counts, per_minute(30), at(500));
            CPPUNIT_ASSERT(decision.reservation.has_value());
            CPPUNIT_ASSERT_EQUAL(second_of(500), decision.reservation->second);
            CPPUNIT_ASSERT_EQUAL(std::string(), decision.reservation->key);
            CPPUNIT_ASSERT_EQUAL(i, decision.in_window);
            CPPUNIT_ASSERT_EQUAL(0L, static_cast<long>(decision.wait.count()));
        }
        CPPUNIT_ASSERT_EQUAL(30, count_in_window(counts, second_of(500)));
    }

    void allows_under_the_limit()
    {
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 0, 10);
        reserve_all(counts, per_minute(30), 20'000, 10);
        reserve_all(counts, per_minute(30), 59'999, 9);
        CPPUNIT_ASSERT_EQUAL(29, count_in_window(counts, second_of(59'999)));
        CPPUNIT_ASSERT_EQUAL(9, count_in_window(counts, second_of(59'999), 1));  // the last second alone
    }

    void refuses_over_the_limit_with_the_exact_wait()
    {
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 500, 30);

        const RateDecision refused = try_reserve(counts, per_minute(30), at(10'200));
        CPPUNIT_ASSERT(!refused.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(49'800L, static_cast<long>(refused.wait.count()));
        CPPUNIT_ASSERT_EQUAL(30, refused.in_window);
        CPPUNIT_ASSERT_EQUAL(30, count_in_window(counts, second_of(10'200)));  // a refusal counts nothing

        const RateDecision still = try_reserve(counts, per_minute(30), at(59'900));
        CPPUNIT_ASSERT(!still.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(100L, static_cast<long>(still.wait.count()));

        // A time between milliseconds: the wait rounds up, so a retry after it is not early.
        const RateDecision finer = try_reserve(counts, per_minute(30), at(10'200) + std::chrono::microseconds(400));
        CPPUNIT_ASSERT_EQUAL(49'800L, static_cast<long>(finer.wait.count()));

        const RateDecision allowed = try_reserve(counts, per_minute(30), at(60'000));
        CPPUNIT_ASSERT(allowed.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(1, allowed.in_window);
    }

    void waits_for_the_oldest_second_to_leave()
    {
        // 10 at 0 s, 20 at 30 s: the 31st at 40 s need only wait for the 0 s second (t = 60 s),
        // and the 32nd after that, with the 30 s ones still in the window, until t = 90 s.
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 0, 10);
        reserve_all(counts, per_minute(30), 30'000, 20);
        const RateDecision first = try_reserve(counts, per_minute(30), at(40'000));
        CPPUNIT_ASSERT(!first.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(20'000L, static_cast<long>(first.wait.count()));

        reserve_all(counts, per_minute(30), 60'000, 10);
        const RateDecision second = try_reserve(counts, per_minute(30), at(60'250));
        CPPUNIT_ASSERT(!second.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(29'750L, static_cast<long>(second.wait.count()));
    }

    void steady_rate_at_the_limit_is_never_refused()
    {
        // One message every 2 s is exactly 30 in any 60 s: never refused, and the window is full.
        WindowCounts counts;
        int largest = 0;
        for (int i = 0; i < 600; ++i) {
            const RateDecision decision = try_reserve(counts, per_minute(30), at(i * 2'000 + 300));
            CPPUNIT_ASSERT_MESSAGE("message " + std::to_string(i), decision.reservation.has_value());
            commit_reservation(counts, decision.reservation->second, at(i * 2'000 + 800));
            largest = std::max(largest, decision.in_window);
        }
        CPPUNIT_ASSERT_EQUAL(30, largest);
    }

    void random_traffic_never_exceeds_the_limit() { replay_random_traffic(per_minute(30), 20260301); }

    void random_traffic_never_exceeds_the_burst() { replay_random_traffic(per_minute(30, 5), 7); }

    void burst_limits_messages_at_once()
    {
        // Burst 5 at 30 a minute: 5 within any 10 s.
        WindowCounts counts;
        const RateLimit limit = per_minute(30, 5);
        reserve_all(counts, limit, 500, 5);

        const RateDecision sixth = try_reserve(counts, limit, at(700));
        CPPUNIT_ASSERT(!sixth.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(9'300L, static_cast<long>(sixth.wait.count()));  // until t = 10 s
        CPPUNIT_ASSERT_EQUAL(5, sixth.in_window);

        CPPUNIT_ASSERT(!try_reserve(counts, limit, at(9'999)).reservation.has_value());
        reserve_all(counts, limit, 10'000, 5);
        CPPUNIT_ASSERT(!try_reserve(counts, limit, at(19'000)).reservation.has_value());
        reserve_all(counts, limit, 20'000, 5);
        reserve_all(counts, limit, 30'000, 5);
        reserve_all(counts, limit, 40'000, 5);
        reserve_all(counts, limit, 50'000, 5);

        // 30 in the minute and 5 in the last 10 s: both free up at 60 s, when seconds 0 and 50 leave.
        const RateDecision full = try_reserve(counts, limit, at(59'000));
        CPPUNIT_ASSERT(!full.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(30, full.in_window);
        CPPUNIT_ASSERT_EQUAL(1'000L, static_cast<long>(full.wait.count()));
    }

    void burst_span_rounds_up()
    {
        // Burst 4 at 45 a minute: 4 within 240 / 45 = 5.33 s, rounded up to 6 s.
        WindowCounts counts;
        const RateLimit limit = per_minute(45, 4);
        reserve_all(counts, limit, 500, 4);
        const RateDecision fifth = try_reserve(counts, limit, at(2'000));
        CPPUNIT_ASSERT(!fifth.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(4'000L, static_cast<long>(fifth.wait.count()));
        CPPUNIT_ASSERT(!try_reserve(counts, limit, at(5'999)).reservation.has_value());
        CPPUNIT_ASSERT(try_reserve(counts, limit, at(6'000)).reservation.has_value());
    }

    void commit_keeps_the_count()
    {
        WindowCounts counts;
        std::vector<std::int64_t> seconds;
        for (int i = 0; i < 30; ++i) seconds.push_back(try_reserve(counts, per_minute(30), at(1'000)).reservation->second);
        for (const std::int64_t second : seconds) commit_reservation(counts, second, at(5'000));
        CPPUNIT_ASSERT_EQUAL(30, count_in_window(counts, second_of(5'000)));
        CPPUNIT_ASSERT_EQUAL(0, pending_in_window(counts, second_of(5'000)));
        CPPUNIT_ASSERT(!try_reserve(counts, per_minute(30), at(5'000)).reservation.has_value());
    }

    void release_frees_the_allowance()
    {
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 1'000, 29);
        const RateDecision last = try_reserve(counts, per_minute(30), at(2'000));
        CPPUNIT_ASSERT(last.reservation.has_value());
        CPPUNIT_ASSERT(!try_reserve(counts, per_minute(30), at(3'000)).reservation.has_value());

        release_reservation(counts, last.reservation->second, at(3'000));
        CPPUNIT_ASSERT_EQUAL(29, count_in_window(counts, second_of(3'000)));
        const RateDecision again = try_reserve(counts, per_minute(30), at(3'000));
        CPPUNIT_ASSERT(again.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(30, again.in_window);
    }

    void release_after_the_window_is_a_no_op()
    {
        // A reservation at 0 s released at 61 s: its bucket now holds second 60, whose message
        // must not be taken back in its place.
        WindowCounts counts;
        const std::int64_t old_second = try_reserve(counts, per_minute(30), at(500)).reservation->second;
        reserve_all(counts, per_minute(30), 30'000, 28);
        reserve_all(counts, per_minute(30), 60'500, 1);
        CPPUNIT_ASSERT_EQUAL(29, count_in_window(counts, second_of(61'000)));

        release_reservation(counts, old_second, at(61'000));
        CPPUNIT_ASSERT_EQUAL(29, count_in_window(counts, second_of(61'000)));
        CPPUNIT_ASSERT_EQUAL(29, pending_in_window(counts, second_of(61'000)));
        reserve_all(counts, per_minute(30), 61'000, 1);
        CPPUNIT_ASSERT(!try_reserve(counts, per_minute(30), at(61'000)).reservation.has_value());
    }

    void late_commit_counts_the_message_now()
    {
        WindowCounts counts;
        const std::int64_t reserved = try_reserve(counts, per_minute(30), at(500)).reservation->second;
        CPPUNIT_ASSERT_EQUAL(0, count_in_window(counts, second_of(75'000)));

        commit_reservation(counts, reserved, at(75'000));
        CPPUNIT_ASSERT_EQUAL(1, count_in_window(counts, second_of(75'000)));
        CPPUNIT_ASSERT_EQUAL(0, pending_in_window(counts, second_of(75'000)));
        CPPUNIT_ASSERT_EQUAL(1, count_in_window(counts, second_of(134'999)));
        CPPUNIT_ASSERT_EQUAL(0, count_in_window(counts, second_of(135'000)));
    }

    void pending_counts_reservations_only()
    {
        WindowCounts counts;
        const std::int64_t a = try_reserve(counts, per_minute(30), at(0)).reservation->second;
        const std::int64_t b = try_reserve(counts, per_minute(30), at(1'000)).reservation->second;
        try_reserve(counts, per_minute(30), at(2'000));
        CPPUNIT_ASSERT_EQUAL(3, pending_in_window(counts, second_of(2'000)));

        commit_reservation(counts, a, at(3'000));
        CPPUNIT_ASSERT_EQUAL(3, count_in_window(counts, second_of(3'000)));
        CPPUNIT_ASSERT_EQUAL(2, pending_in_window(counts, second_of(3'000)));

        release_reservation(counts, b, at(4'000));
        CPPUNIT_ASSERT_EQUAL(2, count_in_window(counts, second_of(4'000)));
        CPPUNIT_ASSERT_EQUAL(1, pending_in_window(counts, second_of(4'000)));

        // Committing twice by mistake never takes pending below zero for another reservation.
        commit_reservation(counts, a, at(4'000));
        CPPUNIT_ASSERT_EQUAL(1, pending_in_window(counts, second_of(4'000)));
        CPPUNIT_ASSERT_EQUAL(2, count_in_window(counts, second_of(4'000)));
    }

    void backwards_clock_counts_in_the_newest_second()
    {
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 100'500, 29);
        const RateDecision back = try_reserve(counts, per_minute(30), at(90'000));
        CPPUNIT_ASSERT(back.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(second_of(100'500), back.reservation->second);
        CPPUNIT_ASSERT_EQUAL(second_of(100'500), counts.newest_second);
        CPPUNIT_ASSERT_EQUAL(30, count_in_window(counts, second_of(90'000)));
        CPPUNIT_ASSERT_EQUAL(30, count_in_window(counts, second_of(100'000)));

        // Refused while the clock is behind: the wait runs to the real clock's 160 s.
        const RateDecision refused = try_reserve(counts, per_minute(30), at(90'000));
        CPPUNIT_ASSERT(!refused.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(70'000L, static_cast<long>(refused.wait.count()));

        // Releasing in the past still finds the reservation in the newest bucket.
        release_reservation(counts, back.reservation->second, at(95'000));
        CPPUNIT_ASSERT_EQUAL(29, count_in_window(counts, second_of(95'000)));
        CPPUNIT_ASSERT_EQUAL(29, count_in_window(counts, second_of(159'999)));
        CPPUNIT_ASSERT_EQUAL(0, count_in_window(counts, second_of(160'000)));
    }

    // NTP steps the clock back an hour with a full window: counting in the newest bucket would
    // refuse the sender for that hour ("retry after 3,600 s").
    void clock_stepped_back_an_hour_starts_the_window_again()
    {
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 3'600'500, 30);
        CPPUNIT_ASSERT_EQUAL(0, count_in_window(counts, second_of(500)));  // what a read sees an hour back
        const RateDecision back = try_reserve(counts, per_minute(30), at(500));
        CPPUNIT_ASSERT(back.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(second_of(500), back.reservation->second);
        CPPUNIT_ASSERT_EQUAL(1, back.in_window);
        CPPUNIT_ASSERT_EQUAL(second_of(500), counts.newest_second);
        // From there the limit holds as usual.
        reserve_all(counts, per_minute(30), 1'000, 29);
        const RateDecision refused = try_reserve(counts, per_minute(30), at(1'000));
        CPPUNIT_ASSERT(!refused.reservation.has_value());
        CPPUNIT_ASSERT(refused.wait <= std::chrono::milliseconds(60'000));
        // A step back of exactly the window counts as one; of one second less it does not.
        WindowCounts near;
        reserve_all(near, per_minute(30), 100'000, 30);
        CPPUNIT_ASSERT(!try_reserve(near, per_minute(30), at(41'000)).reservation.has_value());
        CPPUNIT_ASSERT(try_reserve(near, per_minute(30), at(40'000)).reservation.has_value());
    }

    void long_idle_gap_clears_everything()
    {
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 500, 30);
        const RateDecision later = try_reserve(counts, per_minute(30), at(10'000'000'000));
        CPPUNIT_ASSERT(later.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(1, later.in_window);
        CPPUNIT_ASSERT_EQUAL(1, pending_in_window(counts, second_of(10'000'000'000)));
        int stored = 0;
        for (const std::uint16_t value : counts.counted) stored += value;
        CPPUNIT_ASSERT_EQUAL(1, stored);
    }

    void a_minute_later_the_window_is_empty()
    {
        // Partial advances clear exactly the seconds passed over.
        WindowCounts counts;
        reserve_all(counts, per_minute(30), 500, 3);
        reserve_all(counts, per_minute(30), 30'500, 4);
        reserve_all(counts, per_minute(30), 59'500, 5);
        try_reserve(counts, per_minute(30), at(60'000));  // second 0 leaves, 60 takes its bucket
        CPPUNIT_ASSERT_EQUAL(10, count_in_window(counts, second_of(60'000)));
        try_reserve(counts, per_minute(30), at(90'000));  // 30 leaves
        CPPUNIT_ASSERT_EQUAL(7, count_in_window(counts, second_of(90'000)));
        CPPUNIT_ASSERT_EQUAL(7, pending_in_window(counts, second_of(90'000)));
        CPPUNIT_ASSERT_EQUAL(0, count_in_window(counts, second_of(150'000)));
        CPPUNIT_ASSERT_EQUAL(1, count_in_window(counts, second_of(149'000)));
    }

    void zero_limit_is_unlimited()
    {
        WindowCounts counts;
        for (int i = 1; i <= 1000; ++i) {
            const RateDecision decision = try_reserve(counts, per_minute(0), at(500));
            CPPUNIT_ASSERT(decision.reservation.has_value());
            CPPUNIT_ASSERT_EQUAL(i, decision.in_window);
        }
        CPPUNIT_ASSERT(try_reserve(counts, per_minute(0, 5), at(600)).reservation.has_value());
    }

    void full_bucket_waits_for_the_next_second()
    {
        WindowCounts counts;
        const RateLimit limit = per_minute(1'000'000);
        for (int i = 0; i < 65'535; ++i) CPPUNIT_ASSERT(try_reserve(counts, limit, at(250)).reservation.has_value());
        const RateDecision full = try_reserve(counts, limit, at(250));
        CPPUNIT_ASSERT(!full.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(750L, static_cast<long>(full.wait.count()));
        CPPUNIT_ASSERT_EQUAL(65'535, full.in_window);

        const RateDecision next = try_reserve(counts, limit, at(1'000));
        CPPUNIT_ASSERT(next.reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(65'536, next.in_window);
    }

    void full_bucket_does_not_stop_an_unlimited_sender()
    {
        WindowCounts counts;
        for (int i = 0; i < 65'540; ++i) CPPUNIT_ASSERT(try_reserve(counts, per_minute(0), at(250)).reservation.has_value());
        CPPUNIT_ASSERT_EQUAL(65'535, count_in_window(counts, second_of(250)));
    }

    void unix_second_rounds_down()
    {
        using std::chrono::system_clock;
        CPPUNIT_ASSERT_EQUAL(std::int64_t{1}, unix_second(system_clock::time_point(milliseconds(1'999))));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, unix_second(system_clock::time_point(milliseconds(0))));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{-1}, unix_second(system_clock::time_point(milliseconds(-500))));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{-2}, unix_second(system_clock::time_point(milliseconds(-1'001))));
    }

private:
    struct Outstanding {
        std::int64_t finish_ms;
        std::int64_t second;
        bool commit;
        bool operator>(const Outstanding& other) const { return finish_ms > other.finish_ms; }
    };

    // Replays seeded random traffic (bursts and lulls, some messages rejected after a few
    // seconds), mirroring the live counts in a plain map, and checks after every step that the
    // window agrees with the map, that a refusal was needed, that its wait is the shortest that
    // works, and finally that no 60 s (nor burst span) of kept messages exceeds the limit.
    void replay_random_traffic(const RateLimit& limit, std::uint64_t seed)
    {
        std::mt19937_64 random(seed);
        std::uniform_int_distribution<int> percent(0, 99);
        WindowCounts counts;
        std::map<std::int64_t, int> live;  // second -> messages reserved and not released
        std::priority_queue<Outstanding, std::vector<Outstanding>, std::greater<>> outstanding;
        std::vector<std::int64_t> kept;
        const int span = limit.burst > 0 ? std::clamp((limit.burst * 60 + limit.per_minute - 1) / limit.per_minute, 1, 60) : 60;
        int refusals = 0;

        auto live_in = [&](std::int64_t last, int seconds) {
            int total = 0;
            for (auto it = live.lower_bound(last - seconds + 1); it != live.end() && it->first <= last; ++it) total += it->second;
            return total;
        };

        std::int64_t now_ms = 0;
        for (int step = 0; step < 20'000; ++step) {
            now_ms += percent(random) < 70 ? std::uniform_int_distribution<int>(0, 300)(random)
                                           : std::uniform_int_distribution<int>(0, 10'000)(random);
            while (!outstanding.empty() && outstanding.top().finish_ms <= now_ms) {
                const Outstanding done = outstanding.top();
                outstanding.pop();
                if (done.commit) {
                    commit_reservation(counts, done.second, at(done.finish_ms));
                    kept.push_back(done.second);
                } else {
                    release_reservation(counts, done.second, at(done.finish_ms));
                    --live[done.second];
                }
            }

            const std::int64_t now_second = second_of(now_ms);
            const WindowCounts before = counts;
            const RateDecision decision = try_reserve(counts, limit, at(now_ms));
            if (decision.reservation) {
                CPPUNIT_ASSERT_EQUAL(now_second, decision.reservation->second);
                ++live[now_second];
                const std::int64_t finish = now_ms + std::uniform_int_distribution<int>(0, 5'000)(random);
                outstanding.push({finish, now_second, percent(random) >= 15});
            } else {
                ++refusals;
                const bool minute_full = live_in(now_second, 60) >= limit.per_minute;
                const bool burst_full = limit.burst > 0 && live_in(now_second, span) >= limit.burst;
                CPPUNIT_ASSERT_MESSAGE("refused with room", minute_full || burst_full);
                CPPUNIT_ASSERT(decision.wait.count() > 0);
                WindowCounts retry = before;
                CPPUNIT_ASSERT_MESSAGE("wait too short",
                                       try_reserve(retry, limit, at(now_ms + decision.wait.count())).reservation.has_value());
                retry = before;
                CPPUNIT_ASSERT_MESSAGE("wait too long",
                                       !try_reserve(retry, limit, at(now_ms + decision.wait.count() - 1)).reservation.has_value());
            }
            CPPUNIT_ASSERT_EQUAL(live_in(now_second, 60), count_in_window(counts, now_second));
            CPPUNIT_ASSERT_EQUAL(static_cast<int>(outstanding.size()), pending_in_window(counts, now_second));
        }
        CPPUNIT_ASSERT(refusals > 100);
        CPPUNIT_ASSERT(kept.size() > 5'000);

        // Every window aligned to a second, starting where a kept message is (where the maxima are).
        std::sort(kept.begin(), kept.end());
        std::size_t end = 0;
        std::size_t burst_end = 0;
        for (std::size_t start = 0; start < kept.size(); ++start) {
            while (end < kept.size() && kept[end] < kept[start] + 60) ++end;
            while (burst_end < kept.size() && kept[burst_end] < kept[start] + span) ++burst_end;
            CPPUNIT_ASSERT(end - start <= static_cast<std::size_t>(limit.per_minute));
            if (limit.burst > 0) CPPUNIT_ASSERT(burst_end - start <= static_cast<std::size_t>(limit.burst));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SlidingWindowTest);

}  // namespace ecomm

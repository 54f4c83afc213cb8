// FallbackStore: the shared store answers while it can; while it fails, the host's table counts
// (or the error goes through, for on_error), the outage is logged once when it starts and once
// when it ends, and every reservation is settled where it was counted. The shared store here is
// a private table behind a switch that makes it fail as an unreachable Redis would.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "counters/counter_table.h"
#include "counters/fallback_store.h"
#include "util/hash.h"

using namespace ecomm;

namespace {

const SystemTime kT0 = SystemTime(std::chrono::seconds(1'700'000'000));
const RateLimit kThirty{30, 0};

std::shared_ptr<CounterStore> private_table()
{
    CounterTableOptions options;
    options.rate_slots = 64;
    options.campaign_slots = 8;
    return CounterTable::open(options);
}

// A working store that can be switched to fail every call, counting the calls that reached it.
class SwitchableStore final : public CounterStore {
public:
    std::atomic<bool> down{false};
    std::atomic<bool> busy{false};  // fails as a pool with no free connection does
    std::atomic<int> calls{0};

    RateDecision reserve(std::string_view key, const RateLimit& limit, SystemTime now) override
    {
        enter();
        return inner_->reserve(key, limit, now);
    }
    void commit(const RateReservation& reservation, SystemTime now) override
    {
        enter();
        inner_->commit(reservation, now);
    }
    void release(const RateReservation& reservation, SystemTime now) override
    {
        enter();
        inner_->release(reservation, now);
    }
    CampaignUpdate add_to_campaign(std::string_view campaign, std::string_view sender,
                                   std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                   std::uint64_t threshold, std::chrono::seconds window, SystemTime now) override
    {
        enter();
        return inner_->add_to_campaign(campaign, sender, recipients, declared, threshold, window, now);
    }
    CounterView view(SystemTime now) override
    {
        enter();
        return inner_->view(now);
    }
    bool reset(std::string_view key) override
    {
        enter();
        return inner_->reset(key);
    }

private:
    void enter()
    {
        ++calls;
        if (down) throw CounterError("redis 127.0.0.1:6379: connection refused");
        if (busy) throw CounterBusy("redis 127.0.0.1:6379 db 0: no free connection within 100 ms (all 8 in use)");
    }
    std::shared_ptr<CounterStore> inner_ = private_table();
};

// The log lines a FallbackStore wrote, by kind.
struct Log {
    std::mutex mutex;
    std::vector<std::string> warnings;
    std::vector<std::string> notices;

    FallbackOptions options(bool count_locally)
    {
        FallbackOptions options;
        options.count_locally = count_locally;
        options.shared_name = "redis 127.0.0.1:6379 db 0";
        options.warn = [this](const std::string& line) {
            const std::lock_guard guard(mutex);
            warnings.push_back(line);
        };
        options.notice = [this](const std::string& line) {
            const std::lock_guard guard(mutex);
            notices.push_back(line);
        };
        return options;
    }
};

int in_window(CounterStore& store, const std::string& key, SystemTime now)
{
    for (const RateEntryView& entry : store.view(now).rates)
        if (entry.key == key) return entry.in_window;
    return 0;
}

std::uint64_t committed(CounterStore& store, const std::string& key, SystemTime now)
{
    for (const RateEntryView& entry : store.view(now).rates)
        if (entry.key == key) return entry.total;
    return 0;
}

}  // namespace

class FallbackStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FallbackStoreTest);
    CPPUNIT_TEST(countsInTheSharedStoreWhileItAnswers);
    CPPUNIT_TEST(countsLocallyWhileTheSharedStoreFails);
    CPPUNIT_TEST(logsOneOutageAndItsEnd);
    CPPUNIT_TEST(settlesEachReservationWhereItWasCounted);
    CPPUNIT_TEST(dropsSettlementsTheSharedStoreCannotTake);
    CPPUNIT_TEST(onErrorLetsTheFailureThrough);
    CPPUNIT_TEST(campaignsFallBackToo);
    CPPUNIT_TEST(resetForgetsInBothStores);
    CPPUNIT_TEST(concurrentFailuresLogOneOutage);
    CPPUNIT_TEST(busyPoolFallsBackWithoutAnOutage);
    CPPUNIT_TEST(busyPoolWithOnErrorThrows);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        shared_ = std::make_shared<SwitchableStore>();
        local_ = private_table();
        log_ = std::make_unique<Log>();
    }

    void countsInTheSharedStoreWhileItAnswers()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        const RateDecision decision = store.reserve("sender:a", kThirty, kT0);
        CPPUNIT_ASSERT(decision.reservation);
        CPPUNIT_ASSERT(!decision.reservation->local);
        CPPUNIT_ASSERT_EQUAL(1, in_window(*shared_, "sender:a", kT0));
        CPPUNIT_ASSERT_EQUAL(0, in_window(*local_, "sender:a", kT0));
        CPPUNIT_ASSERT(log_->warnings.empty());
    }

    void countsLocallyWhileTheSharedStoreFails()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        shared_->down = true;
        for (int i = 0; i < 30; ++i) CPPUNIT_ASSERT(store.reserve("sender:a", kThirty, kT0).reservation);
        // The stand-in enforces the same limit.
        const RateDecision over = store.reserve("sender:a", kThirty, kT0);
        CPPUNIT_ASSERT(!over.reservation);
        CPPUNIT_ASSERT(over.wait > std::chrono::milliseconds(0));
        CPPUNIT_ASSERT_EQUAL(30, in_window(*local_, "sender:a", kT0));
        CPPUNIT_ASSERT(store.in_outage());
    }

    void logsOneOutageAndItsEnd()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        shared_->down = true;
        for (int i = 0; i < 5; ++i) store.reserve("sender:a", kThirty, kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->warnings.size());
        CPPUNIT_ASSERT(log_->warnings[0].find("redis 127.0.0.1:6379 db 0 unreachable (redis 127.0.0.1:6379: "
                                             "connection refused): counting in the local table") != std::string::npos);
        CPPUNIT_ASSERT(log_->notices.empty());

        shared_->down = false;
        store.reserve("sender:a", kThirty, kT0);
        store.reserve("sender:a", kThirty, kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->notices.size());
        CPPUNIT_ASSERT(log_->notices[0].find("redis 127.0.0.1:6379 db 0 is back after ") != std::string::npos);
        CPPUNIT_ASSERT(log_->notices[0].find("(5 calls counted in the local table meanwhile)") != std::string::npos);
        CPPUNIT_ASSERT(!store.in_outage());

        // A second outage is a second pair of lines.
        shared_->down = true;
        store.reserve("sender:a", kThirty, kT0);
        shared_->down = false;
        store.reserve("sender:a", kThirty, kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, log_->warnings.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, log_->notices.size());
        CPPUNIT_ASSERT(log_->notices[1].find("(1 call counted in the local table meanwhile)") != std::string::npos);
    }

    void settlesEachReservationWhereItWasCounted()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        const RateReservation in_shared = *store.reserve("sender:a", kThirty, kT0).reservation;
        shared_->down = true;
        const RateReservation in_local = *store.reserve("sender:a", kThirty, kT0).reservation;
        CPPUNIT_ASSERT(in_local.local);
        shared_->down = false;

        store.commit(in_shared, kT0);
        store.commit(in_local, kT0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, committed(*shared_, "sender:a", kT0));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, committed(*local_, "sender:a", kT0));

        const RateReservation released = *store.reserve("sender:b", kThirty, kT0).reservation;
        store.release(released, kT0);
        CPPUNIT_ASSERT_EQUAL(0, in_window(*shared_, "sender:b", kT0));
    }

    void dropsSettlementsTheSharedStoreCannotTake()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        const RateReservation reservation = *store.reserve("sender:a", kThirty, kT0).reservation;
        shared_->down = true;
        store.commit(reservation, kT0);  // must not throw: the message is already accepted
        store.release(reservation, kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->warnings.size());
        shared_->down = false;
        // Still counted as reserved: the shared store never heard of the commit or release.
        CPPUNIT_ASSERT_EQUAL(1, in_window(*shared_, "sender:a", kT0));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, committed(*local_, "sender:a", kT0));
    }

    void onErrorLetsTheFailureThrough()
    {
        FallbackStore store(shared_, local_, log_->options(false));
        CPPUNIT_ASSERT(!store.local());
        shared_->down = true;
        CPPUNIT_ASSERT_THROW(store.reserve("sender:a", kThirty, kT0), CounterError);
        const std::uint64_t recipient = 42;
        CPPUNIT_ASSERT_THROW(store.add_to_campaign("c", "s", {&recipient, 1}, 0, 10, std::chrono::hours(24), kT0),
                             CounterError);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->warnings.size());
        CPPUNIT_ASSERT(log_->warnings[0].find("on_error applies until it is back") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, in_window(*local_, "sender:a", kT0));
        shared_->down = false;
        CPPUNIT_ASSERT(store.reserve("sender:a", kThirty, kT0).reservation);
        CPPUNIT_ASSERT(log_->notices.at(0).find("(2 calls answered with on_error meanwhile)") != std::string::npos);
    }

    void campaignsFallBackToo()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        // Recipients arrive as the stable hashes of their addresses.
        const std::vector<std::uint64_t> first{stable_hash64("a@example.edu"), stable_hash64("b@example.edu"),
                                               stable_hash64("c@example.edu")};
        const std::vector<std::uint64_t> second{stable_hash64("d@example.edu"), stable_hash64("e@example.edu")};
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3},
                             store.add_to_campaign("c", "s", first, 0, 100, std::chrono::hours(24), kT0).estimate);
        shared_->down = true;
        // The local table knows only what was counted in it.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2},
                             store.add_to_campaign("c", "s", second, 0, 100, std::chrono::hours(24), kT0).estimate);
    }

    void resetForgetsInBothStores()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        store.reserve("sender:a", kThirty, kT0);
        shared_->down = true;
        store.reserve("sender:a", kThirty, kT0);
        shared_->down = false;
        CPPUNIT_ASSERT(store.reset("sender:a"));
        CPPUNIT_ASSERT_EQUAL(0, in_window(*shared_, "sender:a", kT0));
        CPPUNIT_ASSERT_EQUAL(0, in_window(*local_, "sender:a", kT0));
        CPPUNIT_ASSERT(!store.reset("sender:a"));
    }

    void concurrentFailuresLogOneOutage()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        shared_->down = true;
        std::vector<std::thread> threads;
        std::atomic<int> reserved{0};
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&, t] {
                const std::string key = "sender:t" + std::to_string(t);
                for (int i = 0; i < 200; ++i)
                    if (store.reserve(key, RateLimit{0, 0}, kT0).reservation) ++reserved;
            });
        }
        for (auto& thread : threads) thread.join();
        CPPUNIT_ASSERT_EQUAL(1600, reserved.load());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->warnings.size());
        shared_->down = false;
        store.reserve("sender:t0", kThirty, kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->notices.size());
        CPPUNIT_ASSERT(log_->notices[0].find("(1600 calls") != std::string::npos);
    }

private:
    std::shared_ptr<SwitchableStore> shared_;
    std::shared_ptr<CounterStore> local_;
    std::unique_ptr<Log> log_;

    // No free connection is local contention: answered as in an outage (the local table), but
    // no outage starts, nothing ends one, and one line stands for a minute of them.
    void busyPoolFallsBackWithoutAnOutage()
    {
        FallbackStore store(shared_, local_, log_->options(true));
        const RateReservation in_shared = *store.reserve("sender:a", kThirty, kT0).reservation;
        shared_->busy = true;
        for (int i = 0; i < 5; ++i) {
            const RateDecision decision = store.reserve("sender:a", kThirty, kT0);
            CPPUNIT_ASSERT(decision.reservation && decision.reservation->local);
            CPPUNIT_ASSERT(!store.in_outage());
        }
        store.commit(in_shared, kT0);  // dropped, as while away, but still no outage
        CPPUNIT_ASSERT(!store.in_outage());
        CPPUNIT_ASSERT_EQUAL(5, in_window(*local_, "sender:a", kT0));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->warnings.size());
        CPPUNIT_ASSERT_MESSAGE(log_->warnings[0],
                               log_->warnings[0].find("no free connection within 100 ms (all 8 in use): counted in the "
                                                      "local table, not an outage (1 such call") != std::string::npos);
        CPPUNIT_ASSERT(log_->warnings[0].find("unreachable") == std::string::npos);

        shared_->busy = false;
        CPPUNIT_ASSERT(!store.reserve("sender:a", kThirty, kT0).reservation->local);
        CPPUNIT_ASSERT(log_->notices.empty());  // nothing was over
    }

    void busyPoolWithOnErrorThrows()
    {
        FallbackStore store(shared_, local_, log_->options(false));
        shared_->busy = true;
        CPPUNIT_ASSERT_THROW(store.reserve("sender:a", kThirty, kT0), CounterBusy);
        CPPUNIT_ASSERT(!store.in_outage());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, log_->warnings.size());
        CPPUNIT_ASSERT(log_->warnings[0].find("answered with on_error, not an outage") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FallbackStoreTest);

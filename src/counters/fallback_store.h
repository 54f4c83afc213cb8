// A shared store (Redis) with what to do while it is away ([counters] redis_unavailable):
// count in this host's own table (`table`), or let the failure through as an internal error so
// that the configured on_error answers (`on_error`). Either way the outage is logged once when it
// starts and once when the shared store answers again, with how long it lasted and how many calls
// it cost; a call during the pool's backoff fails at once, so no message waits for Redis longer
// than one timeout.
//
// A call that finds no free shared-store connection in time (CounterBusy: the pool is too small
// for the load, the server is fine) is answered the same way but starts no outage; it is logged
// at most once a minute, with how many such calls there were.
//
// A reservation remembers which store counted it (RateReservation::local), and its commit or
// release goes there. A commit or release that fails on the shared store is logged and dropped,
// never thrown: the message stays counted as reserved, which errs on the side of the limit, and
// the entry expires with its window.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "counters/counter_store.h"

namespace ecomm {

struct FallbackOptions {
    bool count_locally = true;  // false: rethrow (on_error applies)
    std::string shared_name;    // for the log lines, e.g. "redis 127.0.0.1:6379 db 0"
    // Where the outage lines go; default log::warning and log::notice.
    std::function<void(const std::string&)> warn;
    std::function<void(const std::string&)> notice;
};

class FallbackStore final : public CounterStore {
public:
    // local may be null when options.count_locally is false.
    FallbackStore(std::shared_ptr<CounterStore> shared, std::shared_ptr<CounterStore> local, FallbackOptions options);

    RateDecision reserve(std::string_view key, const RateLimit& limit, SystemTime now) override;
    void commit(const RateReservation& reservation, SystemTime now) override;
    void release(const RateReservation& reservation, SystemTime now) override;
    CampaignUpdate add_to_campaign(std::string_view campaign, std::string_view sender,
                                   std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                   std::uint64_t threshold, std::chrono::seconds window, SystemTime now) override;
    CounterView view(SystemTime now) override;  // the shared store's (throws while it is away)
    bool reset(std::string_view key) override;  // both stores

    bool in_outage() const;
    const std::shared_ptr<CounterStore>& shared() const { return shared_; }
    const std::shared_ptr<CounterStore>& local() const { return local_; }

private:
    // call on the shared store; while it fails, fallback on the local one (or the error).
    template <typename Call, typename Fallback>
    auto guarded(Call&& call, Fallback&& fallback);
    using SettleStep = void (CounterStore::*)(const RateReservation&, SystemTime);
    void settle(const RateReservation& reservation, SystemTime now, SettleStep step);
    void shared_failed(const std::string& reason);
    void shared_answered();
    void shared_busy(const std::string& reason);

    std::shared_ptr<CounterStore> shared_;
    std::shared_ptr<CounterStore> local_;
    FallbackOptions options_;
    std::atomic<bool> in_outage_{false};  // read on every call without the mutex
    std::mutex mutex_;                    // the outage's start and count, and its two log lines
    std::chrono::steady_clock::time_point outage_start_{};
    std::uint64_t outage_calls_ = 0;      // calls the shared store failed during this outage
    std::chrono::steady_clock::time_point busy_logged_{};  // the last CounterBusy line
    std::uint64_t busy_calls_ = 0;        // CounterBusy calls since that line
};

}  // namespace ecomm

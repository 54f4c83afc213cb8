// The shared counter store with its stand-in; see fallback_store.h.
#include "counters/fallback_store.h"

#include <utility>

#include "core/logger.h"

namespace ecomm {

namespace {

constexpr std::chrono::minutes kBusyLogInterval{1};

}  // namespace

FallbackStore::FallbackStore(std::shared_ptr<CounterStore> shared, std::shared_ptr<CounterStore> local,
                             FallbackOptions options)
    : shared_(std::move(shared)), local_(std::move(local)), options_(std::move(options))
{
    if (!options_.count_locally) local_.reset();
    if (!options_.warn) options_.warn = [](const std::string& line) { log::warning(line); };
    if (!options_.notice) options_.notice = [](const std::string& line) { log::notice(line); };
}

template <typename Call, typename Fallback>
auto FallbackStore::guarded(Call&& call, Fallback&& fallback)
{
    try {
        auto result = call(*shared_);
        if (in_outage_.load(std::memory_order_relaxed)) shared_answered();
        return result;
    } catch (const CounterBusy& error) {
        shared_busy(error.what());
        if (!local_) throw;
        return fallback(*local_);
    } catch (const CounterError& error) {
        shared_failed(error.what());
        if (!local_) throw;
        return fallback(*local_);
    }
}

void FallbackStore::shared_failed(const std::string& reason)
{
    const std::lock_guard guard(mutex_);
    ++outage_calls_;
    if (in_outage_.load()) return;
    in_outage_ = true;
    outage_start_ = std::chrono::steady_clock::now();
    options_.warn("counters: " + options_.shared_name + " unreachable (" + reason + "): " +
                  (local_ ? "counting in the local table until it is back" : "on_error applies until it is back"));
}

void FallbackStore::shared_answered()
{
    const std::lock_guard guard(mutex_);
    if (!in_outage_.load()) return;  // another thread ended it first
    in_outage_ = false;
    const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                              outage_start_);
    options_.notice("counters: " + options_.shared_name + " is back after " + std::to_string(lasted.count()) +
                    " ms (" + std::to_string(outage_calls_) + (outage_calls_ == 1 ? " call " : " calls ") +
                    (local_ ? "counted in the local table" : "answered with on_error") + " meanwhile)");
    outage_calls_ = 0;
}

// Contention, not an outage: at most one line a minute, however busy the pool stays.
void FallbackStore::shared_busy(const std::string& reason)
{
    const std::lock_guard guard(mutex_);
    ++busy_calls_;
    const auto now = std::chrono::steady_clock::now();
    if (busy_logged_ != std::chrono::steady_clock::time_point{} && now - busy_logged_ < kBusyLogInterval) return;
    options_.warn("counters: " + reason + ": " + (local_ ? "counted in the local table" : "answered with on_error") +
                  ", not an outage (" + std::to_string(busy_calls_) + (busy_calls_ == 1 ? " such call" : " such calls") +
                  " since the last such line; redis_connections may be too small)");
    busy_logged_ = now;
    busy_calls_ = 0;
}

RateDecision FallbackStore::reserve(std::string_view key, const RateLimit& limit, SystemTime now)
{
    return guarded([&](CounterStore& store) { return store.reserve(key, limit, now); },
                   [&](CounterStore& store) {
                       RateDecision decision = store.reserve(key, limit, now);
                       if (decision.reservation) decision.reservation->local = true;
                       return decision;
                   });
}

// A commit or release goes where its reservation was counted. One that the shared store cannot
// take is dropped: the message stays counted as reserved until its second leaves the window.
void FallbackStore::settle(const RateReservation& reservation, SystemTime now, SettleStep step)
{
    if (reservation.local) {
        if (local_) ((*local_).*step)(reservation, now);
        return;
    }
    try {
        ((*shared_).*step)(reservation, now);
        if (in_outage_.load(std::memory_order_relaxed)) shared_answered();
    } catch (const CounterBusy& error) {
        shared_busy(error.what());
    } catch (const CounterError& error) {
        shared_failed(error.what());
    }
}

void FallbackStore::commit(const RateReservation& reservation, SystemTime now)
{
    settle(reservation, now, &CounterStore::commit);
}

void FallbackStore::release(const RateReservation& reservation, SystemTime now)
{
    settle(reservation, now, &CounterStore::release);
}

CampaignUpdate FallbackStore::add_to_campaign(std::string_view campaign, std::string_view sender,
                                              std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                              std::uint64_t threshold, std::chrono::seconds window,
                                              SystemTime now)
{
    const auto add = [&](CounterStore& store) {
        return store.add_to_campaign(campaign, sender, recipients, declared, threshold, window, now);
    };
    return guarded(add, add);
}

CounterView FallbackStore::view(SystemTime now) { return shared_->view(now); }

bool FallbackStore::reset(std::string_view key)
{
    const bool local_found = local_ && local_->reset(key);
    return shared_->reset(key) || local_found;
}

bool FallbackStore::in_outage() const { return in_outage_.load(); }

}  // namespace ecomm

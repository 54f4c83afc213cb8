// The shared counters behind the rate and bulk-hours rules (DESIGN.md "Counters"), as an
// interface: the memory-mapped table (counter_table.h) implements it, and so can another store
// shared between hosts. Every method is safe to call from several threads and processes at once.
// A store that cannot be used throws CounterError; the caller treats that as an internal error
// (the configured on_error).
//
// Rate counting is two-phase: reserve() counts a message provisionally when it starts (or as soon
// as its sender is known), commit() keeps it when the message is accepted, release() takes it back
// when the message is aborted, rejected or deferred, so that retries and refused mail never use up
// a sender's allowance.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ecomm {

using SystemTime = std::chrono::system_clock::time_point;

class CounterError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The store works but had no capacity for this call in time (every pooled Redis connection
// stayed busy): local contention, not an outage. A caller that has no use for the difference
// catches CounterError.
class CounterBusy : public CounterError {
public:
    using CounterError::CounterError;
};

struct RateLimit {
    int per_minute = 30;  // messages in any 60 seconds (to the second); 0: no limit
    int burst = 0;        // > 0: also at most burst messages within burst*60/per_minute seconds
};

// A message counted provisionally; commit or release it exactly once.
struct RateReservation {
    std::string key;
    std::int64_t second = 0;  // the Unix second it was counted in
    bool local = false;       // counted by FallbackStore's local table while the shared store was away
};

struct RateDecision {
    std::optional<RateReservation> reservation;  // set: within the limit, and now counted
    std::chrono::milliseconds wait{0};           // not reserved: how long until it would be within
    int in_window = 0;  // messages counted in the last 60 s, this one included when reserved
};

struct CampaignUpdate {
    std::uint64_t estimate = 0;  // distinct university recipients of the campaign so far
    std::uint64_t declared = 0;  // the largest audience the campaign's messages declared
    bool first_crossing = false;  // this update took the campaign over the threshold first
};

// What ecomm-milter-stats shows.
struct RateEntryView {
    std::string key;              // e.g. "sender:marketing-cloud", "client:2001:db8:1:2::/64"
    int in_window = 0;            // messages counted in the last 60 s (reserved or committed)
    int pending = 0;              // of those, reserved and not yet committed
    std::uint64_t total = 0;      // committed since the entry was created
    SystemTime last_used{};
};

struct CampaignEntryView {
    std::string key;              // the campaign id
    std::string sender;           // registry id
    std::uint64_t estimate = 0;
    std::uint64_t declared = 0;
    bool crossed = false;         // has gone over the threshold
    SystemTime first_seen{};
    SystemTime last_seen{};
};

struct CounterView {
    std::vector<RateEntryView> rates;
    std::vector<CampaignEntryView> campaigns;
    std::size_t rate_slots = 0;
    std::size_t campaign_slots = 0;
    std::uint64_t evictions = 0;  // live entries evicted because the table was full
    std::string location;         // e.g. the file's path
};

class CounterStore {
public:
    virtual ~CounterStore() = default;

    virtual RateDecision reserve(std::string_view key, const RateLimit& limit, SystemTime now) = 0;
    virtual void commit(const RateReservation& reservation, SystemTime now) = 0;
    virtual void release(const RateReservation& reservation, SystemTime now) = 0;

    // Adds recipients (stable_hash64 of each lower-cased university address) to the campaign's
    // audience. A campaign starts afresh once window has passed since its first message.
    // first_crossing is true for exactly one update: the first whose audience, max(estimate,
    // declared), exceeds threshold.
    virtual CampaignUpdate add_to_campaign(std::string_view campaign, std::string_view sender,
                                           std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                           std::uint64_t threshold, std::chrono::seconds window,
                                           SystemTime now) = 0;

    // Live entries (expired ones left out).
    virtual CounterView view(SystemTime now) = 0;
    // Forgets the rate entry or campaign with this key; false when there is none.
    virtual bool reset(std::string_view key) = 0;
};

}  // namespace ecomm

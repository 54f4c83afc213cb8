// Two-phase rate counting for one message (IV.B.3.c.vi-vii), in the way the field's rate
// limiters learned to do it: reserve when the message starts, commit when it is accepted,
// release when it is aborted, rejected or deferred, so that refused mail and retries never use
// up a sender's allowance while messages in flight still count against it.
//
// A sender only just over its rate is throttled: held (up to [rate] throttle_delay, the MTA kept
// waiting with smfi_progress) until the window has room, then accepted. Beyond that the rate rule
// defers it with the time to retry.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "counters/counter_store.h"
#include "policy/classify.h"
#include "policy/counter_facts.h"

namespace ecomm {

struct RateSubject {
    std::string key;   // "sender:ID" or "client:ADDRESS"
    RateLimit limit;
};

// Whom the rate limit applies to: a registered sender (its entry's rate, else [rate] limit); else,
// with [rate] client_limit, an unregistered client's address (IPv6 by its /64). Nullopt: nobody.
std::optional<RateSubject> rate_subject(const Classification& classification, const MessageFacts& facts,
                                        const MainConfig& config);

class RateCounter {
public:
    RateCounter(CounterStore& store, const Clock& clock) : store_(store), clock_(clock) {}
    ~RateCounter();  // releases a reservation left open (the connection went away)
    RateCounter(const RateCounter&) = delete;
    RateCounter& operator=(const RateCounter&) = delete;

    // MAIL FROM: counts the message provisionally when its subject's limit allows it now.
    void reserve(const RateSubject& subject);

    // End of message, with the subject as now known (DKIM may have registered the sender). A
    // message not yet within its limit is held up to `hold` for room, calling progress at least
    // once a second while it waits.
    RateFacts finish(const RateSubject& subject, std::chrono::seconds hold, const std::function<void()>& progress);

    void commit();   // the message was accepted
    void release();  // aborted, rejected, deferred or discarded

private:
    void try_reserve(const RateSubject& subject);

    CounterStore& store_;
    const Clock& clock_;
    std::string key_;
    std::optional<RateReservation> reservation_;
    RateDecision last_;
};

}  // namespace ecomm

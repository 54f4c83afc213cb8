// Two-phase rate counting; see rate_counter.h.
#include "core/rate_counter.h"

#include <algorithm>

#include "core/logger.h"

namespace ecomm {

namespace {

// IPv6 clients are counted by /64 (one site's hosts share it); IPv4 by address.
std::string client_key(const IpAddress& address)
{
    if (address.is_v4()) return "client:" + address.to_string();
    auto bytes = address.bytes();
    std::fill(bytes.begin() + 8, bytes.end(), std::uint8_t{0});
    return "client:" + IpAddress::from_bytes(bytes).to_string() + "/64";
}

}  // namespace

std::optional<RateSubject> rate_subject(const Classification& classification, const MessageFacts& facts,
                                        const MainConfig& config)
{
    if (classification.sender_class == SenderClass::registered && classification.entry) {
        const RegistryEntry& entry = *classification.entry;
        RateSubject subject{"sender:" + entry.id, {entry.rate_limit.value_or(config.rate_limit),
                                                   entry.rate_burst.value_or(config.rate_burst)}};
        if (subject.limit.per_minute == 0) return std::nullopt;
        return subject;
    }
    if (config.client_rate_limit > 0 && facts.client_ip && classification.sender_class != SenderClass::internal)
        return RateSubject{client_key(*facts.client_ip), {config.client_rate_limit, 0}};
    return std::nullopt;
}

RateCounter::~RateCounter()
{
    try {
        release();
    } catch (const std::exception& e) {
        log::warning(std::string("could not release a rate reservation: ") + e.what());
    }
}

void RateCounter::try_reserve(const RateSubject& subject)
{
    last_ = store_.reserve(subject.key, subject.limit, clock_.now());
    key_ = subject.key;
    if (last_.reservation) {
        reservation_ = std::move(last_.reservation);
        reservation_->key = subject.key;
        last_.reservation.reset();
    }
}

void RateCounter::reserve(const RateSubject& subject)
{
    release();
    try_reserve(subject);
}

RateFacts RateCounter::finish(const RateSubject& subject, std::chrono::seconds hold,
                              const std::function<void()>& progress)
{
    if (key_ != subject.key) reserve(subject);  // a different sender than MAIL FROM suggested
    else if (!reservation_) try_reserve(subject);  // time has passed since MAIL FROM

    // Throttle: wait for room while it comes within the hold, in steps of at most a second.
    const auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(hold);
    std::chrono::milliseconds held{0};
    while (!reservation_ && last_.wait <= budget - held) {
        const auto step = std::clamp(last_.wait, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
        if (progress) progress();
        clock_.sleep(step);
        held += step;
        try_reserve(subject);
    }

    RateFacts facts;
    facts.key = subject.key;
    facts.limit = subject.limit.per_minute;
    facts.within = reservation_.has_value();
    facts.in_window = last_.in_window;
    facts.held = facts.within ? held : std::chrono::milliseconds{0};
    facts.retry_after = std::chrono::ceil<std::chrono::seconds>(last_.wait);
    return facts;
}

void RateCounter::commit()
{
    if (!reservation_) return;
    const RateReservation reservation = std::move(*reservation_);
    reservation_.reset();
    store_.commit(reservation, clock_.now());
}

void RateCounter::release()
{
    if (!reservation_) return;
    const RateReservation reservation = std::move(*reservation_);
    reservation_.reset();
    store_.release(reservation, clock_.now());
}

}  // namespace ecomm

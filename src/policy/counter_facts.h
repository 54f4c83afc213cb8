// What the shared counters said about one message: the facts the rate and bulk-hours rules
// decide on. The session fills them from the counter table; the rules never touch the table.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace ecomm {

// IV.B.3.c.vi-vii: present when a rate limit applies to the message.
struct RateFacts {
    std::string key;                        // "sender:ID" or "client:ADDRESS"
    int limit = 0;                          // messages a minute
    bool within = false;                    // counted within the limit (after any hold)
    int in_window = 0;                      // messages in the last minute, this one included if within
    std::chrono::milliseconds held{0};      // how long the message was held (throttled)
    std::chrono::seconds retry_after{0};    // not within: when the sender may try again
};

// IV.B.3.c.iv: present for messages of registered senders.
struct AudienceFacts {
    std::string campaign;                   // the campaign id (see policy/campaign.h)
    std::string source;                     // where it came from, for logs
    std::uint64_t estimate = 0;             // distinct university recipients of the campaign so far
    std::uint64_t declared = 0;             // the audience the campaign declared, if any
    std::uint64_t this_message = 0;         // university recipients of this transaction alone
    bool first_crossing = false;            // this message took the campaign over the threshold

    std::uint64_t audience() const { return std::max({estimate, declared, this_message}); }
};

}  // namespace ecomm

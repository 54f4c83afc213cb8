// Who is sending: the four sender classes of DESIGN.md, decided from the client address, SMTP
// AUTH, the envelope sender and the header From:, against the registry.
#pragma once
#include <string>
#include <vector>

#include "config/snapshot.h"
#include "policy/facts.h"

namespace ecomm {

enum class SenderClass { internal, registered, impersonation, external };
std::string_view to_string(SenderClass sender_class);

struct Classification {
    SenderClass sender_class = SenderClass::external;
    const RegistryEntry* entry = nullptr;          // the registered sender (class registered)
    const RegistryEntry* expired_entry = nullptr;  // matched, but past its expiry date
    std::string reason;                            // why, in plain words (for logs and JSON)
};

// Class 1, known from the connection and MAIL FROM alone: SMTP AUTH or an internal network.
bool is_internal_sender(const MessageFacts& facts, const MainConfig& config);

// The registry entries classify() may yet choose for a message whose DKIM results are not known
// (before the end of the message): the entry the client's network gives when that choice cannot
// change (one without an expiry date), else every entry on the client's network and every entry
// that one of signing_domains (the d= of the message's signatures) signs for. Internal senders
// are not excluded here.
std::vector<const RegistryEntry*> possible_entries(const MessageFacts& facts, const Snapshot& snapshot,
                                                   const std::vector<std::string>& signing_domains);

// Decides the class from everything in facts (the header From: counts when headers are there).
// snapshot must outlive the result (entries point into its registry).
Classification classify(const MessageFacts& facts, const Snapshot& snapshot);

}  // namespace ecomm

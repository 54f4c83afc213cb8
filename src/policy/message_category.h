// Transactional or promotional (eComm policy IV.C.1.a): only transactional communication, as
// CAN-SPAM defines it, may go without an unsubscribe link. The registry entry's category
// decides; an entry with "category = per_message" leaves it to a header the sending platform
// sets on each message (configurable name, e.g. X-Ecomm-Category: transactional).
//
// The default is strict: a per-message entry whose message lacks the header, carries an
// unknown value, or carries the header more than once with different values is promotional,
// and so must carry an unsubscribe mechanism. The header never overrides an entry that says
// promotional or transactional itself, and a message with no registry entry is promotional.
#pragma once
#include <string>
#include <string_view>

#include "config/registry.h"
#include "policy/facts.h"

namespace ecomm {

enum class MessageCategory { transactional, promotional };

struct CategoryDecision {
    MessageCategory category = MessageCategory::promotional;
    std::string reason;  // short, for the decision log, e.g. "X-Ecomm-Category: transactional"
};

// header_name: the configured per-message header (empty: none configured).
CategoryDecision decide_category(Category registered, const MessageFacts& facts, std::string_view header_name);
// entry may be null (no registry entry): promotional.
CategoryDecision decide_category(const RegistryEntry* entry, const MessageFacts& facts, std::string_view header_name);

std::string_view to_string(MessageCategory category);

}  // namespace ecomm

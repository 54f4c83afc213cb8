// Which campaign a message belongs to, and who in it counts toward the audience (IV.B.3.c.iv).
// Pure functions of the message facts.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/registry.h"
#include "policy/facts.h"

namespace ecomm {

struct CampaignId {
    std::string key;     // stored in the counter table: "SENDER|HEADER-NAME:value" or "SENDER|subject:...|DATE"
    std::string source;  // for logs: "Feedback-ID header", "subject and day"
};

// The first of campaign_headers present in the message (value trimmed, folding whitespace
// collapsed to one space), else the normalised Subject (lower-cased, whitespace collapsed,
// leading Re:/Fwd:/Fw: prefixes removed) and the local day. The sender id keeps two senders'
// campaigns apart. Keys longer than 200 bytes are cut (the table tells them apart by hash).
CampaignId campaign_of(const MessageFacts& facts, std::string_view sender_id,
                       const std::vector<std::string>& campaign_headers, const Date& today);

// stable_hash64 of every distinct lower-cased recipient in a university domain (or subdomain).
std::vector<std::uint64_t> university_recipient_hashes(const MessageFacts& facts,
                                                       const std::vector<std::string>& university_domains);

// The audience a message declares in header_name (a whole number, e.g. "X-Ecomm-Audience: 42000");
// 0 when absent, empty header name, or not a number.
std::uint64_t declared_audience(const MessageFacts& facts, const std::string& header_name);

}  // namespace ecomm

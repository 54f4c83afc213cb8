// The Authentication-Results header (RFC 8601) this host adds, and which incoming copies claim
// this host's authserv-id (they are forged or stale and must be removed first).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "policy/facts.h"

namespace ecomm {

// "mx.example.edu; spf=pass smtp.mailfrom=a@b.example; dkim=pass header.d=b.example header.s=s1"
std::string authentication_results_value(const std::string& authserv_id, const MessageFacts& facts);

// Whether an incoming Authentication-Results value claims this authserv-id (case-insensitive,
// comments and a quoted id allowed): a copy that is forged or stale and must be removed.
bool claims_authserv_id(std::string_view value, std::string_view authserv_id);

}  // namespace ecomm

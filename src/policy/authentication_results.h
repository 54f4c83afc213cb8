// The Authentication-Results header (RFC 8601) this host adds, and which incoming copies claim
// this host's authserv-id (they are forged or stale and must be removed first).
#pragma once
#include <string>
#include <vector>

#include "policy/facts.h"

namespace ecomm {

// "mx.example.edu; spf=pass smtp.mailfrom=a@b.example; dkim=pass header.d=b.example header.s=s1"
std::string authentication_results_value(const std::string& authserv_id, const MessageFacts& facts);

// 1-based occurrence numbers of the incoming Authentication-Results headers whose authserv-id
// is ours (case-insensitive), highest first, so that removing them one by one never shifts the
// index of one still to be removed.
std::vector<int> forged_authentication_results(const std::string& authserv_id,
                                               const std::vector<std::string>& incoming);

}  // namespace ecomm

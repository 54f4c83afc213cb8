// SMTP replies as the sender sees them:
//   550 5.7.1 <what failed, in plain words> (eComm policy IV.B.3.c.v; <policy URL>)
// single line, ASCII only (control characters become spaces, non-ASCII characters '?'), at most
// 980 characters in all with each '%' counted twice, status classes that agree (5xx with 5.x.x,
// 4xx with 4.x.x).  The '%' counts twice because libmilter's smfi_setreply takes it as "%%"
// (milter/apply.cpp escapes it) and refuses a text over 980 bytes: a reply full of '%' (a
// sender's file name) must still fit once escaped.
#pragma once
#include <string>
#include <string_view>

#include "policy/action.h"
#include "policy/verdict.h"

namespace ecomm {

constexpr std::size_t kMaxReplyLine = 980;

// The reply for a reject or tempfail decided by rule; policy_url may be empty.
Reply make_reply(Action action, const RuleResult& rule, const std::string& policy_url);

// The reply for an internal error under the configured on_error action (reject or tempfail).
Reply internal_error_reply(Action action);

// Replaces CR, LF and other control characters with spaces and each non-ASCII character (a
// whole UTF-8 sequence, else each byte) with '?', and cuts the text to at most max_bytes once
// each '%' is doubled.
std::string sanitize_reply_text(std::string_view text, std::size_t max_bytes);

}  // namespace ecomm

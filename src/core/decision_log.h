// The one syslog line per decision that postmasters grep and monitoring parses:
//   QUEUEID: action=reject rule=registration class=impersonation sender=- client=host[ip]
//   from=<a@b> rcpts=1 detail="..."
// In monitor mode: action=accept would=reject ... Values with blanks or quotes are quoted.
#pragma once
#include <string>

#include "policy/facts.h"
#include "policy/verdict.h"

namespace ecomm {

std::string format_decision(const Verdict& verdict, const MessageFacts& facts, bool monitor);

// key=value with the value quoted (and \" \\ escaped, control characters as \xHH) when needed.
std::string log_field(std::string_view key, std::string_view value);

}  // namespace ecomm

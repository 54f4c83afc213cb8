// The one syslog line per decision that postmasters grep and monitoring parses:
//   QUEUEID: action=reject rule=registration class=impersonation sender=- client=host[ip]
//   from=<a@b> rcpts=1 detail="..."
// In monitor mode: action=accept would=reject ... Values with blanks or quotes are quoted (\" and
// \\ escaped, control characters as \xHH).
// A message the rate rule held before accepting it carries throttled=MSms.
#pragma once
#include <string>

#include "policy/facts.h"
#include "policy/verdict.h"

namespace ecomm {

std::string format_decision(const Verdict& verdict, const MessageFacts& facts, bool monitor);

// The warning logged once per campaign, when its audience first goes over the threshold:
//   QUEUEID: warning=bulk-hours campaign="..." sender=ID audience=N threshold=T source="..."
std::string format_campaign_crossing(const Verdict& verdict, const MessageFacts& facts, int threshold);

}  // namespace ecomm

// Dates in the configured IANA time zone (cctz), for registry expiry and business hours.
#pragma once
#include <chrono>
#include <string>

#include "config/registry.h"

namespace ecomm {

// The calendar date at time now in zone (an unknown zone falls back to UTC; the loader has
// already refused unknown zones).
Date local_date(std::chrono::system_clock::time_point now, const std::string& zone);

// Whole days from `from` to `to` (negative when to is earlier).
long days_between(const Date& from, const Date& to);

}  // namespace ecomm

// Calendar arithmetic through cctz, so dates follow the zone's DST and offset history.
#include "policy/calendar.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

namespace ecomm {

Date local_date(std::chrono::system_clock::time_point now, const std::string& zone)
{
    cctz::time_zone tz;
    if (!cctz::load_time_zone(zone, &tz)) tz = cctz::utc_time_zone();
    const auto seconds = std::chrono::time_point_cast<cctz::seconds>(now);
    const cctz::civil_day day = cctz::civil_day(cctz::convert(seconds, tz));
    return Date{static_cast<int>(day.year()), day.month(), day.day()};
}

long days_between(const Date& from, const Date& to)
{
    return static_cast<long>(cctz::civil_day(to.year, to.month, to.day)
                             - cctz::civil_day(from.year, from.month, from.day));
}

}  // namespace ecomm

// Business hours: open and closed at the edges, weekends and holidays, the closing instant in UTC
// in winter and summer, both DST changes of 2026 in America/Denver (a skipped and a repeated
// hour), a southern-hemisphere zone, the config parsers, the holidays file and the reply's time.
#include <cppunit/extensions/HelperMacros.h>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <string>

#include "policy/business_hours.h"
#include "skip.h"
#include "temp_files.h"

namespace ecomm {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

TimePoint utc(int year, int month, int day, int hour, int minute, int second = 0)
{
    return cctz::convert(cctz::civil_second(year, month, day, hour, minute, second), cctz::utc_time_zone());
}

std::string iso(TimePoint time)
{
    return cctz::format("%Y-%m-%dT%H:%M:%SZ", std::chrono::floor<cctz::seconds>(time), cctz::utc_time_zone());
}

// "closed", or "open until <closes_at in UTC>": one string shows both halves of the state.
std::string state_at(const BusinessHours& hours, const std::string& zone, TimePoint now)
{
    const auto state = business_hours_at(hours, zone, now);
    if (!state.open) return "closed";
    return state.closes_at ? "open until " + iso(*state.closes_at) : "open without an end";
}

BusinessHours hours_of(const char* days, const char* clock)
{
    BusinessHours hours;
    hours.days = parse_business_days(days).value();
    const auto [open, close] = parse_business_hours(clock).value();
    hours.open_minute = open;
    hours.close_minute = close;
    return hours;
}

// False (and a counted skip) when the system has no data for zone: cctz would fall back to UTC
// and every expectation below would be wrong for a reason that is not the code's.
bool zone_available(const std::string& zone, const std::string& test)
{
    cctz::time_zone tz;
    if (cctz::load_time_zone(zone, &tz)) return true;
    test::skip(test + ": time zone " + zone + " not installed (package tzdata)");
    return false;
}

const std::string kDenver = "America/Denver";
using Days = std::array<bool, 7>;

}  // namespace

class BusinessHoursTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BusinessHoursTest);
    CPPUNIT_TEST(openOnAWeekdayMorning);
    CPPUNIT_TEST(closedBeforeOpeningAndFromClosingTime);
    CPPUNIT_TEST(closedAtTheWeekend);
    CPPUNIT_TEST(closedOnAHolidayFromTheFile);
    CPPUNIT_TEST(closesAtFivePmInWinterAndSummer);
    CPPUNIT_TEST(closeAtMidnightIsTheNextDay);
    CPPUNIT_TEST(touchingPeriodsEndAtTheFirstBreak);
    CPPUNIT_TEST(hoursWithoutABreakHaveNoEnd);
    CPPUNIT_TEST(springForwardWithCloseAfterTheGap);
    CPPUNIT_TEST(springForwardWithCloseInTheGap);
    CPPUNIT_TEST(springForwardWithOpeningInTheGap);
    CPPUNIT_TEST(fallBackCountsTheRepeatedHourTwice);
    CPPUNIT_TEST(fallBackWithCloseInTheRepeatedHour);
    CPPUNIT_TEST(mondaysAfterEachChangeCloseAtTheNewOffset);
    CPPUNIT_TEST(southernHemisphereUsesTheLocalDayAndOffset);
    CPPUNIT_TEST(unknownZoneCountsAsUtc);
    CPPUNIT_TEST(parsesBusinessDays);
    CPPUNIT_TEST(rejectsMalformedBusinessDays);
    CPPUNIT_TEST(parsesBusinessHours);
    CPPUNIT_TEST(rejectsMalformedBusinessHours);
    CPPUNIT_TEST(loadsAHolidaysFile);
    CPPUNIT_TEST(reportsBadHolidayLinesWithTheirNumbers);
    CPPUNIT_TEST(reportsAnUnreadableHolidaysFile);
    CPPUNIT_TEST(formatsLocalTimeWithAbbreviationAndOffset);
    CPPUNIT_TEST_SUITE_END();

public:
    // Default hours (Mon-Fri 08:00-17:00). Monday 2026-11-30 is in MST (UTC-7).
    void openOnAWeekdayMorning()
    {
        if (!zone_available(kDenver, "openOnAWeekdayMorning")) return;
        const auto state = business_hours_at(BusinessHours{}, kDenver, utc(2026, 11, 30, 17, 0));  // 10:00 MST
        CPPUNIT_ASSERT(state.open);
        CPPUNIT_ASSERT(state.closes_at);
        CPPUNIT_ASSERT_EQUAL(std::string("2026-12-01T00:00:00Z"), iso(*state.closes_at));
    }

    void closedBeforeOpeningAndFromClosingTime()
    {
        if (!zone_available(kDenver, "closedBeforeOpeningAndFromClosingTime")) return;
        const BusinessHours hours;
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 30, 14, 59)));  // 07:59
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 30, 14, 59, 59)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-01T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 30, 15, 0)));  // 08:00
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-01T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 30, 23, 59, 59)));  // 16:59:59
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 12, 1, 0, 0)));  // 17:00
    }

    void closedAtTheWeekend()
    {
        if (!zone_available(kDenver, "closedAtTheWeekend")) return;
        const BusinessHours hours;
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 28, 17, 0)));  // Sat 10:00
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 29, 17, 0)));  // Sun 10:00
        // The local day decides, not the UTC one: with all-day hours, Friday 20:00 MST (Saturday
        // 03:00 UTC) is open, and Sunday 23:30 MST (Monday 06:30 UTC) is closed.
        const auto all_day = hours_of("Mon-Fri", "00:00-24:00");
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-28T07:00:00Z"),
                             state_at(all_day, kDenver, utc(2026, 11, 28, 3, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(all_day, kDenver, utc(2026, 11, 30, 6, 30)));
    }

    void closedOnAHolidayFromTheFile()
    {
        if (!zone_available(kDenver, "closedOnAHolidayFromTheFile")) return;
        test::TempDir dir;
        Diagnostics diagnostics;
        BusinessHours hours;
        hours.holidays = load_holidays(dir.write("holidays", "2026-11-26  # Thanksgiving\n"), diagnostics);
        CPPUNIT_ASSERT(diagnostics.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 26, 17, 0)));  // Thu 10:00
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-26T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 25, 17, 0)));  // Wed 10:00
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-28T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 27, 17, 0)));  // Fri 10:00
        // The holiday is the local date: Wednesday 20:00 MST is already Thursday in UTC, and
        // Thursday 20:00 MST (Friday in UTC) is still the holiday.
        hours.open_minute = 0;
        hours.close_minute = 1440;
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-26T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 26, 3, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 27, 3, 0)));
    }

    // 17:00 MST is 00:00 UTC the next day; 17:00 MDT is 23:00 UTC the same day.
    void closesAtFivePmInWinterAndSummer()
    {
        if (!zone_available(kDenver, "closesAtFivePmInWinterAndSummer")) return;
        const BusinessHours hours;
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-01T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 30, 22, 0)));  // 15:00 MST
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-07-15T23:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 7, 15, 16, 0)));  // Wed 10:00 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 7, 15, 23, 0)));  // 17:00 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 7, 15, 13, 59)));  // 07:59 MDT
    }

    void closeAtMidnightIsTheNextDay()
    {
        if (!zone_available(kDenver, "closeAtMidnightIsTheNextDay")) return;
        const auto hours = hours_of("Mon-Fri", "22:00-24:00");
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-01T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 1, 6, 59, 59)));  // Mon 23:59:59 MST
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 12, 1, 7, 0)));  // Tue 00:00
        // Friday night closes at Saturday's midnight even though Saturday is no business day.
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-05T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 5, 5, 0)));  // Fri 22:00 MST
    }

    // 24:00 on a business day followed by 00:00 of the next is no break: business hours end
    // when the run of days does (the weekend, a holiday), not at the first midnight.
    void touchingPeriodsEndAtTheFirstBreak()
    {
        if (!zone_available(kDenver, "touchingPeriodsEndAtTheFirstBreak")) return;
        auto hours = hours_of("Mon-Fri", "00:00-24:00");
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-05T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 1, 20, 0)));  // Tue 13:00 MST
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-05T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 5, 6, 59, 59)));  // Fri 23:59:59
        hours.holidays.insert(Date{2026, 12, 3});
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-03T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 1, 20, 0)));  // until Thursday
        // A wrapped range over the weekend: Fri-Mon runs Friday 00:00 to Tuesday 00:00.
        hours = hours_of("Fri-Mon", "00:00-24:00");
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-08T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 4, 20, 0)));  // Fri 13:00 MST
        // Periods that do not touch end at their own close.
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-02T00:00:00Z"),
                             state_at(hours_of("Mon-Fri", "00:00-17:00"), kDenver, utc(2026, 12, 1, 20, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-02T07:00:00Z"),
                             state_at(hours_of("Mon-Fri", "00:01-24:00"), kDenver, utc(2026, 12, 1, 20, 0)));
    }

    // Every day all day: the search stops 8 days ahead and says there is no end; a holiday within
    // them is the end. Across the fall-back night the day is 25 hours long.
    void hoursWithoutABreakHaveNoEnd()
    {
        if (!zone_available(kDenver, "hoursWithoutABreakHaveNoEnd")) return;
        auto hours = hours_of("Sun-Sat", "00:00-24:00");
        CPPUNIT_ASSERT_EQUAL(std::string("open without an end"), state_at(hours, kDenver, utc(2026, 12, 1, 20, 0)));
        hours.holidays.insert(Date{2026, 12, 8});
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-12-08T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 12, 1, 20, 0)));
        hours.holidays = {Date{2026, 11, 2}};
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-02T07:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 10, 31, 18, 0)));  // Sat 12:00 MDT
    }

    // Sunday 2026-03-08: the clock goes from 01:59:59 MST (08:59:59Z) to 03:00 MDT (09:00Z).
    // 01:00-03:00 is then one hour long: 08:00Z to 09:00Z.
    void springForwardWithCloseAfterTheGap()
    {
        if (!zone_available(kDenver, "springForwardWithCloseAfterTheGap")) return;
        const auto hours = hours_of("Sun-Sat", "01:00-03:00");
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 8, 7, 59, 59)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-08T09:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 8, 8, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-08T09:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 8, 8, 59, 59)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 8, 9, 0)));
        // The days either side are two hours long, at their own offsets.
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-07T10:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 7, 8, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-09T09:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 9, 7, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 9, 6, 59, 59)));
    }

    // A close of 02:30 never shows on the clock that day: the period ends at the jump (09:00Z,
    // when the clock first reads later than 02:30), not at 02:30 MST (09:30Z) or MDT (08:30Z).
    void springForwardWithCloseInTheGap()
    {
        if (!zone_available(kDenver, "springForwardWithCloseInTheGap")) return;
        const auto hours = hours_of("Sun-Sat", "01:00-02:30");
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-08T09:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 8, 8, 40)));  // 01:40 MST
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 8, 9, 0)));  // 03:00 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 8, 9, 20)));
    }

    // An opening of 02:30 that day: the clock reads later than 02:30 from 03:00 MDT, so it is open
    // from the jump.
    void springForwardWithOpeningInTheGap()
    {
        if (!zone_available(kDenver, "springForwardWithOpeningInTheGap")) return;
        const auto hours = hours_of("Sun-Sat", "02:30-05:00");
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 8, 8, 59, 59)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-08T11:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 8, 9, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 8, 11, 0)));
    }

    // Sunday 2026-11-01: the clock reads 01:00-01:59 in MDT (07:00Z-07:59Z) and again in MST
    // (08:00Z-08:59Z). 01:00-03:00 is then three hours long: 07:00Z to 10:00Z.
    void fallBackCountsTheRepeatedHourTwice()
    {
        if (!zone_available(kDenver, "fallBackCountsTheRepeatedHourTwice")) return;
        const auto hours = hours_of("Sun-Sat", "01:00-03:00");
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 1, 6, 59, 59)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-01T10:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 1, 7, 0)));  // 01:00 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-01T10:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 1, 8, 30)));  // 01:30 MST
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-01T10:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 1, 9, 59, 59)));  // 02:59:59 MST
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 1, 10, 0)));
        // The days either side are two hours long.
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-10-31T09:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 10, 31, 7, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-02T10:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 2, 8, 0)));
    }

    // A close of 01:30 shows on the clock twice: each pass through 00:00-01:29 ends at its own 01:30.
    void fallBackWithCloseInTheRepeatedHour()
    {
        if (!zone_available(kDenver, "fallBackWithCloseInTheRepeatedHour")) return;
        const auto hours = hours_of("Sun-Sat", "00:00-01:30");
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-01T07:30:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 1, 6, 0)));  // 00:00 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-01T07:30:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 1, 7, 10)));  // 01:10 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 1, 7, 45)));  // 01:45 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-01T08:30:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 1, 8, 10)));  // 01:10 MST
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 1, 8, 30)));  // 01:30 MST
    }

    void mondaysAfterEachChangeCloseAtTheNewOffset()
    {
        if (!zone_available(kDenver, "mondaysAfterEachChangeCloseAtTheNewOffset")) return;
        const BusinessHours hours;
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-09T23:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 9, 15, 0)));  // 09:00 MDT
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-03T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 11, 2, 16, 0)));  // 09:00 MST
        // The Fridays before: still at the old offsets.
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-03-07T00:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 3, 6, 16, 0)));  // 09:00 MST
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-10-30T23:00:00Z"),
                             state_at(hours, kDenver, utc(2026, 10, 30, 15, 0)));  // 09:00 MDT
        // Mondays 07:30 local: closed, whichever offset applies.
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 3, 9, 13, 30)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, kDenver, utc(2026, 11, 2, 14, 30)));
    }

    // Pacific/Auckland: NZDT (UTC+13) in January, NZST (UTC+12) in July; the local Monday is a
    // Sunday in UTC.
    void southernHemisphereUsesTheLocalDayAndOffset()
    {
        const std::string auckland = "Pacific/Auckland";
        if (!zone_available(auckland, "southernHemisphereUsesTheLocalDayAndOffset")) return;
        const BusinessHours hours;
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-01-12T04:00:00Z"),
                             state_at(hours, auckland, utc(2026, 1, 11, 20, 0)));  // Mon 09:00 NZDT
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-07-13T05:00:00Z"),
                             state_at(hours, auckland, utc(2026, 7, 12, 21, 0)));  // Mon 09:00 NZST
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, auckland, utc(2026, 1, 9, 21, 0)));  // Sat 10:00
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(hours, auckland, utc(2026, 1, 12, 4, 0)));  // Mon 17:00
    }

    void unknownZoneCountsAsUtc()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("open until 2026-11-30T17:00:00Z"),
                             state_at(BusinessHours{}, "Nowhere/Atlantis", utc(2026, 11, 30, 10, 0)));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), state_at(BusinessHours{}, "Nowhere/Atlantis", utc(2026, 11, 30, 17, 0)));
    }

    void parsesBusinessDays()
    {
        //                                 Sun    Mon    Tue    Wed    Thu    Fri    Sat
        const Days weekdays{false, true, true, true, true, true, false};
        const Days all{true, true, true, true, true, true, true};
        CPPUNIT_ASSERT(parse_business_days("Mon-Fri") == weekdays);
        CPPUNIT_ASSERT(parse_business_days(" mon - FRI ") == weekdays);
        CPPUNIT_ASSERT(parse_business_days("mon,wed, Fri") == (Days{false, true, false, true, false, true, false}));
        CPPUNIT_ASSERT(parse_business_days("Sat-Sun") == (Days{true, false, false, false, false, false, true}));
        CPPUNIT_ASSERT(parse_business_days("Fri-Mon") == (Days{true, true, false, false, false, true, true}));
        CPPUNIT_ASSERT(parse_business_days("Sun-Sat") == all);
        CPPUNIT_ASSERT(parse_business_days("Mon-Sun") == all);
        CPPUNIT_ASSERT(parse_business_days("Tue") == (Days{false, false, true, false, false, false, false}));
        CPPUNIT_ASSERT(parse_business_days("Thu-Thu") == (Days{false, false, false, false, true, false, false}));
        CPPUNIT_ASSERT(parse_business_days("Mon-Wed, Tue-Thu, mon") == (Days{false, true, true, true, true, false, false}));
        CPPUNIT_ASSERT(parse_business_days("None") == Days{});
    }

    void rejectsMalformedBusinessDays()
    {
        for (const char* bad : {"", "  ", "Monday", "Mon-", "-Fri", "Mon,,Tue", "Mon,", ",", "Mon-Tue-Wed", "none,Mon",
                                "Mon;Tue", "Mon Tue", "xyz", "all", "M-F"})
            CPPUNIT_ASSERT_MESSAGE(bad, !parse_business_days(bad));
    }

    void parsesBusinessHours()
    {
        CPPUNIT_ASSERT(parse_business_hours("08:00-17:00") == std::make_optional(std::pair{480, 1020}));
        CPPUNIT_ASSERT(parse_business_hours("00:00-24:00") == std::make_optional(std::pair{0, 1440}));
        CPPUNIT_ASSERT(parse_business_hours(" 09:30-10:45\t") == std::make_optional(std::pair{570, 645}));
        CPPUNIT_ASSERT(parse_business_hours("23:59-24:00") == std::make_optional(std::pair{1439, 1440}));
    }

    void rejectsMalformedBusinessHours()
    {
        for (const char* bad : {"", "8:00-17:00", "08:00-08:00", "17:00-08:00", "24:00-24:00", "08:00-24:01",
                                "08:60-09:00", "25:00-26:00", "08:00 - 17:00", "08:00-17:00x", "08.00-17.00",
                                "08:00", "08:00-", "0800-1700", "-1:00-17:00", "08:00-17:0a"})
            CPPUNIT_ASSERT_MESSAGE(bad, !parse_business_hours(bad));
    }

    void loadsAHolidaysFile()
    {
        test::TempDir dir;
        Diagnostics diagnostics;
        const auto holidays = load_holidays(
            dir.write("holidays", "# University holidays\n\n2026-11-26\n  2026-11-27   # day after\r\n"
                                  "2026-12-25#Christmas\n2026-12-25\n\t\n2027-01-01"),
            diagnostics);
        CPPUNIT_ASSERT(diagnostics.empty());
        CPPUNIT_ASSERT((holidays == std::set<Date>{{2026, 11, 26}, {2026, 11, 27}, {2026, 12, 25}, {2027, 1, 1}}));

        CPPUNIT_ASSERT(load_holidays(dir.write("empty", "# nothing yet\n"), diagnostics).empty());
        CPPUNIT_ASSERT(diagnostics.empty());
    }

    void reportsBadHolidayLinesWithTheirNumbers()
    {
        test::TempDir dir;
        Diagnostics diagnostics;
        const auto path = dir.write("holidays", "2026-12-25\n\n2026-13-01\n# fine\n26-12-25 # short year\n"
                                                "2026-02-29\n2026-07-04 2026-07-05\n2027-01-01\n");
        const auto holidays = load_holidays(path, diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, diagnostics.size());
        CPPUNIT_ASSERT_EQUAL(path + ":3: invalid holiday '2026-13-01' (expected YYYY-MM-DD)", diagnostics[0].to_string());
        CPPUNIT_ASSERT_EQUAL(path + ":5: invalid holiday '26-12-25' (expected YYYY-MM-DD)", diagnostics[1].to_string());
        CPPUNIT_ASSERT_EQUAL(path + ":6: invalid holiday '2026-02-29' (expected YYYY-MM-DD)", diagnostics[2].to_string());
        CPPUNIT_ASSERT_EQUAL(7, diagnostics[3].line);
        CPPUNIT_ASSERT(diagnostics[3].severity == Diagnostic::Severity::error);
        CPPUNIT_ASSERT(has_errors(diagnostics));
        CPPUNIT_ASSERT((holidays == std::set<Date>{{2026, 12, 25}, {2027, 1, 1}}));
    }

    void reportsAnUnreadableHolidaysFile()
    {
        test::TempDir dir;
        Diagnostics diagnostics;
        CPPUNIT_ASSERT(load_holidays(dir.path("missing"), diagnostics).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, diagnostics.size());
        CPPUNIT_ASSERT_EQUAL(0, diagnostics[0].line);
        CPPUNIT_ASSERT(diagnostics[0].severity == Diagnostic::Severity::error);
        CPPUNIT_ASSERT_EQUAL(dir.path("missing") + ": cannot read holidays file: No such file or directory",
                             diagnostics[0].to_string());

        diagnostics.clear();
        CPPUNIT_ASSERT(load_holidays(dir.path(), diagnostics).empty());  // a directory
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, diagnostics.size());
        CPPUNIT_ASSERT_EQUAL(std::string("cannot read holidays file: Is a directory"), diagnostics[0].message);
    }

    void formatsLocalTimeWithAbbreviationAndOffset()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("2026-11-30 17:00 UTC (UTC+00:00)"),
                             format_local_time(utc(2026, 11, 30, 17, 0, 42), "UTC"));
        if (!zone_available(kDenver, "formatsLocalTimeWithAbbreviationAndOffset")) return;
        CPPUNIT_ASSERT_EQUAL(std::string("2026-11-30 17:00 MST (UTC-07:00)"),
                             format_local_time(utc(2026, 12, 1, 0, 0), kDenver));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-07-15 17:00 MDT (UTC-06:00)"),
                             format_local_time(utc(2026, 7, 15, 23, 0), kDenver));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-11-01 01:30 MDT (UTC-06:00)"),
                             format_local_time(utc(2026, 11, 1, 7, 30), kDenver));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-11-01 01:30 MST (UTC-07:00)"),
                             format_local_time(utc(2026, 11, 1, 8, 30), kDenver));
        if (!zone_available("Europe/London", "formatsLocalTimeWithAbbreviationAndOffset")) return;
        CPPUNIT_ASSERT_EQUAL(std::string("2026-07-15 17:00 BST (UTC+01:00)"),
                             format_local_time(utc(2026, 7, 15, 16, 0), "Europe/London"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BusinessHoursTest);

}  // namespace ecomm

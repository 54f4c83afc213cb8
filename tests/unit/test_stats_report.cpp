// ecomm-milter-stats' report (counters/stats_report.h) from hand-built counter views: which
// campaigns are held inside and outside business hours, JSON fields and their types, sorting,
// and the text report's fill line.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "counters/counter_table.h"
#include "counters/stats_report.h"

using namespace ecomm;
using namespace std::chrono;

namespace {

// A UTC instant, e.g. utc(2026y / March / 4, 17h).
SystemTime utc(year_month_day day, hours hour, minutes minute = minutes{0})
{
    return SystemTime{sys_days{day}} + hour + minute;
}

// America/Denver is UTC-7 in early March 2026 (DST starts on March 8).
constexpr const char* kZone = "America/Denver";
const SystemTime kWednesdayMorning = utc(2026y / March / 4, hours{17});  // 10:00 MST
const SystemTime kWednesdayEvening = utc(2026y / March / 5, hours{1});   // 18:00 MST on the 4th
const SystemTime kSaturdayMorning = utc(2026y / March / 7, hours{17});   // 10:00 MST

StatsSettings settings()
{
    StatsSettings s;
    s.rate_limit = 30;
    s.bulk_threshold = 15000;
    s.time_zone = kZone;  // business hours: the default Mon-Fri 08:00-17:00
    return s;
}

RateEntryView rate(std::string key, int in_window, int pending, std::uint64_t total, SystemTime last_used)
{
    RateEntryView r;
    r.key = std::move(key);
    r.in_window = in_window;
    r.pending = pending;
    r.total = total;
    r.last_used = last_used;
    return r;
}

CampaignEntryView campaign(std::string key, std::string sender, std::uint64_t estimate, std::uint64_t declared = 0)
{
    CampaignEntryView c;
    c.key = std::move(key);
    c.sender = std::move(sender);
    c.estimate = estimate;
    c.declared = declared;
    return c;
}

CounterView sample_view(SystemTime now)
{
    CounterView view;
    view.location = "/var/lib/ecomm-milter/counters";
    view.rate_slots = 4096;
    view.campaign_slots = 128;
    view.evictions = 5;
    view.rates = {rate("sender:cvent", 3, 0, 40, now - seconds{20}),
                  rate("sender:marketing-cloud", 12, 1, 3400, now - seconds{1}),
                  rate("client:203.0.113.9", 3, 0, 7, now - seconds{50})};
    view.campaigns = {campaign("list:small.example.edu", "cvent", 120),
                      campaign("fb:spring-appeal", "marketing-cloud", 16000)};
    return view;
}

nlohmann::json json_of(const CounterView& view, SystemTime now, const StatsSettings& s = settings())
{
    return nlohmann::json::parse(format_stats_json(view, now, s));
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

class StatsReportTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StatsReportTest);
    CPPUNIT_TEST(largeCampaignIsHeldDuringBusinessHours);
    CPPUNIT_TEST(largeCampaignIsNotHeldOutsideBusinessHours);
    CPPUNIT_TEST(holidayHoldsNothing);
    CPPUNIT_TEST(audienceIsTheLargerOfEstimateAndDeclared);
    CPPUNIT_TEST(campaignAtThresholdIsNotHeld);
    CPPUNIT_TEST(jsonHasEveryFieldWithItsType);
    CPPUNIT_TEST(sendersAreSortedBusiestFirstThenByKey);
    CPPUNIT_TEST(campaignsAreSortedLargestFirst);
    CPPUNIT_TEST(textShowsFillLocationAndEntries);
    CPPUNIT_TEST(textSaysWhenHeldAndWhenNot);
    CPPUNIT_TEST(emptyTable);
    CPPUNIT_TEST(hostileKeysStayPrintableAndValidJson);
    CPPUNIT_TEST(ordinaryKeysAreShownAsTheyAre);
    CPPUNIT_TEST(everyShownFormNamesExactlyItsKey);
    CPPUNIT_TEST(shownFormsTakeAnyHexCaseAndRefuseBadEscapes);
    CPPUNIT_TEST(aKeyFromMailIsResetByItsShownForm);
    CPPUNIT_TEST(isoTimesAreUtcToTheSecond);
    CPPUNIT_TEST(monitorModeHoldsNothing);
    CPPUNIT_TEST(onlyActionsThatKeepTheMailHold);
    CPPUNIT_TEST_SUITE_END();

public:
    void largeCampaignIsHeldDuringBusinessHours()
    {
        const auto doc = json_of(sample_view(kWednesdayMorning), kWednesdayMorning);
        const auto& big = doc["campaigns"][0];
        CPPUNIT_ASSERT_EQUAL(std::string("fb:spring-appeal"), big["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(true, big["held"].get<bool>());
        // It may go once business hours end: 17:00 local that day.
        const std::string expected = format_local_time(utc(2026y / March / 5, hours{0}), kZone);
        CPPUNIT_ASSERT_EQUAL(expected, big["send_after"].get<std::string>());
        CPPUNIT_ASSERT(contains(expected, "2026-03-04 17:00"));
        // The small one beside it is not held.
        CPPUNIT_ASSERT_EQUAL(false, doc["campaigns"][1]["held"].get<bool>());
        CPPUNIT_ASSERT(doc["campaigns"][1]["send_after"].is_null());
    }

    void largeCampaignIsNotHeldOutsideBusinessHours()
    {
        for (const SystemTime now : {kWednesdayEvening, kSaturdayMorning}) {
            const auto doc = json_of(sample_view(now), now);
            const auto& big = doc["campaigns"][0];
            CPPUNIT_ASSERT_EQUAL(std::uint64_t{16000}, big["audience"].get<std::uint64_t>());
            CPPUNIT_ASSERT_EQUAL(false, big["held"].get<bool>());
            CPPUNIT_ASSERT(big["send_after"].is_null());
        }
    }

    void holidayHoldsNothing()
    {
        StatsSettings s = settings();
        s.business_hours.holidays.insert(Date{2026, 3, 4});
        const auto doc = json_of(sample_view(kWednesdayMorning), kWednesdayMorning, s);
        CPPUNIT_ASSERT_EQUAL(false, doc["campaigns"][0]["held"].get<bool>());
    }

    void audienceIsTheLargerOfEstimateAndDeclared()
    {
        CounterView view;
        view.campaigns = {campaign("declared-big", "cvent", 100, 20000)};
        const auto doc = json_of(view, kWednesdayMorning);
        const auto& c = doc["campaigns"][0];
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{100}, c["estimate"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20000}, c["declared"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20000}, c["audience"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(true, c["held"].get<bool>());
    }

    void campaignAtThresholdIsNotHeld()
    {
        // "exceeds 15,000": exactly the threshold is allowed; one more is not.
        CounterView view;
        view.campaigns = {campaign("at", "cvent", 15000), campaign("over", "cvent", 15001)};
        const auto doc = json_of(view, kWednesdayMorning);
        CPPUNIT_ASSERT_EQUAL(std::string("over"), doc["campaigns"][0]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(true, doc["campaigns"][0]["held"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("at"), doc["campaigns"][1]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(false, doc["campaigns"][1]["held"].get<bool>());

        // A lower configured threshold holds the smaller one too.
        StatsSettings low = settings();
        low.bulk_threshold = 100;
        const auto lowered = json_of(view, kWednesdayMorning, low);
        CPPUNIT_ASSERT_EQUAL(true, lowered["campaigns"][1]["held"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{100}, lowered["campaigns"][1]["threshold"].get<std::uint64_t>());
    }

    void jsonHasEveryFieldWithItsType()
    {
        const auto doc = json_of(sample_view(kWednesdayMorning), kWednesdayMorning);
        CPPUNIT_ASSERT(doc.is_object());
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, doc.size());

        const auto& table = doc["table"];
        CPPUNIT_ASSERT_EQUAL(std::string("/var/lib/ecomm-milter/counters"), table["location"].get<std::string>());
        CPPUNIT_ASSERT(table["rate_slots"].is_number_unsigned());
        CPPUNIT_ASSERT_EQUAL(4096, table["rate_slots"].get<int>());
        CPPUNIT_ASSERT_EQUAL(3, table["rate_used"].get<int>());
        CPPUNIT_ASSERT_EQUAL(128, table["campaign_slots"].get<int>());
        CPPUNIT_ASSERT_EQUAL(2, table["campaign_used"].get<int>());
        CPPUNIT_ASSERT_EQUAL(5, table["evictions"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::size_t{6}, table.size());

        CPPUNIT_ASSERT(doc["senders"].is_array());
        const auto& mc = doc["senders"][0];
        CPPUNIT_ASSERT_EQUAL(std::size_t{5}, mc.size());
        CPPUNIT_ASSERT_EQUAL(std::string("sender:marketing-cloud"), mc["key"].get<std::string>());
        CPPUNIT_ASSERT(mc["in_last_minute"].is_number_integer());
        CPPUNIT_ASSERT_EQUAL(12, mc["in_last_minute"].get<int>());
        CPPUNIT_ASSERT_EQUAL(1, mc["pending"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3400}, mc["total"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::string("2026-03-04T16:59:59Z"), mc["last_used"].get<std::string>());

        CPPUNIT_ASSERT(doc["campaigns"].is_array());
        const auto& c = doc["campaigns"][1];
        CPPUNIT_ASSERT_EQUAL(std::size_t{9}, c.size());
        CPPUNIT_ASSERT_EQUAL(std::string("list:small.example.edu"), c["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"), c["sender"].get<std::string>());
        CPPUNIT_ASSERT(c["estimate"].is_number_unsigned());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{120}, c["estimate"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, c["declared"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{120}, c["audience"].get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{15000}, c["threshold"].get<std::uint64_t>());
        CPPUNIT_ASSERT(c["held"].is_boolean());
        CPPUNIT_ASSERT(c["would_be_held"].is_boolean());
        CPPUNIT_ASSERT(c.contains("send_after"));
        CPPUNIT_ASSERT(c["send_after"].is_null());
        CPPUNIT_ASSERT(doc["campaigns"][0]["send_after"].is_string());
    }

    void sendersAreSortedBusiestFirstThenByKey()
    {
        const auto doc = json_of(sample_view(kWednesdayMorning), kWednesdayMorning);
        const auto& senders = doc["senders"];
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, senders.size());
        CPPUNIT_ASSERT_EQUAL(std::string("sender:marketing-cloud"), senders[0]["key"].get<std::string>());
        // Two with 3 messages: by key.
        CPPUNIT_ASSERT_EQUAL(std::string("client:203.0.113.9"), senders[1]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("sender:cvent"), senders[2]["key"].get<std::string>());

        // The text lists them in the same order.
        const std::string text = format_stats_text(sample_view(kWednesdayMorning), kWednesdayMorning, settings());
        const auto mc = text.find("sender:marketing-cloud");
        const auto client = text.find("client:203.0.113.9");
        const auto cvent = text.find("sender:cvent");
        CPPUNIT_ASSERT(mc != std::string::npos && client != std::string::npos && cvent != std::string::npos);
        CPPUNIT_ASSERT(mc < client);
        CPPUNIT_ASSERT(client < cvent);
    }

    void campaignsAreSortedLargestFirst()
    {
        CounterView view;
        view.campaigns = {campaign("b", "x", 10), campaign("a", "x", 10), campaign("declared", "x", 5, 500),
                          campaign("big", "x", 300)};
        const auto doc = json_of(view, kSaturdayMorning);
        const auto& campaigns = doc["campaigns"];
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, campaigns.size());
        CPPUNIT_ASSERT_EQUAL(std::string("declared"), campaigns[0]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("big"), campaigns[1]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), campaigns[2]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("b"), campaigns[3]["key"].get<std::string>());
    }

    void textShowsFillLocationAndEntries()
    {
        const std::string text = format_stats_text(sample_view(kWednesdayMorning), kWednesdayMorning, settings());
        CPPUNIT_ASSERT(contains(text, "rate slots: 3/4096 used, campaign slots: 2/128 used, evictions: 5\n"));
        CPPUNIT_ASSERT(contains(text, "/var/lib/ecomm-milter/counters"));
        CPPUNIT_ASSERT(contains(text, "default limit 30 a minute"));
        CPPUNIT_ASSERT(contains(text, "threshold 15000"));
        CPPUNIT_ASSERT(contains(text, "2026-03-04T16:59:59Z"));  // marketing-cloud's last use
        CPPUNIT_ASSERT(contains(text, "3400"));
        CPPUNIT_ASSERT(contains(text, "fb:spring-appeal"));
        CPPUNIT_ASSERT(contains(text, "16000"));
        CPPUNIT_ASSERT(!contains(text, "(none)"));
        // No line ends in blanks (the table pads columns, never the last one).
        CPPUNIT_ASSERT(!contains(text, " \n"));
    }

    void textSaysWhenHeldAndWhenNot()
    {
        const std::string open = format_stats_text(sample_view(kWednesdayMorning), kWednesdayMorning, settings());
        const std::string closes = format_local_time(utc(2026y / March / 5, hours{0}), kZone);
        CPPUNIT_ASSERT(contains(open, "held: may be sent from " + closes));
        CPPUNIT_ASSERT(contains(open, "are open until " + closes));

        const std::string closed = format_stats_text(sample_view(kSaturdayMorning), kSaturdayMorning, settings());
        CPPUNIT_ASSERT(!contains(closed, "held:"));
        CPPUNIT_ASSERT(contains(closed, "over threshold, not held (outside business hours)"));
        CPPUNIT_ASSERT(contains(closed, "business hours (America/Denver) are closed"));
    }

    void emptyTable()
    {
        CounterView view;
        view.location = "/tmp/t";
        view.rate_slots = 64;
        view.campaign_slots = 8;
        const auto doc = json_of(view, kWednesdayMorning);
        CPPUNIT_ASSERT(doc["senders"].is_array());
        CPPUNIT_ASSERT(doc["senders"].empty());
        CPPUNIT_ASSERT(doc["campaigns"].is_array());
        CPPUNIT_ASSERT(doc["campaigns"].empty());
        CPPUNIT_ASSERT_EQUAL(0, doc["table"]["rate_used"].get<int>());
        const std::string text = format_stats_text(view, kWednesdayMorning, settings());
        CPPUNIT_ASSERT(contains(text, "rate slots: 0/64 used, campaign slots: 0/8 used, evictions: 0"));
        CPPUNIT_ASSERT(contains(text, "senders (default limit 30 a minute):\n  (none)\n"));
        CPPUNIT_ASSERT(contains(text, "university recipients):\n  (none)\n"));
    }

    void hostileKeysStayPrintableAndValidJson()
    {
        CounterView view;
        // A key cut inside a UTF-8 character, and one with a terminal escape from a header: both
        // shown escaped, exactly, in both reports (the form --reset takes).
        view.rates = {rate("sender:bell\x07", 1, 0, 1, kWednesdayMorning)};
        view.campaigns = {campaign("caf\xc3", "x\x1b", 1), campaign("evil\x1b[2Jkey", "x", 2)};
        std::string json;
        CPPUNIT_ASSERT_NO_THROW(json = format_stats_json(view, kWednesdayMorning, settings()));
        const auto doc = nlohmann::json::parse(json);
        CPPUNIT_ASSERT_EQUAL(std::string("escaped:sender:bell\\x07"), doc["senders"][0]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("escaped:evil\\x1b[2Jkey"), doc["campaigns"][0]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("escaped:caf\\xc3"), doc["campaigns"][1]["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("escaped:x\\x1b"), doc["campaigns"][1]["sender"].get<std::string>());

        const std::string text = format_stats_text(view, kWednesdayMorning, settings());
        CPPUNIT_ASSERT(!contains(text, "\x1b"));
        CPPUNIT_ASSERT(!contains(text, "\x07"));
        CPPUNIT_ASSERT(!contains(text, "\xc3"));
        CPPUNIT_ASSERT(contains(text, "  escaped:sender:bell\\x07  "));
        CPPUNIT_ASSERT(contains(text, "  escaped:evil\\x1b[2Jkey  "));
        CPPUNIT_ASSERT(contains(text, "  escaped:caf\\xc3 "));
        CPPUNIT_ASSERT(contains(text, "  escaped:x\\x1b "));
    }

    void ordinaryKeysAreShownAsTheyAre()
    {
        // UTF-8, spaces and backslashes too: only a key that is shown escaped is read unescaped.
        for (const std::string key : {"sender:marketing-cloud", "client:2001:db8:1:2::/64", "list:a\\b",
                                      "fb:caf\xc3\xa9 d\xc3\xa9j\xc3\xa0", "x:escaped:y", "\xf0\x9f\x93\xa7",
                                      "\xc2\xa0nbsp"}) {
            CPPUNIT_ASSERT_EQUAL(key, shown_key(key));
            CPPUNIT_ASSERT_EQUAL(key, key_from_shown(key).value_or("(none)"));
        }
        CounterView view;
        view.rates = {rate("sender:list\\x07", 1, 0, 1, kWednesdayMorning)};
        CPPUNIT_ASSERT_EQUAL(std::string("sender:list\\x07"),
                             json_of(view, kWednesdayMorning)["senders"][0]["key"].get<std::string>());
    }

    void everyShownFormNamesExactlyItsKey()
    {
        const std::vector<std::pair<std::string, std::string>> cases{
            {std::string("nul\0byte", 8), "escaped:nul\\x00byte"},
            {"tab\there\x7f", "escaped:tab\\x09here\\x7f"},
            {"csi\xc2\x9b" "2J", "escaped:csi\\xc2\\x9b2J"},               // a C1 control, as UTF-8
            {"lone\x80", "escaped:lone\\x80"},                              // a stray continuation byte
            {"overlong\xc0\xaf", "escaped:overlong\\xc0\\xaf"},
            {"surrogate\xed\xa0\x80", "escaped:surrogate\\xed\\xa0\\x80"},
            {"cut\xf0\x9f\x93", "escaped:cut\\xf0\\x9f\\x93"},
            {"caf\xc3\xa9\x01\\", "escaped:caf\xc3\xa9\\x01\\x5c"},           // UTF-8 stays, \\ escaped
            {"escaped:plain", "escaped:escaped:plain"},                      // the marker itself
            {"escaped:a\\x41", "escaped:escaped:a\\x5cx41"},
            {"escaped:", "escaped:escaped:"},
        };
        for (const auto& [key, shown] : cases) {
            CPPUNIT_ASSERT_EQUAL(shown, shown_key(key));
            CPPUNIT_ASSERT(key_from_shown(shown) == key);
        }
    }

    void shownFormsTakeAnyHexCaseAndRefuseBadEscapes()
    {
        CPPUNIT_ASSERT(key_from_shown("escaped:evil\\x1B[2J") == std::string("evil\x1b[2J"));
        CPPUNIT_ASSERT(key_from_shown("escaped:\\x61bc") == std::string("abc"));
        for (const char* bad : {"escaped:a\\", "escaped:a\\x1", "escaped:a\\xzz", "escaped:a\\n", "escaped:\\X41"})
            CPPUNIT_ASSERT_MESSAGE(bad, !key_from_shown(bad));
    }

    // The whole way an operator goes: a key read from the report resets that very entry.
    void aKeyFromMailIsResetByItsShownForm()
    {
        CounterTableOptions options;  // no path: a private table
        options.rate_slots = 64;
        options.campaign_slots = 8;
        options.warn = [](const std::string&) {};
        const auto table = CounterTable::open(options);
        const std::string hostile = "sender:\x1b[2J\xc3";
        CPPUNIT_ASSERT(table->reserve(hostile, RateLimit{0, 0}, kWednesdayMorning).reservation);
        CPPUNIT_ASSERT(table->reserve("sender:\\x1b[2J\\xc3", RateLimit{0, 0}, kWednesdayMorning).reservation);

        const CounterView view = table->view(kWednesdayMorning);
        const auto doc = nlohmann::json::parse(format_stats_json(view, kWednesdayMorning, settings()));
        std::vector<std::string> shown;
        for (const auto& sender : doc["senders"]) shown.push_back(sender["key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, shown.size());
        const auto escaped = std::find(shown.begin(), shown.end(), "escaped:sender:\\x1b[2J\\xc3");
        CPPUNIT_ASSERT(escaped != shown.end());

        const auto key = key_from_shown(*escaped);
        CPPUNIT_ASSERT(key && table->reset(*key));
        const CounterView after = table->view(kWednesdayMorning);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, after.rates.size());
        CPPUNIT_ASSERT_EQUAL(std::string("sender:\\x1b[2J\\xc3"), after.rates[0].key);
    }

    void isoTimesAreUtcToTheSecond()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("2026-03-04T17:00:00Z"), format_utc_iso8601(kWednesdayMorning));
        CPPUNIT_ASSERT_EQUAL(std::string("2026-03-04T17:00:00Z"),
                             format_utc_iso8601(kWednesdayMorning + milliseconds{999}));
        CPPUNIT_ASSERT_EQUAL(std::string("1970-01-01T00:00:00Z"), format_utc_iso8601(SystemTime{}));
    }

    // mode = monitor: the milter logs what it would do and defers nothing.
    void monitorModeHoldsNothing()
    {
        StatsSettings s = settings();
        s.monitor = true;
        const auto doc = json_of(sample_view(kWednesdayMorning), kWednesdayMorning, s);
        const auto& big = doc["campaigns"][0];
        CPPUNIT_ASSERT_EQUAL(false, big["held"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(true, big["would_be_held"].get<bool>());
        const std::string closes = format_local_time(utc(2026y / March / 5, hours{0}), kZone);
        CPPUNIT_ASSERT_EQUAL(closes, big["send_after"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(false, doc["campaigns"][1]["would_be_held"].get<bool>());

        const std::string text = format_stats_text(sample_view(kWednesdayMorning), kWednesdayMorning, s);
        CPPUNIT_ASSERT(contains(text, "would be held (monitor): may be sent from " + closes));
        CPPUNIT_ASSERT(!contains(text, " held: may be sent"));
    }

    // [actions] bulk-hours: tempfail defers and reject refuses the campaign; tag lets it go.
    void onlyActionsThatKeepTheMailHold()
    {
        StatsSettings s = settings();
        s.bulk_action = Action::tag;
        const auto tagged = json_of(sample_view(kWednesdayMorning), kWednesdayMorning, s);
        CPPUNIT_ASSERT_EQUAL(false, tagged["campaigns"][0]["held"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(false, tagged["campaigns"][0]["would_be_held"].get<bool>());
        CPPUNIT_ASSERT(tagged["campaigns"][0]["send_after"].is_null());
        const std::string text = format_stats_text(sample_view(kWednesdayMorning), kWednesdayMorning, s);
        CPPUNIT_ASSERT(contains(text, "over threshold, not held ([actions] bulk-hours = tag)"));
        CPPUNIT_ASSERT(!contains(text, "held:"));
        // Nor does monitor mode make a tag hold.
        s.monitor = true;
        CPPUNIT_ASSERT_EQUAL(false, json_of(sample_view(kWednesdayMorning), kWednesdayMorning, s)["campaigns"][0]
                                        ["would_be_held"].get<bool>());

        s = settings();
        s.bulk_action = Action::reject;
        CPPUNIT_ASSERT_EQUAL(true, json_of(sample_view(kWednesdayMorning), kWednesdayMorning, s)["campaigns"][0]
                                       ["held"].get<bool>());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StatsReportTest);

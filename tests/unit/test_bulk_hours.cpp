// The bulk-hours rule (IV.B.3.c.iv) and the audience counting behind it: a campaign over the
// threshold is deferred in business hours with the local time it may be sent, passes outside
// them, and its audience adds up distinct university recipients across its messages.
#include <cppunit/extensions/HelperMacros.h>

#include "core/session.h"
#include "counters/counter_table.h"
#include "fixtures.h"
#include "policy/reply.h"
#include "policy/rule.h"

using namespace ecomm;
using namespace ecomm::test;
using namespace std::chrono_literals;

namespace {

// Monday 2026-11-30 10:00 MST (17:00 UTC): business hours in America/Denver.
const auto kMondayMorning = std::chrono::system_clock::time_point(std::chrono::seconds(1796058000));
// Monday 2026-11-30 18:00 MST: after hours.
const auto kMondayEvening = kMondayMorning + 8h;

Snapshot bulk_snapshot(std::shared_ptr<CounterStore> counters, int threshold)
{
    Snapshot s = base_snapshot();
    s.config.actions["rate"] = Action::tempfail;
    s.config.actions["bulk-hours"] = Action::tempfail;
    s.config.throttle_delay_seconds = 0;
    s.config.bulk_threshold = threshold;
    s.counters = std::move(counters);
    return s;
}

MessageFacts campaign_facts(std::uint64_t estimate, std::uint64_t declared, std::uint64_t this_message,
                            std::chrono::system_clock::time_point now)
{
    MessageFacts f = facts("192.0.2.7", "bounce-mc7f3a-1@e.example.edu", "news@e.example.edu");
    f.audience = AudienceFacts{"mc|Feedback-ID:c1", "Feedback-ID header", estimate, declared, this_message, false};
    f.now = now;
    return f;
}

RuleResult judge(const Snapshot& s, const MessageFacts& f) { return check_bulk_hours(RuleInput{f, s, classify(f, s), {}}); }

// One message of registered sender mc to the given example.edu users (and one outside address).
Verdict send_campaign(const std::shared_ptr<const Snapshot>& snapshot, std::chrono::system_clock::time_point now,
                      int first_user, int users, const std::string& feedback_id)
{
    Clock clock;
    clock.now = [now] { return now; };
    clock.sleep = [](std::chrono::milliseconds) {};
    Session session(snapshot, clock);
    session.connect("mta.mc.test", ip("192.0.2.7"));
    session.mail_from("<bounce-mc7f3a-1@e.example.edu>", "");
    for (int i = first_user; i < first_user + users; ++i)
        session.recipient("<user" + std::to_string(i) + "@example.edu>");
    session.recipient("<friend@outside.test>");
    session.header("From", "news@e.example.edu");
    session.header("Subject", "Campus news");
    session.header("Feedback-ID", feedback_id);
    session.header("List-Unsubscribe", "<https://e.example.edu/u>");
    session.end_of_headers();
    session.body("hello\r\n");
    return session.end_of_message("Q", now);
}

}  // namespace

class BulkHoursTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BulkHoursTest);
    CPPUNIT_TEST(skipsWithoutAudience);
    CPPUNIT_TEST(passesAtTheThreshold);
    CPPUNIT_TEST(defersOverThresholdInBusinessHours);
    CPPUNIT_TEST(passesOverThresholdAfterHours);
    CPPUNIT_TEST(passesOnAHoliday);
    CPPUNIT_TEST(sendTimeIsOutsideTouchingPeriods);
    CPPUNIT_TEST(declaredAudienceCounts);
    CPPUNIT_TEST(oneTransactionCountsOnItsOwn);
    CPPUNIT_TEST(audienceAddsUpAcrossMessages);
    CPPUNIT_TEST(firstCrossingIsReportedOnce);
    CPPUNIT_TEST(campaignsAreKeptApart);
    CPPUNIT_TEST_SUITE_END();

public:
    void skipsWithoutAudience()
    {
        const Snapshot s = base_snapshot();
        MessageFacts f = facts("203.0.113.9", "a@outside.test");
        const RuleResult r = judge(s, f);
        CPPUNIT_ASSERT(!r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), r.result);
    }

    void passesAtTheThreshold()
    {
        const Snapshot s = base_snapshot();  // threshold 15,000
        const RuleResult r = judge(s, campaign_facts(15000, 0, 1, kMondayMorning));
        CPPUNIT_ASSERT(!r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), r.result);
    }

    void defersOverThresholdInBusinessHours()
    {
        Snapshot s = base_snapshot();
        const RuleResult r = judge(s, campaign_facts(15001, 0, 1, kMondayMorning));
        CPPUNIT_ASSERT(r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("IV.B.3.c.iv"), r.policy_section);
        const Reply reply = make_reply(Action::tempfail, r, s.config.policy_url);
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.7.0"), reply.code + " " + reply.enhanced);
        CPPUNIT_ASSERT_MESSAGE(reply.text, reply.text.find("about 15001 university addresses") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(reply.text, reply.text.find("after 2026-11-30 17:00 MST") != std::string::npos);
    }

    void passesOverThresholdAfterHours()
    {
        const Snapshot s = base_snapshot();
        const RuleResult r = judge(s, campaign_facts(20000, 0, 1, kMondayEvening));
        CPPUNIT_ASSERT(!r.triggered);
        CPPUNIT_ASSERT(r.detail.find("outside business hours") != std::string::npos);
    }

    void passesOnAHoliday()
    {
        Snapshot s = base_snapshot();
        s.config.business_hours.holidays.insert(Date{2026, 11, 30});
        CPPUNIT_ASSERT(!judge(s, campaign_facts(20000, 0, 1, kMondayMorning)).triggered);
    }

    // All-day hours Mon-Fri: Tuesday's period ends as Wednesday's begins, so the campaign may
    // go only when Saturday starts; all-day hours every day give it no time at all.
    void sendTimeIsOutsideTouchingPeriods()
    {
        Snapshot s = base_snapshot();
        s.config.business_hours.open_minute = 0;
        s.config.business_hours.close_minute = 1440;
        const auto tuesday_afternoon = kMondayMorning + 27h;  // 2026-12-01 13:00 MST
        RuleResult r = judge(s, campaign_facts(15001, 0, 1, tuesday_afternoon));
        CPPUNIT_ASSERT_MESSAGE(r.reply_text, r.reply_text.ends_with("send it after 2026-12-05 00:00 MST (UTC-07:00)"));

        s.config.business_hours.days.fill(true);
        r = judge(s, campaign_facts(15001, 0, 1, tuesday_afternoon));
        CPPUNIT_ASSERT(r.triggered);
        CPPUNIT_ASSERT_MESSAGE(r.reply_text,
                               r.reply_text.ends_with("during business hours, which run without an end in the next 8 days"));
    }

    void declaredAudienceCounts()
    {
        const Snapshot s = base_snapshot();
        CPPUNIT_ASSERT(judge(s, campaign_facts(10, 42000, 1, kMondayMorning)).triggered);
    }

    void oneTransactionCountsOnItsOwn()
    {
        const Snapshot s = base_snapshot();
        CPPUNIT_ASSERT(judge(s, campaign_facts(14990, 0, 15001, kMondayMorning)).triggered);
    }

    void audienceAddsUpAcrossMessages()
    {
        std::shared_ptr<CounterStore> store = CounterTable::open(CounterTableOptions{});
        const auto snapshot = share(bulk_snapshot(store, 50));
        Verdict v = send_campaign(snapshot, kMondayMorning, 0, 30, "c1:mc");
        CPPUNIT_ASSERT_MESSAGE(v.deciding_rule, v.action == Action::accept);
        v = send_campaign(snapshot, kMondayMorning, 0, 30, "c1:mc");  // the same people again
        CPPUNIT_ASSERT_MESSAGE(v.deciding_rule, v.action == Action::accept);
        v = send_campaign(snapshot, kMondayMorning, 30, 30, "c1:mc");  // 60 distinct in all
        CPPUNIT_ASSERT(v.action == Action::tempfail);
        CPPUNIT_ASSERT_EQUAL(std::string("bulk-hours"), v.deciding_rule);
        v = send_campaign(snapshot, kMondayEvening, 60, 1, "c1:mc");  // after hours: sent
        CPPUNIT_ASSERT(v.action == Action::accept);
    }

    void firstCrossingIsReportedOnce()
    {
        std::shared_ptr<CounterStore> store = CounterTable::open(CounterTableOptions{});
        const auto snapshot = share(bulk_snapshot(store, 5));
        Clock clock;
        clock.now = [] { return kMondayEvening; };
        int crossings = 0;
        for (int i = 0; i < 4; ++i) {
            Session session(snapshot, clock);
            session.connect("mta.mc.test", ip("192.0.2.7"));
            session.mail_from("<bounce-mc7f3a-1@e.example.edu>", "");
            for (int j = 0; j < 3; ++j) session.recipient("<u" + std::to_string(i * 3 + j) + "@example.edu>");
            session.header("From", "news@e.example.edu");
            session.header("Feedback-ID", "c2:mc");
            session.header("List-Unsubscribe", "<https://e.example.edu/u>");
            session.end_of_headers();
            session.end_of_message("Q", kMondayEvening);
            CPPUNIT_ASSERT(session.facts().audience);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, session.facts().audience->this_message);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(3 * (i + 1)), session.facts().audience->estimate);
            if (session.facts().audience->first_crossing) ++crossings;
        }
        CPPUNIT_ASSERT_EQUAL(1, crossings);
    }

    void campaignsAreKeptApart()
    {
        std::shared_ptr<CounterStore> store = CounterTable::open(CounterTableOptions{});
        const auto snapshot = share(bulk_snapshot(store, 50));
        CPPUNIT_ASSERT(send_campaign(snapshot, kMondayMorning, 0, 40, "c3:mc").action == Action::accept);
        CPPUNIT_ASSERT(send_campaign(snapshot, kMondayMorning, 100, 40, "c4:mc").action == Action::accept);
        const auto view = store->view(kMondayMorning);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, view.campaigns.size());
        for (const auto& campaign : view.campaigns) {
            CPPUNIT_ASSERT_EQUAL(std::uint64_t{40}, campaign.estimate);
            CPPUNIT_ASSERT_EQUAL(std::string("mc"), campaign.sender);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BulkHoursTest);

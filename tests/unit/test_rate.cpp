// The rate rule (IV.B.3.c.vi-vii) and the two-phase counting behind it, with an injected clock:
// at, under and over 30 a minute, throttling (hold, then accept), deferral with a retry time, and
// reservations released for refused and aborted messages so they use up no allowance.
#include <cppunit/extensions/HelperMacros.h>

#include "core/rate_counter.h"
#include "core/session.h"
#include "counters/counter_table.h"
#include "fixtures.h"
#include "policy/reply.h"
#include "policy/rule.h"

using namespace ecomm;
using namespace ecomm::test;
using namespace std::chrono_literals;

namespace {

// A clock the test moves; sleeping moves it too, and is recorded.
struct FakeTime {
    std::chrono::system_clock::time_point now = test_now();
    std::chrono::milliseconds slept{0};
    Clock clock()
    {
        Clock c;
        c.now = [this] { return now; };
        c.sleep = [this](std::chrono::milliseconds d) {
            now += d;
            slept += d;
        };
        return c;
    }
};

std::shared_ptr<CounterStore> memory_table() { return CounterTable::open(CounterTableOptions{}); }

Snapshot counting_snapshot(std::shared_ptr<CounterStore> counters)
{
    Snapshot s = base_snapshot();
    s.config.actions["rate"] = Action::tempfail;
    s.config.actions["bulk-hours"] = Action::tempfail;
    s.config.throttle_delay_seconds = 0;
    s.counters = std::move(counters);
    return s;
}

// A message from registered sender mc that passes every rule, or (with_attachment) is rejected.
Verdict send_mc(Session& session, std::chrono::system_clock::time_point now, bool with_attachment = false)
{
    session.connect("mta.mc.test", ip("192.0.2.7"));
    session.helo("mta.mc.test");
    session.mail_from("<bounce-mc7f3a-1@e.example.edu>", "");
    session.recipient("<student@example.edu>");
    session.header("From", "news@e.example.edu");
    session.header("Subject", "News");
    session.header("List-Unsubscribe", "<https://e.example.edu/u>");
    if (with_attachment) session.header("Content-Type", "application/pdf; name=report.pdf");
    session.end_of_headers();
    session.body("hello\r\n");
    return session.end_of_message("Q", now);
}

// n messages of subject, each reserved, finished and committed at the clock's present time.
void send_accepted(CounterStore& store, const Clock& clock, const RateSubject& subject, int n)
{
    for (int i = 0; i < n; ++i) {
        RateCounter counter(store, clock);
        counter.reserve(subject);
        counter.finish(subject, 5s, {});
        counter.commit();
    }
}

int counted(CounterStore& store, const std::string& key, std::chrono::system_clock::time_point now)
{
    for (const auto& rate : store.view(now).rates)
        if (rate.key == key) return rate.in_window;
    return 0;
}

}  // namespace

class RateTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RateTest);
    CPPUNIT_TEST(ruleSkipsWithoutLimit);
    CPPUNIT_TEST(rulePassesWithinAndReportsHold);
    CPPUNIT_TEST(ruleDefersWithRetryHint);
    CPPUNIT_TEST(subjectIsRegisteredSenderWithOverride);
    CPPUNIT_TEST(clientLimitKeysIpv6ByPrefix);
    CPPUNIT_TEST(thirtyPassThirtyFirstWaitsForTheWindow);
    CPPUNIT_TEST(throttleHoldsThenAccepts);
    CPPUNIT_TEST(beyondTheHoldIsDeferred);
    CPPUNIT_TEST(messagesInFlightCount);
    CPPUNIT_TEST(sessionCommitsAcceptedMail);
    CPPUNIT_TEST(rejectedMailReleasesItsReservation);
    CPPUNIT_TEST(abortedMailReleasesItsReservation);
    CPPUNIT_TEST(thirtyFirstMessageIsDeferredEndToEnd);
    CPPUNIT_TEST(monitorModeNeverHolds);
    CPPUNIT_TEST_SUITE_END();

public:
    void ruleSkipsWithoutLimit()
    {
        const Snapshot s = base_snapshot();
        const MessageFacts f = facts("203.0.113.9", "a@outside.test");
        const Classification c = classify(f, s);
        const RuleResult r = check_rate(RuleInput{f, s, c, {}});
        CPPUNIT_ASSERT(!r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), r.result);
    }

    void rulePassesWithinAndReportsHold()
    {
        const Snapshot s = base_snapshot();
        MessageFacts f = facts("192.0.2.7", "bounce-mc7f3a-1@e.example.edu");
        f.rate = RateFacts{"sender:mc", 30, true, 12, 0ms, 0s};
        const Classification c = classify(f, s);
        RuleResult r = check_rate(RuleInput{f, s, c, {}});
        CPPUNIT_ASSERT(!r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), r.result);
        CPPUNIT_ASSERT(r.detail.find("12 in the last minute, limit 30") != std::string::npos);
        f.rate->held = 2500ms;
        r = check_rate(RuleInput{f, s, c, {}});
        CPPUNIT_ASSERT(!r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("throttled"), r.result);
        CPPUNIT_ASSERT(r.detail.find("held 2500 ms") != std::string::npos);
    }

    void ruleDefersWithRetryHint()
    {
        Snapshot s = base_snapshot();
        s.config.actions["rate"] = Action::tempfail;
        MessageFacts f = facts("192.0.2.7", "bounce-mc7f3a-1@e.example.edu");
        f.rate = RateFacts{"sender:mc", 30, false, 30, 0ms, 42s};
        const Classification c = classify(f, s);
        const RuleResult r = check_rate(RuleInput{f, s, c, {}});
        CPPUNIT_ASSERT(r.triggered);
        CPPUNIT_ASSERT_EQUAL(std::string("IV.B.3.c.vi"), r.policy_section);
        const Reply reply = make_reply(Action::tempfail, r, s.config.policy_url);
        CPPUNIT_ASSERT_EQUAL(std::string("451"), reply.code);
        CPPUNIT_ASSERT_EQUAL(std::string("4.7.1"), reply.enhanced);
        CPPUNIT_ASSERT(reply.text.find("retry after 42 seconds") != std::string::npos);
    }

    void subjectIsRegisteredSenderWithOverride()
    {
        Snapshot s = base_snapshot();
        s.config.rate_limit = 30;
        MessageFacts f = facts("192.0.2.7", "bounce-mc7f3a-1@e.example.edu");
        auto subject = rate_subject(classify(f, s), f, s.config);
        CPPUNIT_ASSERT(subject);
        CPPUNIT_ASSERT_EQUAL(std::string("sender:mc"), subject->key);
        CPPUNIT_ASSERT_EQUAL(30, subject->limit.per_minute);
        s.registry.entries[0].rate_limit = 100;
        s.registry.entries[0].rate_burst = 10;
        subject = rate_subject(classify(f, s), f, s.config);
        CPPUNIT_ASSERT_EQUAL(100, subject->limit.per_minute);
        CPPUNIT_ASSERT_EQUAL(10, subject->limit.burst);
        s.registry.entries[0].rate_limit = 0;  // explicitly unlimited
        CPPUNIT_ASSERT(!rate_subject(classify(f, s), f, s.config));
        // Unregistered clients: no limit unless client_limit is set; internal never.
        const MessageFacts outside = facts("203.0.113.9", "a@outside.test");
        CPPUNIT_ASSERT(!rate_subject(classify(outside, s), outside, s.config));
        s.config.client_rate_limit = 5;
        subject = rate_subject(classify(outside, s), outside, s.config);
        CPPUNIT_ASSERT_EQUAL(std::string("client:203.0.113.9"), subject->key);
        CPPUNIT_ASSERT_EQUAL(5, subject->limit.per_minute);
        const MessageFacts internal = facts("10.1.2.3", "prof@example.edu");
        CPPUNIT_ASSERT(!rate_subject(classify(internal, s), internal, s.config));
    }

    void clientLimitKeysIpv6ByPrefix()
    {
        Snapshot s = base_snapshot();
        s.config.client_rate_limit = 5;
        const MessageFacts a = facts("2001:db8:1:2::10", "a@outside.test");
        const MessageFacts b = facts("2001:db8:1:2:ffff::1", "b@outside.test");
        const MessageFacts other = facts("2001:db8:1:3::10", "c@outside.test");
        const auto key_a = rate_subject(classify(a, s), a, s.config)->key;
        CPPUNIT_ASSERT_EQUAL(std::string("client:2001:db8:1:2::/64"), key_a);
        CPPUNIT_ASSERT_EQUAL(key_a, rate_subject(classify(b, s), b, s.config)->key);
        CPPUNIT_ASSERT(key_a != rate_subject(classify(other, s), other, s.config)->key);
    }

    void thirtyPassThirtyFirstWaitsForTheWindow()
    {
        auto store = memory_table();
        FakeTime time;
        const Clock clock = time.clock();
        const RateSubject subject{"sender:t", {30, 0}};
        time.now += 500ms;
        for (int i = 0; i < 30; ++i) {
            RateCounter counter(*store, clock);
            counter.reserve(subject);
            const RateFacts f = counter.finish(subject, 0s, {});
            CPPUNIT_ASSERT_MESSAGE("message " + std::to_string(i + 1), f.within);
            CPPUNIT_ASSERT_EQUAL(i + 1, f.in_window);
            counter.commit();
        }
        time.now += 9700ms;  // 10.2 s after the first
        RateCounter counter(*store, clock);
        counter.reserve(subject);
        const RateFacts f = counter.finish(subject, 0s, {});
        CPPUNIT_ASSERT(!f.within);
        CPPUNIT_ASSERT_EQUAL(30, f.in_window);
        // The first second's messages leave the window 60 s after it began: 49.8 s from now.
        CPPUNIT_ASSERT_EQUAL(50LL, static_cast<long long>(f.retry_after.count()));
        CPPUNIT_ASSERT_EQUAL(30, counted(*store, "sender:t", time.now));
    }

    void throttleHoldsThenAccepts()
    {
        auto store = memory_table();
        FakeTime time;
        const Clock clock = time.clock();
        const RateSubject subject{"sender:t", {30, 0}};
        send_accepted(*store, clock, subject, 30);
        time.now += 57500ms;  // the window frees up 2.5 s from now, within the 5 s hold
        int progress_calls = 0;
        RateCounter counter(*store, clock);
        counter.reserve(subject);
        const RateFacts f = counter.finish(subject, 5s, [&] { ++progress_calls; });
        CPPUNIT_ASSERT(f.within);
        CPPUNIT_ASSERT(f.held >= 2500ms && f.held <= 3000ms);
        CPPUNIT_ASSERT_EQUAL(f.held, time.slept);
        CPPUNIT_ASSERT(progress_calls >= 3);  // at least once a second while held
    }

    void beyondTheHoldIsDeferred()
    {
        auto store = memory_table();
        FakeTime time;
        const Clock clock = time.clock();
        const RateSubject subject{"sender:t", {30, 0}};
        send_accepted(*store, clock, subject, 30);
        time.now += 30s;
        RateCounter counter(*store, clock);
        counter.reserve(subject);
        const RateFacts f = counter.finish(subject, 5s, {});
        CPPUNIT_ASSERT(!f.within);
        CPPUNIT_ASSERT_EQUAL(0LL, static_cast<long long>(time.slept.count()));  // never held in vain
        CPPUNIT_ASSERT_EQUAL(30LL, static_cast<long long>(f.retry_after.count()));
        CPPUNIT_ASSERT_EQUAL(0LL, static_cast<long long>(f.held.count()));
    }

    void messagesInFlightCount()
    {
        auto store = memory_table();
        FakeTime time;
        const Clock clock = time.clock();
        const RateSubject subject{"sender:t", {2, 0}};
        RateCounter first(*store, clock), second(*store, clock), third(*store, clock);
        first.reserve(subject);
        second.reserve(subject);
        third.reserve(subject);  // two are in flight: no room
        CPPUNIT_ASSERT(!third.finish(subject, 0s, {}).within);
        second.release();        // the second was refused: its place is free again
        CPPUNIT_ASSERT(third.finish(subject, 0s, {}).within);
        first.commit();
        third.commit();
        const auto view = store->view(time.now);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.rates.size());
        CPPUNIT_ASSERT_EQUAL(2, view.rates[0].in_window);
        CPPUNIT_ASSERT_EQUAL(0, view.rates[0].pending);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, view.rates[0].total);
    }

    void sessionCommitsAcceptedMail()
    {
        auto store = memory_table();
        FakeTime time;
        const auto snapshot = share(counting_snapshot(store));
        Session session(snapshot, time.clock());
        const Verdict v = send_mc(session, time.now);
        CPPUNIT_ASSERT_MESSAGE(v.deciding_rule, v.action == Action::accept);
        CPPUNIT_ASSERT(session.facts().rate);
        CPPUNIT_ASSERT(session.facts().rate->within);
        const auto view = store->view(time.now);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.rates.size());
        CPPUNIT_ASSERT_EQUAL(std::string("sender:mc"), view.rates[0].key);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, view.rates[0].total);
        CPPUNIT_ASSERT_EQUAL(0, view.rates[0].pending);
    }

    void rejectedMailReleasesItsReservation()
    {
        auto store = memory_table();
        FakeTime time;
        const auto snapshot = share(counting_snapshot(store));
        for (int i = 0; i < 40; ++i) {
            Session session(snapshot, time.clock());
            const Verdict v = send_mc(session, time.now, true);
            CPPUNIT_ASSERT_EQUAL(std::string("attachments"), v.deciding_rule);
        }
        CPPUNIT_ASSERT_EQUAL(0, counted(*store, "sender:mc", time.now));
        Session session(snapshot, time.clock());
        CPPUNIT_ASSERT(send_mc(session, time.now).action == Action::accept);
        CPPUNIT_ASSERT_EQUAL(1, counted(*store, "sender:mc", time.now));
    }

    void abortedMailReleasesItsReservation()
    {
        auto store = memory_table();
        FakeTime time;
        const auto snapshot = share(counting_snapshot(store));
        Session session(snapshot, time.clock());
        session.connect("mta.mc.test", ip("192.0.2.7"));
        session.mail_from("<bounce-mc7f3a-1@e.example.edu>", "");
        CPPUNIT_ASSERT_EQUAL(1, counted(*store, "sender:mc", time.now));  // reserved at MAIL FROM
        session.abort_message();
        CPPUNIT_ASSERT_EQUAL(0, counted(*store, "sender:mc", time.now));
        {
            Session dropped(snapshot, time.clock());  // the connection goes away mid-message
            dropped.connect("mta.mc.test", ip("192.0.2.7"));
            dropped.mail_from("<bounce-mc7f3a-1@e.example.edu>", "");
            CPPUNIT_ASSERT_EQUAL(1, counted(*store, "sender:mc", time.now));
        }
        CPPUNIT_ASSERT_EQUAL(0, counted(*store, "sender:mc", time.now));
    }

    void thirtyFirstMessageIsDeferredEndToEnd()
    {
        auto store = memory_table();
        FakeTime time;
        const auto snapshot = share(counting_snapshot(store));
        for (int i = 0; i < 30; ++i) {
            Session session(snapshot, time.clock());
            CPPUNIT_ASSERT(send_mc(session, time.now).action == Action::accept);
            time.now += 100ms;
        }
        Session session(snapshot, time.clock());
        const Verdict v = send_mc(session, time.now);
        CPPUNIT_ASSERT(v.action == Action::tempfail);
        CPPUNIT_ASSERT_EQUAL(std::string("rate"), v.deciding_rule);
        CPPUNIT_ASSERT(v.reply);
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.7.1"), v.reply->code + " " + v.reply->enhanced);
        CPPUNIT_ASSERT(v.reply->text.find("retry after 57 seconds") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(30, counted(*store, "sender:mc", time.now));  // the deferral counts nothing
    }

    void monitorModeNeverHolds()
    {
        auto store = memory_table();
        FakeTime time;
        Snapshot s = counting_snapshot(store);
        s.config.monitor = true;
        s.config.throttle_delay_seconds = 60;
        s.registry.entries[0].rate_limit = 1;
        const auto snapshot = share(std::move(s));
        Session first(snapshot, time.clock());
        send_mc(first, time.now);
        Session second(snapshot, time.clock());
        const Verdict v = send_mc(second, time.now);
        CPPUNIT_ASSERT(v.action == Action::accept);
        CPPUNIT_ASSERT(v.would_be == Action::tempfail);
        CPPUNIT_ASSERT_EQUAL(0LL, static_cast<long long>(time.slept.count()));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RateTest);

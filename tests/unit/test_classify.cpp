// Sender classification: the four classes, shared networks, expiry, and mapped IPv6 clients.
#include <cppunit/extensions/HelperMacros.h>

#include "fixtures.h"
#include "policy/classify.h"

using namespace ecomm;
using namespace ecomm::test;

class ClassifyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClassifyTest);
    CPPUNIT_TEST(authenticatedIsInternal);
    CPPUNIT_TEST(internalNetworkIsInternal);
    CPPUNIT_TEST(registryNetworkIsRegistered);
    CPPUNIT_TEST(sharedNetworkPicksEntryByIdentifierThenDomain);
    CPPUNIT_TEST(mappedIpv6MatchesIpv4Network);
    CPPUNIT_TEST(universityEnvelopeFromUnregisteredIsImpersonation);
    CPPUNIT_TEST(universityHeaderFromIsImpersonation);
    CPPUNIT_TEST(subdomainCountsAsUniversity);
    CPPUNIT_TEST(outsideMailIsExternal);
    CPPUNIT_TEST(expiredEntryCountsAsUnregistered);
    CPPUNIT_TEST(entryValidThroughItsLastDay);
    CPPUNIT_TEST_SUITE_END();

public:
    void authenticatedIsInternal()
    {
        const Snapshot s = base_snapshot();
        auto f = facts("203.0.113.9", "dean@example.edu");
        f.auth_user = "dean";
        const auto c = classify(f, s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::internal);
        CPPUNIT_ASSERT_EQUAL(std::string("authenticated as dean"), c.reason);
    }

    void internalNetworkIsInternal()
    {
        const Snapshot s = base_snapshot();
        CPPUNIT_ASSERT(classify(facts("10.1.2.3", "x@example.edu"), s).sender_class == SenderClass::internal);
    }

    void registryNetworkIsRegistered()
    {
        const Snapshot s = base_snapshot();
        const auto c = classify(facts("198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::registered);
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"), c.entry->id);
    }

    void sharedNetworkPicksEntryByIdentifierThenDomain()
    {
        const Snapshot s = base_snapshot();
        CPPUNIT_ASSERT_EQUAL(std::string("shared"), classify(facts("192.0.2.7", "b-sh55-1@news.example.edu"), s).entry->id);
        CPPUNIT_ASSERT_EQUAL(std::string("mc"), classify(facts("192.0.2.7", "bounce-mc7f3a-1@e.example.edu"), s).entry->id);
        CPPUNIT_ASSERT_EQUAL(std::string("shared"), classify(facts("192.0.2.7", "no-id@news.example.edu"), s).entry->id);
        CPPUNIT_ASSERT_EQUAL(std::string("mc"), classify(facts("192.0.2.7", "x@elsewhere.test"), s).entry->id);
    }

    void mappedIpv6MatchesIpv4Network()
    {
        const Snapshot s = base_snapshot();
        const auto c = classify(facts("::ffff:198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::registered);
    }

    void universityEnvelopeFromUnregisteredIsImpersonation()
    {
        const Snapshot s = base_snapshot();
        const auto c = classify(facts("203.0.113.9", "dean@example.edu"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::impersonation);
        CPPUNIT_ASSERT(c.reason.find("envelope sender <dean@example.edu>") != std::string::npos);
    }

    void universityHeaderFromIsImpersonation()
    {
        const Snapshot s = base_snapshot();
        const auto c = classify(facts("203.0.113.9", "x@outside.test", "President <president@example.edu>"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::impersonation);
        CPPUNIT_ASSERT(c.reason.find("header From: <president@example.edu>") != std::string::npos);
    }

    void subdomainCountsAsUniversity()
    {
        const Snapshot s = base_snapshot();
        CPPUNIT_ASSERT(classify(facts("203.0.113.9", "x@cs.example.edu"), s).sender_class == SenderClass::impersonation);
    }

    void outsideMailIsExternal()
    {
        const Snapshot s = base_snapshot();
        const auto c = classify(facts("203.0.113.9", "a@outside.test", "a@outside.test"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::external);
        CPPUNIT_ASSERT(c.entry == nullptr);
    }

    void expiredEntryCountsAsUnregistered()
    {
        Snapshot s = base_snapshot();
        s.registry.entries[1].expires = Date{2026, 11, 28};  // cvent; "now" is 2026-11-29 in Denver
        auto c = classify(facts("198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::impersonation);
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"), c.expired_entry->id);
        CPPUNIT_ASSERT(c.reason.find("expired on 2026-11-28") != std::string::npos);

        c = classify(facts("198.51.100.20", "a@outside.test"), s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::external);
        CPPUNIT_ASSERT(c.expired_entry != nullptr);
    }

    void entryValidThroughItsLastDay()
    {
        Snapshot s = base_snapshot();
        s.registry.entries[1].expires = Date{2026, 11, 29};
        auto f = facts("198.51.100.20", "cv91-1@events.example.edu");
        CPPUNIT_ASSERT(classify(f, s).sender_class == SenderClass::registered);
        // 2026-11-30 06:00 UTC is still 2026-11-29 in Denver (UTC-7): still valid.
        f.now = test_now() + std::chrono::hours(18);
        CPPUNIT_ASSERT(classify(f, s).sender_class == SenderClass::registered);
        // 2026-11-30 08:00 UTC is 2026-11-30 01:00 in Denver: expired.
        f.now = test_now() + std::chrono::hours(20);
        CPPUNIT_ASSERT(classify(f, s).sender_class == SenderClass::impersonation);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClassifyTest);

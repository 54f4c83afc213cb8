// Session: envelope parsing, per-message reset, and the bounds on stored headers.
#include <cppunit/extensions/HelperMacros.h>

#include "core/session.h"
#include "fixtures.h"

using namespace ecomm;
using namespace ecomm::test;

class SessionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SessionTest);
    CPPUNIT_TEST(envelopeAddressStripsBracketsAndParameters);
    CPPUNIT_TEST(mailFromStartsAFreshMessage);
    CPPUNIT_TEST(headerFloodCannotHideFrom);
    CPPUNIT_TEST(headerFloodCannotHideAnAttachment);
    CPPUNIT_TEST(everyForgedAuthenticationResultsIsFound);
    CPPUNIT_TEST(fullTransactionGivesVerdict);
    CPPUNIT_TEST(connectionKeepsItsSnapshot);
    CPPUNIT_TEST_SUITE_END();

public:
    void envelopeAddressStripsBracketsAndParameters()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a@b.c"), envelope_address("<a@b.c>"));
        CPPUNIT_ASSERT_EQUAL(std::string("a@b.c"), envelope_address("  <a@b.c> SIZE=100 BODY=8BITMIME"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), envelope_address("<>"));
        CPPUNIT_ASSERT_EQUAL(std::string("a@b.c"), envelope_address("a@b.c SIZE=1"));
        CPPUNIT_ASSERT_EQUAL(std::string("a@b.c"), envelope_address("<a@b.c"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), envelope_address(""));
        // Source routes are ignored (RFC 5321 4.1.1.2).
        CPPUNIT_ASSERT_EQUAL(std::string("bounce-mc7f3a-1@e.example.edu"),
                             envelope_address("<@relay.example.net:bounce-mc7f3a-1@e.example.edu>"));
        CPPUNIT_ASSERT_EQUAL(std::string("a@b.c"), envelope_address("<@r1.example,@r2.example:a@b.c> SIZE=5"));
    }

    void mailFromStartsAFreshMessage()
    {
        Session session(share(base_snapshot()));
        session.connect("c.test", ip("203.0.113.9"));
        session.mail_from("<dean@example.edu>", "");
        session.recipient("<x@example.edu>");
        session.header("From", "dean@example.edu");
        session.mail_from("<a@outside.test>", "");
        CPPUNIT_ASSERT(session.facts().recipients.empty());
        CPPUNIT_ASSERT(session.facts().headers.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("a@outside.test"), session.facts().mail_from);
        session.abort_message();
        CPPUNIT_ASSERT(session.facts().mail_from.empty());
    }

    void headerFloodCannotHideFrom()
    {
        Session session(share(base_snapshot()));
        session.connect("c.test", ip("203.0.113.9"));
        session.mail_from("<a@outside.test>", "");
        const std::string filler(1000, 'x');
        for (int i = 0; i < 5000; ++i) session.header("X-Filler", filler);
        session.header("From", "President <president@example.edu>");
        CPPUNIT_ASSERT(session.facts().headers.size() <= 4096 + 64);
        const Verdict v = session.end_of_message("Q1", test_now());
        CPPUNIT_ASSERT(v.classification.sender_class == SenderClass::impersonation);
        CPPUNIT_ASSERT(v.action == Action::reject);
    }

    // The MIME scanner sees the fields past the session's own bound on stored headers.
    void headerFloodCannotHideAnAttachment()
    {
        Session session(share(base_snapshot()));
        session.connect("c.test", ip("203.0.113.9"));
        session.mail_from("<a@outside.test>", "");
        session.header("From", "a@outside.test");
        for (int i = 0; i < 4100; ++i) session.header("X", "a");
        session.header("Content-Type", "multipart/mixed; boundary=\"o\"");
        session.body("--o\r\nContent-Type: text/plain\r\n\r\nhi\r\n--o\r\n"
                     "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
                     "\r\nJVBERi0=\r\n--o--\r\n");
        session.end_of_message("Q4", test_now());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, session.facts().attachments.size());
    }

    // However many other Authentication-Results come first, every copy claiming our id is found.
    void everyForgedAuthenticationResultsIsFound()
    {
        Snapshot snapshot = base_snapshot();
        const std::string ours = snapshot.config.authserv_id = "mx.example.edu";
        Session session(share(snapshot));
        session.connect("c.test", ip("203.0.113.9"));
        session.mail_from("<a@outside.test>", "");
        session.header("Authentication-Results", ours + "; dkim=pass header.d=bank.example");
        for (int i = 0; i < 300; ++i) session.header("Authentication-Results", "other.example; none");
        session.header("Authentication-Results", "(forged) " + ours + "; spf=pass");
        CPPUNIT_ASSERT(session.facts().forged_authentication_results == (std::vector<int>{1, 302}));
        session.mail_from("<b@outside.test>", "");
        CPPUNIT_ASSERT(session.facts().forged_authentication_results.empty());
    }

    void fullTransactionGivesVerdict()
    {
        Session session(share(base_snapshot()));
        session.connect("mta.test", ip("203.0.113.9"));
        session.helo("mta.test");
        session.mail_from("<a@outside.test> SIZE=10", "");
        session.recipient("<x@example.edu>");
        session.header("From", "a@outside.test");
        session.header("Subject", "Hi");
        session.end_of_headers();
        session.body("hello\r\n");
        const Verdict v = session.end_of_message("Q2", test_now());
        CPPUNIT_ASSERT(v.action == Action::tag);
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL] Hi"), v.new_subject.value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("Q2"), session.facts().queue_id);
    }

    void connectionKeepsItsSnapshot()
    {
        SnapshotHolder holder;
        holder.replace(share(base_snapshot()));
        Session session(holder.current());
        Snapshot monitor = base_snapshot();
        monitor.config.monitor = true;
        holder.replace(share(std::move(monitor)));
        session.connect("c.test", ip("203.0.113.9"));
        session.mail_from("<dean@example.edu>", "");
        CPPUNIT_ASSERT(session.end_of_message("Q3", test_now()).action == Action::reject);
        CPPUNIT_ASSERT(holder.current()->config.monitor);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SessionTest);

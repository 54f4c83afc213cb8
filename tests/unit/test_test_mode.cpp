// -t test mode: message files, defaults from headers, --time, and the JSON interface.
#include <cppunit/extensions/HelperMacros.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures.h"
#include "temp_files.h"
#include "testmode/message_file.h"
#include "testmode/test_mode.h"

using namespace ecomm;
using namespace ecomm::test;

namespace {

struct Run {
    int status;
    nlohmann::json json;
    std::string err;
};

Run run(const Snapshot& snapshot, TestModeOptions options)
{
    std::ostringstream out, err;
    const int status = run_test_mode(share(snapshot), options, out, err);
    Run r{status, nullptr, err.str()};
    if (status == 0) r.json = nlohmann::json::parse(out.str());
    return r;
}

}  // namespace

class TestModeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TestModeTest);
    CPPUNIT_TEST(parsesFoldedHeadersAndBody);
    CPPUNIT_TEST(nonHeaderLineStartsBody);
    CPPUNIT_TEST(externalMessageJson);
    CPPUNIT_TEST(impersonationJsonHasReply);
    CPPUNIT_TEST(senderDefaultsToReturnPath);
    CPPUNIT_TEST(timeOptionPinsTheClock);
    CPPUNIT_TEST(badInputIsRefused);
    CPPUNIT_TEST(latin1SubjectGivesAVerdict);
    CPPUNIT_TEST_SUITE_END();

public:
    void parsesFoldedHeadersAndBody()
    {
        const std::string text = "From x\nSubject: one\r\n two\r\nFrom:  a@b.c\r\n\r\nbody\r\n";
        const ParsedHeaders parsed = parse_headers(text);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, parsed.headers.size());
        CPPUNIT_ASSERT_EQUAL(std::string("one\n two"), parsed.headers[0].value);
        CPPUNIT_ASSERT_EQUAL(std::string("a@b.c"), parsed.headers[1].value);
        CPPUNIT_ASSERT_EQUAL(std::string("body\r\n"), text.substr(parsed.body_offset));
    }

    void nonHeaderLineStartsBody()
    {
        const std::string text = "Subject: x\nthis is not a header\nmore\n";
        const ParsedHeaders parsed = parse_headers(text);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, parsed.headers.size());
        CPPUNIT_ASSERT_EQUAL(std::string("this is not a header\nmore\n"), text.substr(parsed.body_offset));
    }

    void externalMessageJson()
    {
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.write("m.eml", "From: a@outside.test\nTo: x@example.edu\nSubject: Hello\n\nhi\n");
        o.client_ip = "203.0.113.9";
        const Run r = run(base_snapshot(), o);
        CPPUNIT_ASSERT_EQUAL(0, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("tag"), r.json["action"].get<std::string>());
        CPPUNIT_ASSERT(r.json["reply"].is_null());
        CPPUNIT_ASSERT_EQUAL(std::string("external"), r.json["class"].get<std::string>());
        CPPUNIT_ASSERT(r.json["sender"].is_null());
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL] Hello"), r.json["subject"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("X-Ecomm-External"), r.json["headers_added"][0]["name"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::size_t{8}, r.json["rules"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("external-tag"), r.json["rules"][7]["rule"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("tag"), r.json["rules"][7]["action"].get<std::string>());
        CPPUNIT_ASSERT(r.err.find("action=tag") != std::string::npos);
    }

    void impersonationJsonHasReply()
    {
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.write("m.eml", "From: dean@example.edu\nSubject: x\n\nhi\n");
        o.client_ip = "203.0.113.9";
        o.mail_from = "dean@example.edu";
        o.recipients = {"a@example.edu", "b@example.edu"};
        const Run r = run(base_snapshot(), o);
        CPPUNIT_ASSERT_EQUAL(std::string("reject"), r.json["action"].get<std::string>());
        CPPUNIT_ASSERT(r.json["reply"].get<std::string>().starts_with("550 5.7.1 "));
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), r.json["rules"][0]["result"].get<std::string>());
        CPPUNIT_ASSERT(r.json["headers_added"].empty());
        CPPUNIT_ASSERT(r.err.find("rcpts=2") != std::string::npos);
    }

    void senderDefaultsToReturnPath()
    {
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.write("m.eml", "Return-Path: <bounce-mc7f3a-1@e.example.edu>\nFrom: news@e.example.edu\n"
                                             "List-Unsubscribe: <mailto:u@e.example.edu>\n\nx\n");
        o.client_ip = "192.0.2.7";
        const Run r = run(base_snapshot(), o);
        CPPUNIT_ASSERT_EQUAL(std::string("registered"), r.json["class"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("mc"), r.json["sender"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("accept"), r.json["action"].get<std::string>());
    }

    void timeOptionPinsTheClock()
    {
        Snapshot s = base_snapshot();
        s.registry.entries[1].expires = Date{2027, 1, 31};
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.write("m.eml", "From: n@events.example.edu\n\nx\n");
        o.client_ip = "198.51.100.20";
        o.mail_from = "cv91-1@events.example.edu";
        o.time = "2027-01-31T23:30:00";  // local time in Denver: the last valid day
        CPPUNIT_ASSERT_EQUAL(std::string("registered"), run(s, o).json["class"].get<std::string>());
        o.time = "2027-02-01T07:30:00Z";  // 00:30 in Denver on Feb 1: expired
        CPPUNIT_ASSERT_EQUAL(std::string("impersonation"), run(s, o).json["class"].get<std::string>());
        o.time = "2027-02-01T06:30:00+00:00";  // 23:30 in Denver on Jan 31
        CPPUNIT_ASSERT_EQUAL(std::string("registered"), run(s, o).json["class"].get<std::string>());
    }

    void badInputIsRefused()
    {
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.write("m.eml", "From: a@b.c\n\nx\n");
        o.client_ip = "not-an-ip";
        CPPUNIT_ASSERT_EQUAL(2, run(base_snapshot(), o).status);
        o.client_ip = "203.0.113.9";
        o.time = "yesterday";
        CPPUNIT_ASSERT_EQUAL(2, run(base_snapshot(), o).status);
        o.time.reset();
        o.message_path = dir.path("missing.eml");
        const Run r = run(base_snapshot(), o);
        CPPUNIT_ASSERT_EQUAL(2, r.status);
        CPPUNIT_ASSERT(r.err.find("missing.eml: cannot read") != std::string::npos);
    }

    // Header text need not be UTF-8: the JSON says U+FFFD where it is not, and -t still decides.
    void latin1SubjectGivesAVerdict()
    {
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.write("m.eml", "From: a@outside.test\nTo: x@example.edu\nSubject: caf\xe9\n\nhi\n");
        o.client_ip = "203.0.113.9";
        const Run r = run(base_snapshot(), o);
        CPPUNIT_ASSERT_EQUAL(0, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("tag"), r.json["action"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL] caf\xef\xbf\xbd"), r.json["subject"].get<std::string>());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TestModeTest);

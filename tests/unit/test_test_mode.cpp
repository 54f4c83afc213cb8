// -t test mode: message files, defaults from headers, --time, and the JSON interface.
#include <cppunit/extensions/HelperMacros.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/dkim.h"
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

// message_text as mail from 203.0.113.9, outside every network of base_snapshot().
Run run_from_outside(const std::string& message_text)
{
    TempDir dir;
    TestModeOptions o;
    o.message_path = dir.write("m.eml", message_text);
    o.client_ip = "203.0.113.9";
    return run(base_snapshot(), o);
}

// A message signed c=simple/simple by e.example.edu (selector sel) with two spaces after
// "Subject:", and its key record as a --dns-file line: simple canonicalization hashes both spaces.
constexpr const char* kSimpleSignedMessage =
    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=e.example.edu; s=sel; h=from:to:subj"
    "ect:list-unsubscribe; bh=YGqNZ0OaOrh0RVTJeYAxUlAwVC/kKIPWZ3kEozuX0sc=; b=g9uJinO0T0c72qLGK"
    "caY/ScQdh5GoIMrF097pGo8mmb2p31zGtkfLSfESHp+dDTTkPTB6OuBB+kXoiPK37aG87GdfSVGmcJ49kQJQDaSfb5"
    "mHghUTU080dc8LPiSjMp6zPqh6v352zcbLcWykxVBcKurr3vMqiAuQbh1gYV31SskQnYAybuMK0qtSm65Amxjy+uct"
    "mgq0H80XasgTOcLcoCmQziBkotqZD9uwY02Vq+2IOgXVJH8RFsjj06WEFyocYzVEui/cf8DbFgJbHOhfLvDBYHKjOz"
    "wOApVAFDuIaNcsWShqjWEqGgiVxz7FVWJxEW2zZW7t7SyLpPPPzPQ4A==\r\n"
    "From: News <news@e.example.edu>\r\n"
    "To: student@example.edu\r\n"
    "Subject:  Newsletter\r\n"
    "List-Unsubscribe: <https://e.example.edu/u>\r\n"
    "\r\n"
    "Hello,\r\n"
    "this is the newsletter.\r\n";
// The same signer and key, with no space at all after "Subject:".
constexpr const char* kNoSpaceSignedMessage =
    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=e.example.edu; s=sel; h=from:to:su"
    "bject:list-unsubscribe; bh=YGqNZ0OaOrh0RVTJeYAxUlAwVC/kKIPWZ3kEozuX0sc=; b=B0fJs5Y52Ygbi"
    "g7OqeZH68Z2bZA7NhrOKTHSl72omCk4x9x2qCHyWYdML9Kydmtz9EoJc43d6FJGlNI7/i1y0z4uPeSYjHnFL/Hop"
    "nQaKk4cySa1mvzzclBwcm8ga9+Ft5WfOJSUWHYOxA5VWS6en0GaWif2AIRLNl82EP7rnvTmaVLaECPuH514IQ6B9"
    "iglQQwrr7emQSyWntNg3pawK6TWzHioiJ+1F855McW8y/IsY0jfyHm12P/OYSjJX9QVaV1m4pyYcGTRv0zNgvTVn"
    "u4RvjVk4DRNMx7DddJxL+LROzp3E7Uqh1BApnT1IxGj2/bd6EfKRKDnI+OhYEOXgA==\r\n"
    "From: News <news@e.example.edu>\r\n"
    "To: student@example.edu\r\n"
    "Subject:Newsletter\r\n"
    "List-Unsubscribe: <https://e.example.edu/u>\r\n"
    "\r\n"
    "Hello,\r\n"
    "this is the newsletter.\r\n";
constexpr const char* kSimpleSignedKey =
    "sel._domainkey.e.example.edu TXT \"v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC"
    "AQ8AMIIBCgKCAQEAoHlKDX6nmf/NUxSXhvaZcgAqGMcUm52NV4baTTAzmx6v/PWrUcSC7tWqFbctaE8Rko2K5A99Sh"
    "7MHzND23QG/DH42ZtUa9uFt6/4NKXVMHnCMeuqZpg1J8tzSGCNj9PvuP4JYYrdBnjKGHOMz5kGw+QTth4r6JStBBsF"
    "uTsL5KQJiJv2kOHuyUShToGP3FVyE3mHJP5ynqZjh+GIRqCNwwVniCWsSIbi5oH7vfmgC80+WmFbd1mTZIMPcUkJDf"
    "ZWKlvJp6V0gQ1xdavCxd8nB1NuDKg6pK3Iki8bIcokaS0TKuAk7DALz2JCrmiuzQ62r4D2CEBzErkwjX2Qq6WCOQID"
    "AQAB\"\n";

// The rule's entry in a verdict's "rules" list (null when it is not there).
nlohmann::json rule_of(const nlohmann::json& verdict, const std::string& rule)
{
    for (const auto& entry : verdict["rules"])
        if (entry["rule"] == rule) return entry;
    return nullptr;
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
    CPPUNIT_TEST(blanksBeforeTheColonKeepTheHeaders);
    CPPUNIT_TEST(valuesAreKeptAsWritten);
    CPPUNIT_TEST(simpleSignatureOverTwoSpacesVerifies);
    CPPUNIT_TEST(folderIsRefused);
    CPPUNIT_TEST_SUITE_END();

public:
    void parsesFoldedHeadersAndBody()
    {
        const std::string text = "From x\nSubject: one\r\n two\r\nFrom:  a@b.c\r\n\r\nbody\r\n";
        const ParsedHeaders parsed = parse_headers(text);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, parsed.headers.size());
        CPPUNIT_ASSERT_EQUAL(std::string(" one\n two"), parsed.headers[0].value);
        CPPUNIT_ASSERT_EQUAL(std::string("  a@b.c"), parsed.headers[1].value);  // as written
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
        const Run r = run_from_outside("From: a@outside.test\nTo: x@example.edu\nSubject: Hello\n\nhi\n");
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
        const Run r = run_from_outside("From: a@outside.test\nTo: x@example.edu\nSubject: caf\xe9\n\nhi\n");
        CPPUNIT_ASSERT_EQUAL(0, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("tag"), r.json["action"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL] caf\xef\xbf\xbd"), r.json["subject"].get<std::string>());
    }

    // Postfix takes "X-Mailer : Foo" (RFC 822's obsolete syntax) for a header, named X-Mailer;
    // so must -t, or the fields after it would become the body.
    void blanksBeforeTheColonKeepTheHeaders()
    {
        const std::string text = "Subject: a\nX-Mailer : Foo\nX-Other\t:bar\nContent-Type: text/plain\n\nbody\n";
        const ParsedHeaders parsed = parse_headers(text);
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, parsed.headers.size());
        CPPUNIT_ASSERT_EQUAL(std::string("X-Mailer"), parsed.headers[1].name);
        CPPUNIT_ASSERT_EQUAL(std::string(" Foo"), parsed.headers[1].value);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Other"), parsed.headers[2].name);
        CPPUNIT_ASSERT_EQUAL(std::string("bar"), parsed.headers[2].value);
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type"), parsed.headers[3].name);
        CPPUNIT_ASSERT_EQUAL(std::string("body\n"), text.substr(parsed.body_offset));
        // Blanks inside a name still end the header section.
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, parse_headers("X Mailer: Foo\n\nbody\n").headers.size());
    }

    // Values as written after the colon, as the live milter gets them with SMFIP_HDR_LEADSPC
    // (the session removes the one SP its other readers expect, as it does live).
    void valuesAreKeptAsWritten()
    {
        const ParsedHeaders parsed = parse_headers("A:  two\nB:\ttab\nC:none\nD: one\n\n");
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, parsed.headers.size());
        CPPUNIT_ASSERT_EQUAL(std::string("  two"), parsed.headers[0].value);
        CPPUNIT_ASSERT_EQUAL(std::string("\ttab"), parsed.headers[1].value);
        CPPUNIT_ASSERT_EQUAL(std::string("none"), parsed.headers[2].value);
        CPPUNIT_ASSERT_EQUAL(std::string(" one"), parsed.headers[3].value);
    }

    // The live milter (SMFIP_HDR_LEADSPC) gets "  Newsletter" for "Subject:  Newsletter" and
    // "Newsletter" for "Subject:Newsletter", and DKIM hashes the field byte for byte; -t must hand
    // over the same values, or a c=simple signature fails only here.
    void simpleSignatureOverTwoSpacesVerifies()
    {
        for (const char* message : {kSimpleSignedMessage, kNoSpaceSignedMessage}) {
            TempDir dir;
            TestModeOptions o;
            o.message_path = dir.write("m.eml", message);
            o.dns_file = dir.write("dns.txt", kSimpleSignedKey);
            o.client_ip = "192.0.2.7";
            o.mail_from = "bounce-mc7f3a-7@e.example.edu";
            Snapshot snapshot = base_snapshot();
            snapshot.dkim = DkimLibrary::create();  // as load_snapshot() makes it
            const Run r = run(snapshot, o);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
            const std::string detail = rule_of(r.json, "authentication")["detail"].get<std::string>();
            CPPUNIT_ASSERT_MESSAGE(detail, detail.find("dkim=pass (d=e.example.edu") != std::string::npos);
        }
    }

    // A folder opens but cannot be read (EISDIR): refused like a missing file, not an empty message.
    void folderIsRefused()
    {
        TempDir dir;
        TestModeOptions o;
        o.message_path = dir.path();
        o.client_ip = "203.0.113.9";
        const Run r = run(base_snapshot(), o);
        CPPUNIT_ASSERT_EQUAL(2, r.status);
        CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find(": cannot read: Is a directory") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TestModeTest);

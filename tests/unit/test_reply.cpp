// SMTP replies and decision log lines: format, status classes, sanitising, length limits.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include "core/decision_log.h"
#include "fixtures.h"
#include "policy/pipeline.h"
#include "policy/reply.h"

using namespace ecomm;

namespace {

RuleResult failing(std::string words, std::string enhanced = "5.7.1")
{
    RuleResult r;
    r.rule = "attachments";
    r.result = "fail";
    r.triggered = true;
    r.reply_text = std::move(words);
    r.policy_section = "IV.B.3.c.v";
    r.enhanced_status = std::move(enhanced);
    return r;
}

}  // namespace

class ReplyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReplyTest);
    CPPUNIT_TEST(rejectReplyCitesPolicyAndUrl);
    CPPUNIT_TEST(statusClassesAgreeWithAction);
    CPPUNIT_TEST(controlCharactersAreRemoved);
    CPPUNIT_TEST(longTextIsCutButKeepsCitation);
    CPPUNIT_TEST(nonAsciiBecomesQuestionMarks);
    CPPUNIT_TEST(nonAsciiReplyFitsOnceEscaped);
    CPPUNIT_TEST(percentSignsCountTwice);
    CPPUNIT_TEST(internalErrorReplies);
    CPPUNIT_TEST(decisionLineIsOneEscapedLine);
    CPPUNIT_TEST(monitorDecisionLineSaysWouldBe);
    CPPUNIT_TEST_SUITE_END();

public:
    void rejectReplyCitesPolicyAndUrl()
    {
        const Reply r = make_reply(Action::reject, failing("part 3 application/pdf report.pdf is an attachment"), "https://p.example.edu/x");
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1 part 3 application/pdf report.pdf is an attachment "
                                         "(eComm policy IV.B.3.c.v; https://p.example.edu/x)"),
                             r.to_string());
        const Reply no_url = make_reply(Action::reject, failing("x"), "");
        CPPUNIT_ASSERT_EQUAL(std::string("x (eComm policy IV.B.3.c.v)"), no_url.text);
    }

    void statusClassesAgreeWithAction()
    {
        Reply r = make_reply(Action::tempfail, failing("later", "5.7.0"), "");
        CPPUNIT_ASSERT_EQUAL(std::string("451"), r.code);
        CPPUNIT_ASSERT_EQUAL(std::string("4.7.0"), r.enhanced);
        r = make_reply(Action::reject, failing("no", "4.4.3"), "");
        CPPUNIT_ASSERT_EQUAL(std::string("550"), r.code);
        CPPUNIT_ASSERT_EQUAL(std::string("5.4.3"), r.enhanced);
        r = make_reply(Action::reject, failing("no", "garbage"), "");
        CPPUNIT_ASSERT_EQUAL(std::string("5.7.1"), r.enhanced);
    }

    void controlCharactersAreRemoved()
    {
        const Reply r = make_reply(Action::reject, failing("evil\r\n250 OK\x01name"), "");
        CPPUNIT_ASSERT(r.text.find('\r') == std::string::npos);
        CPPUNIT_ASSERT(r.text.find('\n') == std::string::npos);
        CPPUNIT_ASSERT(r.text.find('\x01') == std::string::npos);
        CPPUNIT_ASSERT(r.text.starts_with("evil  250 OK name"));
    }

    void longTextIsCutButKeepsCitation()
    {
        const Reply r = make_reply(Action::reject, failing(std::string(5000, 'a')), "https://p.example.edu/x");
        CPPUNIT_ASSERT(r.to_string().size() <= kMaxReplyLine);
        CPPUNIT_ASSERT(r.to_string().size() >= kMaxReplyLine - 1);
        CPPUNIT_ASSERT(r.text.ends_with("(eComm policy IV.B.3.c.v; https://p.example.edu/x)"));
    }

    // RFC 5321 4.2: a reply text is HT, SP and printable ASCII. One '?' for each UTF-8
    // character, one for each byte that is not part of one.
    void nonAsciiBecomesQuestionMarks()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("ab?"), sanitize_reply_text("ab\xC3\xA9", 3));
        CPPUNIT_ASSERT_EQUAL(std::string("ab"), sanitize_reply_text("ab\xC3\xA9", 2));
        CPPUNIT_ASSERT_EQUAL(std::string("? ? ? ?"),
                             sanitize_reply_text("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD", 100));
        CPPUNIT_ASSERT_EQUAL(std::string("??a??b????"),
                             sanitize_reply_text("\xC3\xC3\xA9" "a" "\x80\xFF" "b" "\xE2\x82" "\xC0\xAF", 100));
        const Reply r = make_reply(Action::reject, failing("part 2 application/pdf r\xC3\xA9port.pdf is an attachment"), "");
        CPPUNIT_ASSERT_EQUAL(std::string("part 2 application/pdf r?port.pdf is an attachment (eComm policy IV.B.3.c.v)"),
                             r.text);
    }

    void nonAsciiReplyFitsOnceEscaped()
    {
        std::string words;
        for (int i = 0; i < 600; ++i) words += "\xC3\xA9%";
        const Reply r = make_reply(Action::reject, failing(words), "https://p.example.edu/a%20b");
        const std::string line = r.to_string();
        CPPUNIT_ASSERT(std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7F; }));
        const auto escaped = line.size() + static_cast<std::size_t>(std::count(line.begin(), line.end(), '%'));
        CPPUNIT_ASSERT(escaped <= kMaxReplyLine);
        CPPUNIT_ASSERT(escaped >= kMaxReplyLine - 2);
        CPPUNIT_ASSERT(r.text.starts_with("?%?%"));
    }

    // libmilter takes '%' as "%%" and refuses a text over 980 bytes once escaped.
    void percentSignsCountTwice()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a%"), sanitize_reply_text("a%b", 3));
        CPPUNIT_ASSERT_EQUAL(std::string("a"), sanitize_reply_text("a%b", 2));
        CPPUNIT_ASSERT_EQUAL(std::string("a%b"), sanitize_reply_text("a%b", 4));
        const std::string url = "https://p.example.edu/a%20b";
        const Reply r = make_reply(Action::reject, failing(std::string(900, '%')), url);
        const std::string line = r.to_string();
        const auto escaped = line.size() + static_cast<std::size_t>(std::count(line.begin(), line.end(), '%'));
        CPPUNIT_ASSERT(escaped <= kMaxReplyLine);
        CPPUNIT_ASSERT(escaped >= kMaxReplyLine - 1);
        CPPUNIT_ASSERT(r.text.ends_with("(eComm policy IV.B.3.c.v; " + url + ")"));
    }

    void internalErrorReplies()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.3.0"), internal_error_reply(Action::tempfail).to_string().substr(0, 9));
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.3.0"), internal_error_reply(Action::reject).to_string().substr(0, 9));
    }

    void decisionLineIsOneEscapedLine()
    {
        const Snapshot s = test::base_snapshot();
        auto f = test::facts("203.0.113.9", "dean\"\n@example.edu");
        f.queue_id = "4XyZ12";
        const Verdict v = run_pipeline(f, s);
        const std::string line = format_decision(v, f, false);
        CPPUNIT_ASSERT(line.starts_with("4XyZ12: action=reject rule=registration class=impersonation sender=- "
                                        "client=client.test[203.0.113.9] "));
        CPPUNIT_ASSERT(line.find('\n') == std::string::npos);
        CPPUNIT_ASSERT(line.find("from=\"<dean\\\"\\x0A@example.edu>\"") != std::string::npos);
        CPPUNIT_ASSERT(line.find("also=external-tag") != std::string::npos);
        CPPUNIT_ASSERT(line.find("detail=\"envelope sender") != std::string::npos);
    }

    void monitorDecisionLineSaysWouldBe()
    {
        Snapshot s = test::base_snapshot();
        s.config.monitor = true;
        const auto f = test::facts("203.0.113.9", "dean@example.edu");
        const std::string line = format_decision(run_pipeline(f, s), f, true);
        CPPUNIT_ASSERT(line.starts_with("NOQUEUE: action=accept would=reject rule=registration "));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReplyTest);

// The rules (registration, return-path, external-tag) and how the pipeline merges their actions.
#include <cppunit/extensions/HelperMacros.h>

#include "fixtures.h"
#include "policy/pipeline.h"

using namespace ecomm;
using namespace ecomm::test;

namespace {

const RuleResult& result_of(const Verdict& v, const std::string& rule)
{
    for (const auto& r : v.results)
        if (r.rule == rule) return r;
    throw std::runtime_error("no result for " + rule);
}

bool has_header(const Verdict& v, const std::string& name)
{
    for (const auto& e : v.edits)
        if (e.kind == HeaderEdit::Kind::add && e.name == name) return true;
    return false;
}

}  // namespace

class RulesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RulesTest);
    CPPUNIT_TEST(impersonationIsRejectedWithPolicyReply);
    CPPUNIT_TEST(expiredRegistrationNamesTheExpiry);
    CPPUNIT_TEST(registrationWarnsBeforeExpiry);
    CPPUNIT_TEST(returnPathPassesWithOwnIdentifier);
    CPPUNIT_TEST(returnPathWithoutIdentifierFails);
    CPPUNIT_TEST(returnPathWithAnotherEntrysIdentifierFails);
    CPPUNIT_TEST(returnPathWithOwnAndAnotherIdentifierPasses);
    CPPUNIT_TEST(returnPathPatternMismatchFails);
    CPPUNIT_TEST(nullReturnPathFailsForVendor);
    CPPUNIT_TEST(returnPathSkippedForEntryWithoutIdentifier);
    CPPUNIT_TEST(externalMailIsTaggedWithHeaderAndSubject);
    CPPUNIT_TEST(externalTagIsIdempotent);
    CPPUNIT_TEST(subjectPrefixIsSeenInEncodedWords);
    CPPUNIT_TEST(subjectPrefixMustEndAtABlank);
    CPPUNIT_TEST(hostileSubjectIsJudgedByItsStart);
    CPPUNIT_TEST(senderTagHeaderWithAnotherValueIsReplaced);
    CPPUNIT_TEST(exemptRegisteredSenderIsNotTagged);
    CPPUNIT_TEST(nonExemptRegisteredSenderIsTagged);
    CPPUNIT_TEST(internalMailIsNeverTagged);
    CPPUNIT_TEST(mostSevereActionWins);
    CPPUNIT_TEST(monitorModeChangesNothing);
    CPPUNIT_TEST(tagActionOnOtherRuleAddsReportHeader);
    CPPUNIT_TEST(junkAndQuarantineActions);
    CPPUNIT_TEST(senderJunkHeaderWithAnotherValueIsReplaced);
    CPPUNIT_TEST(logActionOnlyLogs);
    CPPUNIT_TEST(givenClassificationIsTheOneJudged);
    CPPUNIT_TEST_SUITE_END();

public:
    void impersonationIsRejectedWithPolicyReply()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("203.0.113.9", "dean@example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("registration"), v.deciding_rule);
        CPPUNIT_ASSERT(v.reply.has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("550"), v.reply->code);
        CPPUNIT_ASSERT_EQUAL(std::string("5.7.1"), v.reply->enhanced);
        CPPUNIT_ASSERT(v.reply->text.find("not registered to send university mail") != std::string::npos);
        CPPUNIT_ASSERT(v.reply->text.ends_with("(eComm policy IV.B.3.c.i; https://www.example.edu/policy)"));
        CPPUNIT_ASSERT(v.edits.empty());
    }

    // The session classifies once at end of message and hands the class to the pipeline: the
    // verdict is the one the pipeline reaches classifying by itself, and judges the class given.
    void givenClassificationIsTheOneJudged()
    {
        const Snapshot s = base_snapshot();
        const MessageFacts impostor = facts("203.0.113.9", "dean@example.edu");
        const Verdict own = run_pipeline(impostor, s);
        const Verdict given = run_pipeline(impostor, s, classify(impostor, s));
        CPPUNIT_ASSERT(given.action == own.action);
        CPPUNIT_ASSERT_EQUAL(own.deciding_rule, given.deciding_rule);
        CPPUNIT_ASSERT(given.classification.sender_class == SenderClass::impersonation);

        Classification external;
        external.sender_class = SenderClass::external;
        const Verdict tagged = run_pipeline(impostor, s, external);
        CPPUNIT_ASSERT(tagged.classification.sender_class == SenderClass::external);
        CPPUNIT_ASSERT(tagged.action == Action::tag);
    }

    void expiredRegistrationNamesTheExpiry()
    {
        Snapshot s = base_snapshot();
        s.registry.entries[1].expires = Date{2026, 10, 31};
        const Verdict v = run_pipeline(facts("198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT(v.reply->text.find("'cvent' expired on 2026-10-31") != std::string::npos);
    }

    void registrationWarnsBeforeExpiry()
    {
        Snapshot s = base_snapshot();
        s.config.expiry_warning_days = 14;
        s.registry.entries[1].expires = Date{2026, 12, 5};
        Verdict v = run_pipeline(facts("198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT_EQUAL(std::string("warn"), result_of(v, "registration").result);
        CPPUNIT_ASSERT(result_of(v, "registration").detail.find("expires in 6 days") != std::string::npos);
        CPPUNIT_ASSERT(v.action != Action::reject);

        s.registry.entries[1].expires = Date{2027, 1, 31};
        v = run_pipeline(facts("198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "registration").result);
    }

    void returnPathPassesWithOwnIdentifier()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("192.0.2.7", "bounce-mc7f3a-42@e.example.edu"), s);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "return-path").result);
        CPPUNIT_ASSERT(v.action == Action::accept);
    }

    void returnPathWithoutIdentifierFails()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("198.51.100.20", "noreply@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("return-path"), v.deciding_rule);
        CPPUNIT_ASSERT(result_of(v, "return-path").detail.find("lacks identifier 'cv91'") != std::string::npos);
        CPPUNIT_ASSERT(v.reply->text.find("IV.B.3.c.ii") != std::string::npos);
    }

    void returnPathWithAnotherEntrysIdentifierFails()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("198.51.100.20", "bounce-mc7f3a-1@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT(result_of(v, "return-path").detail.find("identifier of 'mc'") != std::string::npos);
    }

    // A VERP or random suffix may spell another entry's identifier; the sender's own one still
    // identifies it (a reviewer's case: mc's pattern allows "cv91", cvent's identifier).
    void returnPathWithOwnAndAnotherIdentifierPasses()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("192.0.2.7", "bounce-mc7f3a-cv91@e.example.edu"), s);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "return-path").result);
        CPPUNIT_ASSERT(v.action == Action::accept);
        // An identifier containing another's as a token: each entry's own mail passes.
        Snapshot overlapping = base_snapshot();
        overlapping.registry.entries.push_back(entry("beta", "203.0.113.0/24", "b.example.edu", "cv91-7f"));
        const Verdict beta = run_pipeline(facts("203.0.113.5", "bounce-cv91-7f-99@b.example.edu"), overlapping);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(beta, "return-path").result);
    }

    void returnPathPatternMismatchFails()
    {
        const Snapshot s = base_snapshot();
        // Carries the identifier, but not in the registered form (wrong domain).
        const Verdict v = run_pipeline(facts("192.0.2.7", "bounce-mc7f3a-1@other.test"), s);
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT(result_of(v, "return-path").detail.find("does not match the pattern") != std::string::npos);
    }

    void nullReturnPathFailsForVendor()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("198.51.100.20", ""), s);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), result_of(v, "return-path").result);
        CPPUNIT_ASSERT(v.reply->text.find("<>") != std::string::npos);
    }

    void returnPathSkippedForEntryWithoutIdentifier()
    {
        Snapshot s = base_snapshot();
        s.registry.entries[1].identifier.clear();
        const Verdict v = run_pipeline(facts("198.51.100.20", "anything@events.example.edu"), s);
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), result_of(v, "return-path").result);
        CPPUNIT_ASSERT(v.action != Action::reject);
    }

    void externalMailIsTaggedWithHeaderAndSubject()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("203.0.113.9", "a@outside.test", "a@outside.test"), s);
        CPPUNIT_ASSERT(v.action == Action::tag);
        CPPUNIT_ASSERT(has_header(v, "X-Ecomm-External"));
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL] Hello"), v.new_subject.value_or(""));
        CPPUNIT_ASSERT(!v.reply);
    }

    void externalTagIsIdempotent()
    {
        const Snapshot s = base_snapshot();
        auto f = facts("203.0.113.9", "a@outside.test");
        f.headers = {{"Subject", "  [external] Hello"}, {"x-ecomm-external", "yes"}};
        const Verdict v = run_pipeline(f, s);
        CPPUNIT_ASSERT_EQUAL(std::string("tagged"), result_of(v, "external-tag").result);
        CPPUNIT_ASSERT(!has_header(v, "X-Ecomm-External"));
        CPPUNIT_ASSERT(!v.new_subject);
    }

    // A Subject's encoded words are read as the reader's client shows them (RFC 2047).
    void subjectPrefixIsSeenInEncodedWords()
    {
        const Snapshot s = base_snapshot();
        auto f = facts("203.0.113.9", "a@outside.test");
        for (const char* subject : {"=?UTF-8?Q?=5BEXTERNAL=5D_Hello?=", "=?utf-8?q?=5Bexternal=5D?=",
                                    "=?UTF-8?B?W0VYVEVSTkFMXSBIZWxsbw==?=", " =?ISO-8859-1?Q?=5BEXTERNAL=5D_caf=E9?=",
                                    "=?UTF-8?Q?=5BEXTER?= =?UTF-8?Q?NAL=5D?=\r\n =?UTF-8?Q?_Hello?=",
                                    "=?UTF-8?Q?=5BEXTERNAL=5D?= Hello", "=?x-unknown?Q?=5BEXTERNAL=5D_Hi?="}) {
            f.headers = {{"Subject", subject}};
            CPPUNIT_ASSERT_MESSAGE(subject, !run_pipeline(f, s).new_subject);
        }
        f.headers = {{"Subject", "=?UTF-8?Q?Hello_=5BEXTERNAL=5D?="}};
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL] =?UTF-8?Q?Hello_=5BEXTERNAL=5D?="),
                             run_pipeline(f, s).new_subject.value_or(""));
        // Adjacent encoded words join: the reader sees "[EXTERNAL]Hello", a word of the sender's.
        f.headers = {{"Subject", "=?UTF-8?Q?=5BEXTERNAL=5D?= =?UTF-8?Q?Hello?="}};
        CPPUNIT_ASSERT(run_pipeline(f, s).new_subject);
    }

    void subjectPrefixMustEndAtABlank()
    {
        const Snapshot s = base_snapshot();
        auto f = facts("203.0.113.9", "a@outside.test");
        f.headers = {{"Subject", "   [EXTERNAL]x"}};
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL]    [EXTERNAL]x"), run_pipeline(f, s).new_subject.value_or(""));
        for (const char* subject : {"[EXTERNAL]", "\t[external]\tHello", "[EXTERNAL]\r\n Hello"}) {
            f.headers = {{"Subject", subject}};
            CPPUNIT_ASSERT_MESSAGE(subject, !run_pipeline(f, s).new_subject);
        }
    }

    // Only the start of a huge Subject is decoded; where that cannot tell, the prefix is added.
    void hostileSubjectIsJudgedByItsStart()
    {
        const Snapshot s = base_snapshot();
        auto f = facts("203.0.113.9", "a@outside.test");
        std::string words;
        for (int i = 0; i < 20000; ++i) words += "=?UTF-8?Q?=5Ba?= ";
        f.headers = {{"Subject", words}};
        CPPUNIT_ASSERT(run_pipeline(f, s).new_subject);
        f.headers = {{"Subject", "=?UTF-8?Q?=5BEXTERNAL=5D_?=" + words}};
        CPPUNIT_ASSERT(!run_pipeline(f, s).new_subject);
        // The window ends inside the word after the prefix, which the whole Subject joins to it.
        const std::string padded = "=?UTF-8?Q?=5BEXTERNAL=5D?= =?UTF-8?Q?" + std::string(2000, 'x') + "?=";
        f.headers = {{"Subject", padded}};
        CPPUNIT_ASSERT(run_pipeline(f, s).new_subject);
        f.headers = {{"Subject", "=?UTF-8?Q?=5BEXTERNAL=5D?=" + std::string(2000, ' ') + "Hello"}};
        CPPUNIT_ASSERT(run_pipeline(f, s).new_subject);
    }

    // "X-Ecomm-External: no" from outside must not cancel the tag.
    void senderTagHeaderWithAnotherValueIsReplaced()
    {
        const Snapshot s = base_snapshot();
        auto f = facts("203.0.113.9", "a@outside.test");
        f.headers = {{"X-Ecomm-External", "no"}, {"Subject", "Hello"}, {"X-Ecomm-External", " YES "},
                     {"x-ecomm-external", "maybe"}};
        const Verdict v = run_pipeline(f, s);
        std::vector<int> removed;
        for (const auto& e : v.edits)
            if (e.kind == HeaderEdit::Kind::remove && e.name == "X-Ecomm-External") removed.push_back(e.index);
        CPPUNIT_ASSERT(removed == (std::vector<int>{3, 1}));
        CPPUNIT_ASSERT(!has_header(v, "X-Ecomm-External"));  // the copy saying YES stays as ours

        f.headers = {{"X-Ecomm-External", "no"}};
        const Verdict replaced = run_pipeline(f, s);
        CPPUNIT_ASSERT(has_header(replaced, "X-Ecomm-External"));
        CPPUNIT_ASSERT(replaced.edits.at(0).kind == HeaderEdit::Kind::remove);
        CPPUNIT_ASSERT_EQUAL(1, replaced.edits.at(0).index);
    }

    void exemptRegisteredSenderIsNotTagged()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("192.0.2.7", "bounce-mc7f3a-42@e.example.edu"), s);
        CPPUNIT_ASSERT_EQUAL(std::string("exempt"), result_of(v, "external-tag").result);
        CPPUNIT_ASSERT(v.edits.empty());
        CPPUNIT_ASSERT(!v.new_subject);
    }

    void nonExemptRegisteredSenderIsTagged()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("198.51.100.20", "cv91-1@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::tag);
        CPPUNIT_ASSERT(has_header(v, "X-Ecomm-External"));
    }

    void internalMailIsNeverTagged()
    {
        const Snapshot s = base_snapshot();
        const Verdict v = run_pipeline(facts("10.1.1.1", "a@outside.test"), s);
        CPPUNIT_ASSERT(v.action == Action::accept);
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), result_of(v, "external-tag").result);
        CPPUNIT_ASSERT(v.edits.empty());
    }

    void mostSevereActionWins()
    {
        Snapshot s = base_snapshot();
        s.config.actions["registration"] = Action::tempfail;
        // Impersonation triggers registration (tempfail) and external-tag (tag): tempfail wins.
        const Verdict v = run_pipeline(facts("203.0.113.9", "dean@example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::tempfail);
        CPPUNIT_ASSERT_EQUAL(std::string("451"), v.reply->code);
        CPPUNIT_ASSERT_EQUAL(std::string("4.7.1"), v.reply->enhanced);
        CPPUNIT_ASSERT(v.edits.empty());
    }

    void monitorModeChangesNothing()
    {
        Snapshot s = base_snapshot();
        s.config.monitor = true;
        const Verdict v = run_pipeline(facts("203.0.113.9", "dean@example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::accept);
        CPPUNIT_ASSERT(v.would_be == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("registration"), v.deciding_rule);
        CPPUNIT_ASSERT(!v.reply);
        CPPUNIT_ASSERT(v.edits.empty());
        CPPUNIT_ASSERT(!v.new_subject);
    }

    void tagActionOnOtherRuleAddsReportHeader()
    {
        Snapshot s = base_snapshot();
        s.config.actions["return-path"] = Action::tag;
        const Verdict v = run_pipeline(facts("198.51.100.20", "noreply@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::tag);
        bool found = false;
        for (const auto& e : v.edits)
            if (e.name == "X-Ecomm-Policy" && e.value.starts_with("return-path=fail (")) found = true;
        CPPUNIT_ASSERT(found);
    }

    void junkAndQuarantineActions()
    {
        Snapshot s = base_snapshot();
        s.config.actions["return-path"] = Action::junk;
        Verdict v = run_pipeline(facts("198.51.100.20", "noreply@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::junk);
        CPPUNIT_ASSERT(has_header(v, "X-Spam-Flag"));
        CPPUNIT_ASSERT(has_header(v, "X-Ecomm-External"));  // the tag still applies

        s.config.actions["return-path"] = Action::quarantine;
        v = run_pipeline(facts("198.51.100.20", "noreply@events.example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::quarantine);
        CPPUNIT_ASSERT(v.quarantine_reason.find("return-path=fail") != std::string::npos);
        CPPUNIT_ASSERT(!v.reply);
    }

    // A sender's "X-Spam-Flag: NO" must not sit beside (or above) ours, as with the tag header.
    void senderJunkHeaderWithAnotherValueIsReplaced()
    {
        Snapshot s = base_snapshot();
        s.config.actions["return-path"] = Action::junk;
        auto f = facts("198.51.100.20", "noreply@events.example.edu");
        f.headers.push_back({"X-Spam-Flag", "NO"});
        f.headers.push_back({"x-spam-flag", " yes "});
        f.headers.push_back({"X-Spam-Flag", "maybe"});
        Verdict v = run_pipeline(f, s);
        CPPUNIT_ASSERT(v.action == Action::junk);
        std::vector<int> removed;
        for (const auto& e : v.edits)
            if (e.kind == HeaderEdit::Kind::remove && e.name == "X-Spam-Flag") removed.push_back(e.index);
        CPPUNIT_ASSERT(removed == (std::vector<int>{3, 1}));
        CPPUNIT_ASSERT(!has_header(v, "X-Spam-Flag"));  // the copy saying YES stays as ours

        f.headers.resize(f.headers.size() - 2);  // only "NO": removed, ours added
        v = run_pipeline(f, s);
        removed.clear();
        for (const auto& e : v.edits)
            if (e.kind == HeaderEdit::Kind::remove && e.name == "X-Spam-Flag") removed.push_back(e.index);
        CPPUNIT_ASSERT(removed == (std::vector<int>{1}));
        CPPUNIT_ASSERT(has_header(v, "X-Spam-Flag"));
    }

    void logActionOnlyLogs()
    {
        Snapshot s = base_snapshot();
        s.config.actions["registration"] = Action::log;
        s.config.actions["external-tag"] = Action::log;
        const Verdict v = run_pipeline(facts("203.0.113.9", "dean@example.edu"), s);
        CPPUNIT_ASSERT(v.action == Action::log);
        CPPUNIT_ASSERT(v.edits.empty());
        CPPUNIT_ASSERT(!v.reply);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RulesTest);

// Tests for milter/apply: what a Verdict turns into on the MilterContext seam, checked with a
// fake context that records every call (and can be told to fail one).
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "milter/apply.h"
#include "policy/reply.h"

namespace {

using ecomm::Action;
using ecomm::HeaderEdit;
using ecomm::MilterStatus;
using ecomm::Verdict;

// libmilter's MAXREPLYLEN (smfi.c): smfi_setreply refuses a longer text, escaping included.
constexpr std::size_t kLibmilterMaxReplyText = 980;

// Records each call as one line, e.g. "add X-A: 1", and fails the call whose number (1-based)
// is fail_call, and a reply text libmilter would refuse.
class RecordingContext : public ecomm::MilterContext {
public:
    std::vector<std::string> calls;
    int fail_call = 0;

    bool add_header(const std::string& name, const std::string& value) override
    {
        return record("add " + name + ": " + value);
    }
    bool change_header(const std::string& name, int index, const std::string& value) override
    {
        return record("change " + name + "[" + std::to_string(index) + "]: " + value);
    }
    bool insert_header(int index, const std::string& name, const std::string& value) override
    {
        return record("insert[" + std::to_string(index) + "] " + name + ": " + value);
    }
    bool remove_header(const std::string& name, int index) override
    {
        return record("remove " + name + "[" + std::to_string(index) + "]");
    }
    bool set_reply(const std::string& code, const std::string& enhanced, const std::string& text) override
    {
        if (text.size() > kLibmilterMaxReplyText) return false;
        return record("reply " + code + " " + enhanced + " " + text);
    }
    bool quarantine(const std::string& reason) override { return record("quarantine " + reason); }

private:
    bool record(std::string call)
    {
        calls.push_back(std::move(call));
        return static_cast<int>(calls.size()) != fail_call;
    }
};

// The header fields Postfix writes for the edits (milter8.c, MILTER8_HDR_SPACE): "Name:", one SP
// unless SMFIP_HDR_LEADSPC was negotiated, then the value; a change to "" deletes the field.
class PostfixFields : public ecomm::MilterContext {
public:
    explicit PostfixFields(bool leading_space_negotiated) : space_(leading_space_negotiated ? "" : " ") {}
    std::vector<std::string> fields;

    bool add_header(const std::string& name, const std::string& value) override
    {
        fields.push_back("add " + name + ":" + space_ + value);
        return true;
    }
    bool change_header(const std::string& name, int index, const std::string& value) override
    {
        const std::string where = name + "[" + std::to_string(index) + "]";
        fields.push_back(value.empty() ? "delete " + where : "change " + where + " " + name + ":" + space_ + value);
        return true;
    }
    bool insert_header(int index, const std::string& name, const std::string& value) override
    {
        fields.push_back("insert[" + std::to_string(index) + "] " + name + ":" + space_ + value);
        return true;
    }
    bool remove_header(const std::string& name, int index) override
    {
        fields.push_back("delete " + name + "[" + std::to_string(index) + "]");
        return true;
    }
    bool set_reply(const std::string&, const std::string&, const std::string&) override { return true; }
    bool quarantine(const std::string&) override { return true; }

private:
    std::string space_;
};

Verdict refusal(Action action, const char* code, const char* enhanced, const char* text)
{
    Verdict verdict;
    verdict.action = verdict.would_be = action;
    verdict.deciding_rule = "attachments";
    verdict.reply = ecomm::Reply{code, enhanced, text};
    return verdict;
}

HeaderEdit add(const char* name, const char* value)
{
    HeaderEdit edit;
    edit.name = name;
    edit.value = value;
    return edit;
}

HeaderEdit change(const char* name, int index, const char* value)
{
    HeaderEdit edit = add(name, value);
    edit.kind = HeaderEdit::Kind::change;
    edit.index = index;
    return edit;
}

using Calls = std::vector<std::string>;

}  // namespace

class ApplyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ApplyTest);
    CPPUNIT_TEST(reject_sets_reply_with_percent_doubled);
    CPPUNIT_TEST(tempfail_sets_reply);
    CPPUNIT_TEST(refusal_without_reply_makes_no_call);
    CPPUNIT_TEST(quarantine_edits_then_holds);
    CPPUNIT_TEST(quarantine_without_reason_names_rule);
    CPPUNIT_TEST(edits_in_order_then_subject);
    CPPUNIT_TEST(junk_and_tag_apply_edits);
    CPPUNIT_TEST(removals_and_insert_in_order);
    CPPUNIT_TEST(edits_carry_the_leading_space_when_values_go_as_written);
    CPPUNIT_TEST(discard_makes_no_call);
    CPPUNIT_TEST(accept_without_edits_makes_no_call);
    CPPUNIT_TEST(failed_reply_is_reported);
    CPPUNIT_TEST(failed_edit_stops_and_is_reported);
    CPPUNIT_TEST(failed_quarantine_is_reported);
    CPPUNIT_TEST(escape_doubles_every_percent);
    CPPUNIT_TEST(reply_full_of_percent_signs_fits_libmilter);
    CPPUNIT_TEST_SUITE_END();

public:
    void reject_sets_reply_with_percent_doubled()
    {
        RecordingContext context;
        const auto result = ecomm::apply_verdict(
            refusal(Action::reject, "550", "5.7.1", "100% of attachments are refused"), context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::reject);
        CPPUNIT_ASSERT(context.calls == Calls{"reply 550 5.7.1 100%% of attachments are refused"});
    }

    void tempfail_sets_reply()
    {
        RecordingContext context;
        const auto result = ecomm::apply_verdict(
            refusal(Action::tempfail, "451", "4.7.1", "rate limit, retry after 10:05"), context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::tempfail);
        CPPUNIT_ASSERT(context.calls == Calls{"reply 451 4.7.1 rate limit, retry after 10:05"});
    }

    void refusal_without_reply_makes_no_call()
    {
        RecordingContext context;
        Verdict verdict = refusal(Action::reject, "550", "5.7.1", "x");
        verdict.reply.reset();
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::reject);
        CPPUNIT_ASSERT(context.calls.empty());
    }

    void quarantine_edits_then_holds()
    {
        RecordingContext context;
        Verdict verdict;
        verdict.action = verdict.would_be = Action::quarantine;
        verdict.quarantine_reason = "authentication failed for marketing-cloud";
        verdict.edits = {add("X-Ecomm-Policy", "authentication=fail")};
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::accept);
        CPPUNIT_ASSERT(context.calls == (Calls{"add X-Ecomm-Policy: authentication=fail",
                                               "quarantine authentication failed for marketing-cloud"}));
    }

    void quarantine_without_reason_names_rule()
    {
        RecordingContext context;
        Verdict verdict;
        verdict.action = Action::quarantine;
        verdict.deciding_rule = "authentication";
        ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(context.calls == Calls{"quarantine eComm policy: authentication"});
    }

    void edits_in_order_then_subject()
    {
        RecordingContext context;
        Verdict verdict;
        verdict.action = Action::tag;
        verdict.edits = {change("Authentication-Results", 2, ""),
                         add("Authentication-Results", "mx; spf=pass"), add("X-Ecomm-External", "yes")};
        verdict.new_subject = "[EXTERNAL] Hello";
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::accept);
        CPPUNIT_ASSERT(context.calls == (Calls{"change Authentication-Results[2]: ",
                                               "add Authentication-Results: mx; spf=pass",
                                               "add X-Ecomm-External: yes",
                                               "change Subject[1]: [EXTERNAL] Hello"}));
    }

    void removals_and_insert_in_order()
    {
        Verdict verdict;
        HeaderEdit remove2{HeaderEdit::Kind::remove, "Authentication-Results", "", 2};
        HeaderEdit remove1{HeaderEdit::Kind::remove, "Authentication-Results", "", 1};
        HeaderEdit insert{HeaderEdit::Kind::insert, "Authentication-Results", "mx; spf=pass", 0};
        verdict.edits = {remove2, remove1, insert};
        RecordingContext context;
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(result.ok);
        const std::vector<std::string> expected{"remove Authentication-Results[2]", "remove Authentication-Results[1]",
                                                "insert[0] Authentication-Results: mx; spf=pass"};
        CPPUNIT_ASSERT(expected == context.calls);
    }

    // With SMFIP_HDR_LEADSPC negotiated the MTA inserts no space after the colon: the values sent
    // carry it, so the delivered fields are the same as without ("Subject: [EXTERNAL] Hello", not
    // "Subject:[EXTERNAL] Hello"). An empty change is still a removal.
    void edits_carry_the_leading_space_when_values_go_as_written()
    {
        Verdict verdict;
        verdict.action = Action::tag;
        verdict.edits = {change("Authentication-Results", 2, ""), HeaderEdit{HeaderEdit::Kind::remove, "X-Old", "", 1},
                         HeaderEdit{HeaderEdit::Kind::insert, "Authentication-Results", "mx; spf=pass", 0},
                         add("X-Ecomm-External", "yes"), add("X-Spam-Flag", "YES")};
        verdict.new_subject = "[EXTERNAL] Hello";
        const Calls expected{"delete Authentication-Results[2]",
                             "delete X-Old[1]",
                             "insert[0] Authentication-Results: mx; spf=pass",
                             "add X-Ecomm-External: yes",
                             "add X-Spam-Flag: YES",
                             "change Subject[1] Subject: [EXTERNAL] Hello"};
        PostfixFields stripping(false);
        CPPUNIT_ASSERT(ecomm::apply_verdict(verdict, stripping).ok);
        CPPUNIT_ASSERT(expected == stripping.fields);
        PostfixFields as_written(true);
        CPPUNIT_ASSERT(ecomm::apply_verdict(verdict, as_written, ecomm::HeaderValueForm::as_written).ok);
        CPPUNIT_ASSERT(expected == as_written.fields);

        // And what goes over the wire: the values with their space.
        RecordingContext context;
        ecomm::apply_verdict(verdict, context, ecomm::HeaderValueForm::as_written);
        CPPUNIT_ASSERT(context.calls == (Calls{"change Authentication-Results[2]: ", "remove X-Old[1]",
                                               "insert[0] Authentication-Results:  mx; spf=pass",
                                               "add X-Ecomm-External:  yes", "add X-Spam-Flag:  YES",
                                               "change Subject[1]:  [EXTERNAL] Hello"}));
    }

    void junk_and_tag_apply_edits()
    {
        for (const Action action : {Action::junk, Action::tag, Action::log}) {
            RecordingContext context;
            Verdict verdict;
            verdict.action = action;
            verdict.edits = {add("X-Spam-Flag", "YES")};
            const auto result = ecomm::apply_verdict(verdict, context);
            CPPUNIT_ASSERT(result.status == MilterStatus::accept);
            CPPUNIT_ASSERT(context.calls == Calls{"add X-Spam-Flag: YES"});
        }
    }

    void discard_makes_no_call()
    {
        RecordingContext context;
        Verdict verdict;
        verdict.action = Action::discard;
        verdict.edits = {add("X-Never", "seen")};
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::discard);
        CPPUNIT_ASSERT(context.calls.empty());
    }

    void accept_without_edits_makes_no_call()
    {
        RecordingContext context;
        const auto result = ecomm::apply_verdict(Verdict{}, context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.error.empty());
        CPPUNIT_ASSERT(result.status == MilterStatus::accept);
        CPPUNIT_ASSERT(context.calls.empty());
    }

    void failed_reply_is_reported()
    {
        RecordingContext context;
        context.fail_call = 1;
        const auto result = ecomm::apply_verdict(refusal(Action::reject, "550", "5.7.1", "no"), context);
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT(result.error.find("set reply") != std::string::npos);
    }

    void failed_edit_stops_and_is_reported()
    {
        RecordingContext context;
        context.fail_call = 2;
        Verdict verdict;
        verdict.edits = {add("A", "1"), add("B", "2"), add("C", "3")};
        verdict.new_subject = "s";
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(std::string("add header B failed"), result.error);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, context.calls.size());
    }

    void failed_quarantine_is_reported()
    {
        RecordingContext context;
        context.fail_call = 1;
        Verdict verdict;
        verdict.action = Action::quarantine;
        verdict.quarantine_reason = "held";
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(std::string("quarantine failed"), result.error);
    }

    void escape_doubles_every_percent()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a%%b%%%%c"), ecomm::escape_reply_text("a%b%%c"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), ecomm::escape_reply_text(""));
        CPPUNIT_ASSERT_EQUAL(std::string("%%"), ecomm::escape_reply_text("%"));
    }

    // A sender's file name can be all '%': make_reply leaves room for the doubling, so the
    // reply still reaches the MTA instead of failing into the on_error answer.
    void reply_full_of_percent_signs_fits_libmilter()
    {
        ecomm::RuleResult rule;
        rule.rule = "attachments";
        rule.reply_text = "attachment report-" + std::string(900, '%') + ".pdf is not allowed";
        rule.policy_section = "IV.B.3.c.v";
        rule.enhanced_status = "5.7.1";
        Verdict verdict;
        verdict.action = verdict.would_be = Action::reject;
        verdict.deciding_rule = "attachments";
        verdict.reply = ecomm::make_reply(Action::reject, rule, "https://p.example.edu/policy%20text");
        RecordingContext context;
        const auto result = ecomm::apply_verdict(verdict, context);
        CPPUNIT_ASSERT(result.ok);
        CPPUNIT_ASSERT(result.status == MilterStatus::reject);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, context.calls.size());
        CPPUNIT_ASSERT(context.calls[0].starts_with("reply 550 5.7.1 attachment report-%%%%"));
        CPPUNIT_ASSERT(context.calls[0].ends_with("(eComm policy IV.B.3.c.v; https://p.example.edu/policy%%20text)"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ApplyTest);

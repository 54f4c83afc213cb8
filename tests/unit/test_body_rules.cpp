// The attachments and unsubscribe rules: who they judge, what they find, and what the sender is
// told — through the Session, so the MIME scanner and link finder run as they do in the milter.
#include <cppunit/extensions/HelperMacros.h>

#include "core/session.h"
#include "fixtures.h"
#include "policy/pipeline.h"
#include "policy/rule.h"

using namespace ecomm;
using namespace ecomm::test;

namespace {

const std::string kPdfMessage =
    "--b1\r\nContent-Type: text/plain\r\n\r\nSee the report.\r\n"
    "--b1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "JVBERi0xLjQK\r\n--b1--\r\n";

struct Message {
    std::string client = "192.0.2.7";
    std::string mail_from = "<bounce-mc7f3a-1@e.example.edu>";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body = "Hello.\r\n";
    int recipients = 1;
};

// facts, when given, receives what the session gathered. Without end_of_headers the body's
// first chunk ends the headers, as under an MTA that sends no end-of-headers command.
Verdict run(const Snapshot& snapshot, const Message& m, MessageFacts* facts = nullptr, bool end_of_headers = true)
{
    Session session(share(snapshot));
    session.connect("c.test", ip(m.client));
    session.mail_from(m.mail_from, "");
    for (int i = 0; i < m.recipients; ++i) session.recipient("<r" + std::to_string(i) + "@example.edu>");
    for (const auto& [name, value] : m.headers) session.header(name, value);
    if (end_of_headers) session.end_of_headers();
    // Two chunks split mid-body, as libmilter may deliver them.
    const std::size_t half = m.body.size() / 2;
    session.body(std::string_view(m.body).substr(0, half));
    session.body(std::string_view(m.body).substr(half));
    Verdict verdict = session.end_of_message("Q", test_now());
    if (facts) *facts = session.facts();
    return verdict;
}

const RuleResult& result_of(const Verdict& v, const std::string& rule)
{
    for (const auto& r : v.results)
        if (r.rule == rule) return r;
    throw std::runtime_error("no result for " + rule);
}

Message pdf_message()
{
    Message m;
    m.headers = {{"From", "news@e.example.edu"}, {"Subject", "Report"}, {"MIME-Version", "1.0"},
                 {"Content-Type", "multipart/mixed; boundary=\"b1\""},
                 {"List-Unsubscribe", "<https://e.example.edu/u?x=1>"}};
    m.body = kPdfMessage;
    return m;
}

Message newsletter(std::vector<std::pair<std::string, std::string>> extra, std::string body)
{
    Message m;
    m.headers = {{"From", "news@e.example.edu"}, {"Subject", "News"}, {"MIME-Version", "1.0"},
                 {"Content-Type", "text/html; charset=utf-8"}};
    m.headers.insert(m.headers.end(), extra.begin(), extra.end());
    m.body = std::move(body);
    return m;
}

}  // namespace

class BodyRulesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BodyRulesTest);
    CPPUNIT_TEST(registeredPdfIsRejectedNamingThePart);
    CPPUNIT_TEST(linkInsteadOfAttachmentIsAccepted);
    CPPUNIT_TEST(externalSendersAreNotJudgedUnlessManyRecipients);
    CPPUNIT_TEST(internalMailIsNotScanned);
    CPPUNIT_TEST(promotionalWithoutUnsubscribeIsRejected);
    CPPUNIT_TEST(listUnsubscribeSatisfiesTheRule);
    CPPUNIT_TEST(bodyLinkCountsOnlyWhenAllowed);
    CPPUNIT_TEST(transactionalNeedsNoUnsubscribe);
    CPPUNIT_TEST(bodyIsNotSearchedWhenListUnsubscribeSuffices);
    CPPUNIT_TEST(skippedSearchNeverChangesTheVerdict);
    CPPUNIT_TEST(bodyIsSearchedOnlyWhenPromotionalMailOfARegisteredSenderIsPossible);
    CPPUNIT_TEST(possibleEntriesFollowTheClassifier);
    CPPUNIT_TEST(theBodyEndsTheHeadersWhenTheMtaSendsNoEndOfHeaders);
    CPPUNIT_TEST_SUITE_END();

public:
    void registeredPdfIsRejectedNamingThePart()
    {
        const Verdict v = run(base_snapshot(), pdf_message());
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("attachments"), v.deciding_rule);
        CPPUNIT_ASSERT_EQUAL(std::string("part 2 application/pdf \"report.pdf\" (name)"), result_of(v, "attachments").detail);
        CPPUNIT_ASSERT(v.reply->text.find("part 2 application/pdf \"report.pdf\" is an attachment") != std::string::npos);
        CPPUNIT_ASSERT(v.reply->text.find("link to it instead") != std::string::npos);
        CPPUNIT_ASSERT(v.reply->text.find("IV.B.3.c.v") != std::string::npos);
    }

    void linkInsteadOfAttachmentIsAccepted()
    {
        Message m = newsletter({{"List-Unsubscribe", "<https://e.example.edu/u?x=1>"}},
                               "<p>The report: <a href=\"https://www.example.edu/report.pdf\">report</a></p>\r\n");
        const Verdict v = run(base_snapshot(), m);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "attachments").result);
        CPPUNIT_ASSERT(v.action == Action::accept);
    }

    void externalSendersAreNotJudgedUnlessManyRecipients()
    {
        Message m = pdf_message();
        m.client = "203.0.113.9";
        m.mail_from = "<a@outside.test>";
        m.headers[0] = {"From", "a@outside.test"};
        Verdict v = run(base_snapshot(), m);
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), result_of(v, "attachments").result);
        CPPUNIT_ASSERT(v.action == Action::tag);

        Snapshot s = base_snapshot();
        s.config.body_rules_min_recipients = 5;
        m.recipients = 6;
        v = run(s, m);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), result_of(v, "attachments").result);
        CPPUNIT_ASSERT(v.action == Action::reject);
        m.recipients = 5;
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), result_of(run(s, m), "attachments").result);
    }

    void internalMailIsNotScanned()
    {
        Message m = pdf_message();
        m.client = "10.2.3.4";
        const Verdict v = run(base_snapshot(), m);
        CPPUNIT_ASSERT(v.action == Action::accept);
        CPPUNIT_ASSERT_EQUAL(std::string("not scanned (internal sender)"), result_of(v, "attachments").detail);
    }

    void promotionalWithoutUnsubscribeIsRejected()
    {
        const Verdict v = run(base_snapshot(), newsletter({}, "<p>Big sale this week.</p>\r\n"));
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("unsubscribe"), v.deciding_rule);
        CPPUNIT_ASSERT(v.reply->text.find("List-Unsubscribe") != std::string::npos);
        CPPUNIT_ASSERT(v.reply->text.find("IV.C.1.a") != std::string::npos);
    }

    void listUnsubscribeSatisfiesTheRule()
    {
        const Verdict v = run(base_snapshot(), newsletter({{"List-Unsubscribe", "<https://e.example.edu/u?x=1>, <mailto:u@e.example.edu>"},
                                                           {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
                                                          "<p>News.</p>\r\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "unsubscribe").result);
        CPPUNIT_ASSERT_EQUAL(std::string("List-Unsubscribe https, one-click valid"), result_of(v, "unsubscribe").detail);
        // A header with nothing usable in it is no mechanism.
        const Verdict bad = run(base_snapshot(), newsletter({{"List-Unsubscribe", "{{unsubscribe_url}}"}}, "<p>News.</p>\r\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), result_of(bad, "unsubscribe").result);
        // An http link in the header counts as the same link in the body would (RFC 2369).
        const Verdict http = run(base_snapshot(), newsletter({{"List-Unsubscribe", "<http://e.example.edu/u/1>"}},
                                                             "<p>News.</p>\r\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(http, "unsubscribe").result);
        CPPUNIT_ASSERT_EQUAL(std::string("List-Unsubscribe http, one-click absent"), result_of(http, "unsubscribe").detail);
    }

    void bodyLinkCountsOnlyWhenAllowed()
    {
        const std::string body = "<p>News.</p><p><a href=\"https://e.example.edu/prefs?id=9\">Unsubscribe</a></p>\r\n";
        Verdict v = run(base_snapshot(), newsletter({}, body));
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "unsubscribe").result);
        CPPUNIT_ASSERT(result_of(v, "unsubscribe").detail.find("https://e.example.edu/prefs?id=9") != std::string::npos);

        Snapshot s = base_snapshot();
        s.config.unsubscribe_body_link = false;
        v = run(s, newsletter({}, body));
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), result_of(v, "unsubscribe").result);
    }

    void transactionalNeedsNoUnsubscribe()
    {
        Snapshot s = base_snapshot();
        s.registry.entries[0].category = Category::transactional;
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), result_of(run(s, newsletter({}, "Your receipt.\r\n")), "unsubscribe").result);

        s.registry.entries[0].category = Category::per_message;
        s.config.category_header = "X-Ecomm-Category";
        Verdict v = run(s, newsletter({{"X-Ecomm-Category", "transactional"}}, "Your receipt.\r\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("skip"), result_of(v, "unsubscribe").result);
        v = run(s, newsletter({}, "Sale!\r\n"));  // no header: promotional, the strict default
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), result_of(v, "unsubscribe").result);
    }

    // A usable List-Unsubscribe settles the unsubscribe rule before any body link is looked at,
    // so the session does not search the text for one; the attachment checks still read it.
    void bodyIsNotSearchedWhenListUnsubscribeSuffices()
    {
        const std::string body = "<p>News.</p><p><a href=\"https://e.example.edu/prefs?id=9\">Unsubscribe</a></p>\r\n";
        MessageFacts facts;
        Verdict v = run(base_snapshot(), newsletter({}, body), &facts);
        CPPUNIT_ASSERT(facts.unsubscribe_link);  // searched and found
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/prefs?id=9"), facts.unsubscribe_link_evidence);

        v = run(base_snapshot(), newsletter({{"List-Unsubscribe", "<mailto:leave@e.example.edu>"}}, body), &facts);
        CPPUNIT_ASSERT(!facts.unsubscribe_link);  // the link is there, but nobody looked
        CPPUNIT_ASSERT(facts.unsubscribe_link_evidence.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "unsubscribe").result);
        CPPUNIT_ASSERT_EQUAL(std::string("List-Unsubscribe mailto, one-click absent"), result_of(v, "unsubscribe").detail);

        // A header without a usable URI settles nothing: the body is searched.
        for (const char* unusable : {"{{unsubscribe_url}}", "<ftp://e.example.edu/u>"}) {
            v = run(base_snapshot(), newsletter({{"List-Unsubscribe", unusable}}, body), &facts);
            CPPUNIT_ASSERT_MESSAGE(unusable, facts.unsubscribe_link);
            CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "unsubscribe").result);
            CPPUNIT_ASSERT(result_of(v, "unsubscribe").detail.find("link in the body") != std::string::npos);
        }

        // Attachments hidden in the text are still found.
        Message uu = newsletter({{"List-Unsubscribe", "<https://e.example.edu/u?x=1>"}},
                                "Report:\r\nbegin 644 report.exe\r\nM'XL(\"$AB;6%I;\"YT>'0`2\\W)5RC/+\\I)45(H2<U+3E%(S\\M7R,M/5D@M\\RU5\r\n`\r\nend\r\n");
        uu.headers[3] = {"Content-Type", "text/plain"};
        v = run(base_snapshot(), uu, &facts);
        CPPUNIT_ASSERT(!facts.unsubscribe_link);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, facts.attachments.size());
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), facts.attachments[0].reason);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), result_of(v, "attachments").result);
    }

    // Had the search run, it could only have set the facts it skips: the pipeline over the same
    // facts with either answer gives the session's verdict, word for word.
    void skippedSearchNeverChangesTheVerdict()
    {
        const std::vector<std::string> bodies = {
            "<p>News.</p><p><a href=\"https://e.example.edu/prefs?id=9\">Unsubscribe</a></p>\r\n",
            "<p>News without any link.</p>\r\n"};
        const std::vector<std::vector<std::pair<std::string, std::string>>> headers = {
            {{"List-Unsubscribe", "<https://e.example.edu/u?x=1>"}},
            {{"List-Unsubscribe", "<https://e.example.edu/u?x=1>"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
            {{"List-Unsubscribe", "junk, <mailto:u@e.example.edu>"}},
            {{"List-Unsubscribe", "{{unsubscribe_url}}"}, {"List-Unsubscribe", "<https://e.example.edu/u>"}}};
        for (bool body_link_allowed : {true, false}) {
            Snapshot snapshot = base_snapshot();
            snapshot.config.unsubscribe_body_link = body_link_allowed;
            for (const auto& extra : headers)
                for (const auto& body : bodies) {
                    MessageFacts facts;
                    const Verdict v = run(snapshot, newsletter(extra, body), &facts);
                    CPPUNIT_ASSERT(!facts.unsubscribe_link);  // not searched
                    CPPUNIT_ASSERT_EQUAL(std::string("pass"), result_of(v, "unsubscribe").result);
                    for (bool link : {false, true}) {
                        MessageFacts searched = facts;
                        searched.unsubscribe_link = link;
                        searched.unsubscribe_link_evidence = link ? "https://e.example.edu/prefs?id=9" : "";
                        const Verdict w = run_pipeline(searched, snapshot);
                        CPPUNIT_ASSERT(w.action == v.action);
                        CPPUNIT_ASSERT_EQUAL(v.deciding_rule, w.deciding_rule);
                        CPPUNIT_ASSERT_EQUAL(result_of(v, "unsubscribe").result, result_of(w, "unsubscribe").result);
                        CPPUNIT_ASSERT_EQUAL(result_of(v, "unsubscribe").detail, result_of(w, "unsubscribe").detail);
                        CPPUNIT_ASSERT_EQUAL(v.reply.has_value(), w.reply.has_value());
                    }
                }
        }
    }

    // The unsubscribe rule judges only promotional mail of registered senders (or, with
    // min_recipients, anybody's): when no registry entry the message may be classified under
    // makes it promotional, the text is not searched, and the verdict is what it would have been
    // with either answer from the search.
    void bodyIsSearchedOnlyWhenPromotionalMailOfARegisteredSenderIsPossible()
    {
        const std::string body = "<p>News.</p><p><a href=\"https://e.example.edu/prefs?id=9\">Unsubscribe</a></p>\r\n";
        struct Case {
            std::string name;
            Snapshot snapshot;
            Message message;
            bool searched;
        };
        std::vector<Case> cases;
        cases.push_back({"promotional entry", base_snapshot(), newsletter({}, body), true});
        Snapshot transactional = base_snapshot();
        transactional.registry.entries[0].category = Category::transactional;
        cases.push_back({"transactional entry", transactional, newsletter({}, body), false});
        Snapshot expiring = transactional;
        expiring.registry.entries[0].expires = Date{2999, 1, 1};  // could lapse: "shared" might apply
        cases.push_back({"transactional entry with an expiry date", expiring, newsletter({}, body), true});
        Snapshot per_message = base_snapshot();
        per_message.registry.entries[0].category = Category::per_message;
        per_message.config.category_header = "X-Ecomm-Category";
        cases.push_back({"per-message entry, header says transactional", per_message,
                         newsletter({{"X-Ecomm-Category", "transactional"}}, body), false});
        cases.push_back({"per-message entry, no header", per_message, newsletter({}, body), true});
        Message outside = newsletter({}, body);
        outside.client = "203.0.113.9";
        outside.mail_from = "<a@outside.test>";
        outside.headers[0] = {"From", "a@outside.test"};
        cases.push_back({"outside sender", base_snapshot(), outside, false});
        Snapshot many = base_snapshot();
        many.config.body_rules_min_recipients = 5;
        Message outside_to_many = outside;
        outside_to_many.recipients = 6;
        cases.push_back({"outside sender, over min_recipients", many, outside_to_many, true});
        for (const Case& c : cases) {
            MessageFacts facts;
            const Verdict v = run(c.snapshot, c.message, &facts);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.searched, facts.unsubscribe_link);
            if (c.searched) continue;
            for (bool link : {false, true}) {
                MessageFacts searched = facts;
                searched.unsubscribe_link = link;
                searched.unsubscribe_link_evidence = link ? "https://e.example.edu/prefs?id=9" : "";
                const Verdict w = run_pipeline(searched, c.snapshot);
                CPPUNIT_ASSERT_MESSAGE(c.name, w.action == v.action);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, v.deciding_rule, w.deciding_rule);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, result_of(v, "unsubscribe").result, result_of(w, "unsubscribe").result);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, result_of(v, "unsubscribe").detail, result_of(w, "unsubscribe").detail);
            }
        }
    }

    // A signature can register a message from an outside network (classify's second way), so
    // the d= of its signatures keep the search for their entries.
    void possibleEntriesFollowTheClassifier()
    {
        Snapshot s = base_snapshot();
        MessageFacts facts;
        facts.client_ip = ip("203.0.113.9");
        facts.mail_from = "a@outside.test";
        CPPUNIT_ASSERT(possible_entries(facts, s, {}).empty());
        CPPUNIT_ASSERT(possible_entries(facts, s, {"outside.test"}).empty());
        CPPUNIT_ASSERT(!unsubscribe_link_may_matter(facts, s, {}));
        const auto signed_by_events = possible_entries(facts, s, {"mail.events.example.edu"});
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, signed_by_events.size());
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"), signed_by_events[0]->id);
        CPPUNIT_ASSERT(unsubscribe_link_may_matter(facts, s, {"mail.events.example.edu"}));
        s.registry.entries[1].category = Category::transactional;
        CPPUNIT_ASSERT(!unsubscribe_link_may_matter(facts, s, {"mail.events.example.edu"}));

        // On the network mc and shared share, the MAIL FROM's identifier picks mc for sure...
        facts.client_ip = ip("192.0.2.7");
        facts.mail_from = "bounce-sh55-1@news.example.edu";
        const auto shared = possible_entries(facts, s, {});
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, shared.size());
        CPPUNIT_ASSERT_EQUAL(std::string("shared"), shared[0]->id);
        CPPUNIT_ASSERT_EQUAL(std::string("shared"), classify(facts, s).entry->id);
        // ... unless the one picked may expire before the end of the message: then both.
        s.registry.entries[2].expires = Date{2999, 1, 1};
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, possible_entries(facts, s, {}).size());
    }

    void theBodyEndsTheHeadersWhenTheMtaSendsNoEndOfHeaders()
    {
        // An attachment behind a MIME boundary, and a promotional newsletter whose unsubscribe
        // link is in the HTML body: both need the headers ended before the body is scanned.
        const Message without_link = newsletter({}, "<p>Sale!</p>\r\n");
        const Message with_link =
            newsletter({}, "<p>Sale! <a href=\"https://e.example.edu/unsubscribe?u=1\">Unsubscribe</a></p>\r\n");
        for (const Message& m : {pdf_message(), without_link, with_link}) {
            MessageFacts with_command, without_command;
            const Verdict expected = run(base_snapshot(), m, &with_command);
            const Verdict v = run(base_snapshot(), m, &without_command, false);
            CPPUNIT_ASSERT(expected.action == v.action);
            CPPUNIT_ASSERT_EQUAL(expected.deciding_rule, v.deciding_rule);
            CPPUNIT_ASSERT_EQUAL(with_command.attachments.size(), without_command.attachments.size());
            CPPUNIT_ASSERT_EQUAL(with_command.unsubscribe_link, without_command.unsubscribe_link);
        }
        CPPUNIT_ASSERT(run(base_snapshot(), pdf_message(), nullptr, false).action == Action::reject);

        // And the body is still not searched when List-Unsubscribe settles the rule.
        const std::string body = "<p>News.</p><p><a href=\"https://e.example.edu/prefs?id=9\">Unsubscribe</a></p>\r\n";
        MessageFacts facts;
        run(base_snapshot(), newsletter({{"List-Unsubscribe", "<mailto:leave@e.example.edu>"}}, body), &facts, false);
        CPPUNIT_ASSERT(!facts.unsubscribe_link);
        run(base_snapshot(), newsletter({}, body), &facts, false);
        CPPUNIT_ASSERT(facts.unsubscribe_link);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BodyRulesTest);

// Campaign identity and audience: which header names a campaign, how subjects are normalised,
// what keeps two campaigns apart (sender, day, text past the length cut), which recipients count
// as the university audience, and the declared audience header.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "policy/campaign.h"
#include "util/hash.h"

namespace ecomm {
namespace {

const std::vector<std::string> kCampaignHeaders{"Feedback-ID", "List-Id", "X-Campaign"};
const Date kMonday{2026, 11, 30};

MessageFacts message(std::vector<Header> headers)
{
    MessageFacts facts;
    facts.mail_from = "bounce-mc7f3a-1@e.example.edu";
    facts.headers = std::move(headers);
    return facts;
}

std::string key_of(const MessageFacts& facts, std::string_view sender = "mc", const Date& day = kMonday)
{
    return campaign_of(facts, sender, kCampaignHeaders, day).key;
}

std::string subject_key(const std::string& subject, std::string_view sender = "mc", const Date& day = kMonday)
{
    return key_of(message({{"From", "news@e.example.edu"}, {"Subject", subject}}), sender, day);
}

}  // namespace

class CampaignTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CampaignTest);
    CPPUNIT_TEST(headerWinsOverSubject);
    CPPUNIT_TEST(firstConfiguredHeaderPresentWins);
    CPPUNIT_TEST(headerFoldingIsCollapsed);
    CPPUNIT_TEST(emptyHeaderIsPassedOver);
    CPPUNIT_TEST(subjectIsNormalised);
    CPPUNIT_TEST(subjectKeyWithoutSubject);
    CPPUNIT_TEST(dayAndSenderKeepCampaignsApart);
    CPPUNIT_TEST(longKeysAreCutAndStayApart);
    CPPUNIT_TEST(longKeysAreCutBetweenCharacters);
    CPPUNIT_TEST(universityRecipientsAreDistinctAndHashed);
    CPPUNIT_TEST(declaredAudienceIsAWholeNumber);
    CPPUNIT_TEST_SUITE_END();

public:
    void headerWinsOverSubject()
    {
        const auto facts = message({{"Subject", "Spring newsletter"}, {"Feedback-ID", " 123:456:campaign7:mc "}});
        const auto id = campaign_of(facts, "mc", kCampaignHeaders, kMonday);
        CPPUNIT_ASSERT_EQUAL(std::string("mc|Feedback-ID:123:456:campaign7:mc"), id.key);
        CPPUNIT_ASSERT_EQUAL(std::string("Feedback-ID header"), id.source);
        // The header names the campaign whatever the day.
        CPPUNIT_ASSERT_EQUAL(id.key, key_of(facts, "mc", Date{2026, 12, 1}));
    }

    void firstConfiguredHeaderPresentWins()
    {
        // Configured order decides, not message order; the key uses the configured spelling.
        const auto facts = message({{"x-campaign", "c-99"}, {"LIST-ID", "<news.example.edu>"}, {"List-Id", "<other>"}});
        const auto id = campaign_of(facts, "mc", kCampaignHeaders, kMonday);
        CPPUNIT_ASSERT_EQUAL(std::string("mc|List-Id:<news.example.edu>"), id.key);
        CPPUNIT_ASSERT_EQUAL(std::string("List-Id header"), id.source);

        CPPUNIT_ASSERT_EQUAL(std::string("mc|X-Campaign:c-99"), key_of(message({{"X-Campaign", "c-99"}})));
        // No campaign headers configured: the subject decides.
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:hello|2026-11-30"),
                             campaign_of(message({{"X-Campaign", "c-99"}, {"Subject", "Hello"}}), "mc", {}, kMonday).key);
    }

    void headerFoldingIsCollapsed()
    {
        const auto folded = message({{"Feedback-ID", "123:456\r\n\t:campaign7   :mc\r\n "}});
        CPPUNIT_ASSERT_EQUAL(std::string("mc|Feedback-ID:123:456 :campaign7 :mc"), key_of(folded));
        CPPUNIT_ASSERT_EQUAL(key_of(folded), key_of(message({{"Feedback-ID", "123:456 :campaign7 :mc"}})));
    }

    void emptyHeaderIsPassedOver()
    {
        const auto facts = message({{"Feedback-ID", " \r\n "}, {"List-Id", "<news.example.edu>"}, {"Subject", "Hi"}});
        CPPUNIT_ASSERT_EQUAL(std::string("mc|List-Id:<news.example.edu>"), key_of(facts));
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:hi|2026-11-30"), key_of(message({{"List-Id", ""}, {"Subject", "Hi"}})));
    }

    void subjectIsNormalised()
    {
        const auto id = campaign_of(message({{"Subject", "Spring Newsletter"}}), "mc", kCampaignHeaders, kMonday);
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:spring newsletter|2026-11-30"), id.key);
        CPPUNIT_ASSERT_EQUAL(std::string("subject and day"), id.source);
        for (const char* variant : {"Re: Spring Newsletter", "RE:spring newsletter", "  Spring\r\n\t Newsletter ",
                                    "Fwd: Re:  FW: spring NEWSLETTER", "re: re: re: Spring Newsletter"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(variant, id.key, subject_key(variant));
        // Only leading prefixes go, and only those three.
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:spring newsletter re: more|2026-11-30"),
                             subject_key("Spring newsletter Re: more"));
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:aw: spring newsletter|2026-11-30"),
                             subject_key("AW: Spring Newsletter"));
        // Encoded words stay as they are (see campaign.cpp): only their ASCII is lower-cased.
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:=?utf-8?q?caf=c3=a9?=|2026-11-30"),
                             subject_key("=?UTF-8?Q?Caf=C3=A9?="));
        CPPUNIT_ASSERT(subject_key("Spring newsletter") != subject_key("Summer newsletter"));
    }

    void subjectKeyWithoutSubject()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:|2026-11-30"), key_of(message({{"From", "a@example.edu"}})));
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:|2026-11-30"), subject_key(" Re: "));
    }

    void dayAndSenderKeepCampaignsApart()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("mc|subject:hello|2026-12-01"), subject_key("Hello", "mc", Date{2026, 12, 1}));
        CPPUNIT_ASSERT(subject_key("Hello", "mc", kMonday) != subject_key("Hello", "mc", Date{2026, 12, 1}));
        CPPUNIT_ASSERT_EQUAL(std::string("cvent|subject:hello|2026-11-30"), subject_key("Hello", "cvent"));
        const auto with_header = message({{"Feedback-ID", "1:2:3"}});
        CPPUNIT_ASSERT(key_of(with_header, "mc") != key_of(with_header, "cvent"));
    }

    void longKeysAreCutAndStayApart()
    {
        const std::string long_id(300, 'a');
        const auto key = key_of(message({{"Feedback-ID", long_id}}));
        CPPUNIT_ASSERT_EQUAL(std::size_t{200}, key.size());
        CPPUNIT_ASSERT_EQUAL(std::string("mc|Feedback-ID:") + std::string(168, 'a'), key.substr(0, 183));
        CPPUNIT_ASSERT_EQUAL('~', key[183]);
        CPPUNIT_ASSERT_EQUAL(key, key_of(message({{"Feedback-ID", long_id}})));  // stable

        // Text past the cut still tells campaigns apart: the id's end, and a long subject's day.
        CPPUNIT_ASSERT(key != key_of(message({{"Feedback-ID", long_id + "b"}})));
        const std::string long_subject(250, 's');
        const auto monday = subject_key(long_subject, "mc", kMonday);
        const auto tuesday = subject_key(long_subject, "mc", Date{2026, 12, 1});
        CPPUNIT_ASSERT_EQUAL(std::size_t{200}, monday.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{200}, tuesday.size());
        CPPUNIT_ASSERT(monday != tuesday);

        // At exactly 200 bytes nothing is cut.
        const std::string exact = std::string(200 - std::string("mc|Feedback-ID:").size(), 'x');
        CPPUNIT_ASSERT_EQUAL("mc|Feedback-ID:" + exact, key_of(message({{"Feedback-ID", exact}})));
    }

    void longKeysAreCutBetweenCharacters()
    {
        std::string accented;
        for (int i = 0; i < 150; ++i) accented += "\xC3\xA9";  // é: two bytes each
        // "mc1|Feedback-ID:" is 16 bytes, so byte 183, where the cut would fall, is the second
        // byte of an é: the cut moves back one, and the key is 199 bytes.
        const auto key = key_of(message({{"Feedback-ID", accented}}), "mc1");
        CPPUNIT_ASSERT_EQUAL(std::size_t{199}, key.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{182}, key.find('~'));
        CPPUNIT_ASSERT_EQUAL(std::string("\xC3\xA9~"), key.substr(180, 3));
    }

    void universityRecipientsAreDistinctAndHashed()
    {
        MessageFacts facts;
        facts.recipients = {"A.Student@Example.EDU", "a.student@example.edu", "prof@Dept.Example.edu",
                            "friend@outside.test", "x@notexample.edu",  "y@example.edu.evil.test",
                            "no-at-sign",           "prof@dept.example.edu", "dean@example.edu"};
        const auto hashes = university_recipient_hashes(facts, {"example.edu"});
        const std::vector<std::uint64_t> expected{stable_hash64("a.student@example.edu"),
                                                  stable_hash64("prof@dept.example.edu"),
                                                  stable_hash64("dean@example.edu")};
        CPPUNIT_ASSERT(hashes == expected);

        CPPUNIT_ASSERT(university_recipient_hashes(facts, {}).empty());
        CPPUNIT_ASSERT(university_recipient_hashes(MessageFacts{}, {"example.edu"}).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, university_recipient_hashes(facts, {"example.edu", "outside.test"}).size());
    }

    void declaredAudienceIsAWholeNumber()
    {
        const std::string name = "X-Ecomm-Audience";
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{42000}, declared_audience(message({{"x-ecomm-audience", "42000"}}), name));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{42000}, declared_audience(message({{name, " 42000 \r\n"}}), name));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{999999999999}, declared_audience(message({{name, "999999999999"}}), name));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{7}, declared_audience(message({{name, "7"}, {name, "90000"}}), name));
        for (const char* bad : {"4.2e4", "", "  ", "-5", "+5", "42 000", "42,000", "1234567890123", "0x10", "lots"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(bad, std::uint64_t{0}, declared_audience(message({{name, bad}}), name));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, declared_audience(message({{"Subject", "42000"}}), name));  // absent
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, declared_audience(message({{"", "42000"}}), ""));        // no header configured
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CampaignTest);

}  // namespace ecomm

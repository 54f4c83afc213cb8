// Transactional vs promotional: the registry entry's category, the per-message header, and
// the strict default.
#include <cppunit/extensions/HelperMacros.h>

#include "policy/message_category.h"

using namespace ecomm;

namespace {

MessageFacts with_headers(std::vector<Header> headers)
{
    MessageFacts facts;
    facts.headers = std::move(headers);
    return facts;
}

constexpr std::string_view header_name = "X-Ecomm-Category";

}  // namespace

class MessageCategoryTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MessageCategoryTest);
    CPPUNIT_TEST(entryCategoryDecides);
    CPPUNIT_TEST(headerCannotOverrideTheEntry);
    CPPUNIT_TEST(perMessageFollowsTheHeader);
    CPPUNIT_TEST(perMessageIsStrictByDefault);
    CPPUNIT_TEST(noEntryIsPromotional);
    CPPUNIT_TEST_SUITE_END();

public:
    void entryCategoryDecides()
    {
        const MessageFacts facts;
        auto decision = decide_category(Category::transactional, facts, header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::transactional);
        CPPUNIT_ASSERT_EQUAL(std::string("registry entry is transactional"), decision.reason);
        decision = decide_category(Category::promotional, facts, header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);
        CPPUNIT_ASSERT_EQUAL(std::string("registry entry is promotional"), decision.reason);
        CPPUNIT_ASSERT_EQUAL(std::string("transactional"), std::string(to_string(MessageCategory::transactional)));
        CPPUNIT_ASSERT_EQUAL(std::string("promotional"), std::string(to_string(MessageCategory::promotional)));
    }

    void headerCannotOverrideTheEntry()
    {
        const auto says_transactional = with_headers({{"X-Ecomm-Category", "transactional"}});
        CPPUNIT_ASSERT(decide_category(Category::promotional, says_transactional, header_name).category
                       == MessageCategory::promotional);
        const auto says_promotional = with_headers({{"X-Ecomm-Category", "promotional"}});
        CPPUNIT_ASSERT(decide_category(Category::transactional, says_promotional, header_name).category
                       == MessageCategory::transactional);
    }

    void perMessageFollowsTheHeader()
    {
        auto decision = decide_category(Category::per_message,
                                        with_headers({{"Subject", "Receipt"}, {"x-ecomm-category", " Transactional\r\n"}}),
                                        header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::transactional);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Ecomm-Category: transactional"), decision.reason);

        decision = decide_category(Category::per_message, with_headers({{"X-Ecomm-Category", "promotional"}}), header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Ecomm-Category: promotional"), decision.reason);

        // Another configured name.
        decision = decide_category(Category::per_message, with_headers({{"X-Mail-Class", "transactional"}}), "X-Mail-Class");
        CPPUNIT_ASSERT(decision.category == MessageCategory::transactional);
        // Repeated with the same value is fine.
        decision = decide_category(Category::per_message,
                                   with_headers({{"X-Ecomm-Category", "transactional"}, {"X-Ecomm-Category", "TRANSACTIONAL"}}),
                                   header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::transactional);
    }

    void perMessageIsStrictByDefault()
    {
        auto decision = decide_category(Category::per_message, with_headers({{"Subject", "x"}}), header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);
        CPPUNIT_ASSERT_EQUAL(std::string("no X-Ecomm-Category header (promotional by default)"), decision.reason);

        for (const char* value : {"", "transactional-ish", "transactional (receipt)", "trans", "bulk"}) {
            decision = decide_category(Category::per_message, with_headers({{"X-Ecomm-Category", value}}), header_name);
            CPPUNIT_ASSERT_MESSAGE(value, decision.category == MessageCategory::promotional);
            CPPUNIT_ASSERT_MESSAGE(value, decision.reason.find("neither") != std::string::npos);
        }

        decision = decide_category(Category::per_message,
                                   with_headers({{"X-Ecomm-Category", "transactional"}, {"X-Ecomm-Category", "promotional"}}),
                                   header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);
        CPPUNIT_ASSERT(decision.reason.find("disagree") != std::string::npos);

        decision = decide_category(Category::per_message, with_headers({{"X-Ecomm-Category", "transactional"}}), "");
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);

        // Hostile values are cut and made printable in the reason.
        decision = decide_category(Category::per_message,
                                   with_headers({{"X-Ecomm-Category", std::string(500, 'x') + "\n\x01"}}), header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);
        CPPUNIT_ASSERT(decision.reason.size() < 160);
        CPPUNIT_ASSERT(decision.reason.find('\n') == std::string::npos);
    }

    void noEntryIsPromotional()
    {
        const auto facts = with_headers({{"X-Ecomm-Category", "transactional"}});
        auto decision = decide_category(static_cast<const RegistryEntry*>(nullptr), facts, header_name);
        CPPUNIT_ASSERT(decision.category == MessageCategory::promotional);
        CPPUNIT_ASSERT_EQUAL(std::string("no registry entry"), decision.reason);
        RegistryEntry entry;
        entry.category = Category::per_message;
        CPPUNIT_ASSERT(decide_category(&entry, facts, header_name).category == MessageCategory::transactional);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MessageCategoryTest);

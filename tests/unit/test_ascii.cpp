// The inline ASCII tests agree with <cctype> in the "C" locale for every byte value; the text
// helpers built on them fold ASCII letters only.
#include <cppunit/extensions/HelperMacros.h>

#include <cctype>
#include <string>
#include <string_view>

#include "util/ascii.h"

using namespace ecomm;

class AsciiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AsciiTest);
    CPPUNIT_TEST(spaceMatchesIsspaceForEveryByte);
    CPPUNIT_TEST(lowerMatchesTolowerForEveryByte);
    CPPUNIT_TEST(fieldNameCharIsGraphButColon);
    CPPUNIT_TEST(fieldNames);
    CPPUNIT_TEST(textHelpers);
    CPPUNIT_TEST_SUITE_END();

public:
    void spaceMatchesIsspaceForEveryByte()
    {
        for (int byte = 0; byte < 256; ++byte) {
            const char c = static_cast<char>(byte);
            CPPUNIT_ASSERT_EQUAL_MESSAGE("byte " + std::to_string(byte), std::isspace(byte) != 0, is_ascii_space(c));
        }
    }

    void lowerMatchesTolowerForEveryByte()
    {
        for (int byte = 0; byte < 256; ++byte) {
            const char c = static_cast<char>(byte);
            CPPUNIT_ASSERT_EQUAL_MESSAGE("byte " + std::to_string(byte), static_cast<char>(std::tolower(byte)), ascii_lower(c));
        }
        static_assert(ascii_lower('Q') == 'q' && ascii_lower('@') == '@' && ascii_lower('[') == '[');
    }

    // RFC 5322 ftext is %d33-57 / %d59-126: what isgraph() takes in the "C" locale, but ':'.
    void fieldNameCharIsGraphButColon()
    {
        for (int byte = 0; byte < 256; ++byte) {
            const char c = static_cast<char>(byte);
            CPPUNIT_ASSERT_EQUAL_MESSAGE("byte " + std::to_string(byte), std::isgraph(byte) != 0 && c != ':',
                                         is_field_name_char(c));
        }
    }

    void fieldNames()
    {
        CPPUNIT_ASSERT(is_field_name("X-Ecomm-External"));
        CPPUNIT_ASSERT(is_field_name("~!#"));
        CPPUNIT_ASSERT(!is_field_name(""));
        CPPUNIT_ASSERT(!is_field_name("X Ecomm"));
        CPPUNIT_ASSERT(!is_field_name("Subject:"));
        CPPUNIT_ASSERT(!is_field_name("X-\xC3\xA9t\xC3\xA9"));
        CPPUNIT_ASSERT(!is_field_name(std::string_view("X-\0A", 4)));
    }

    void textHelpers()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("mixed-case@ex.com \xC4"), to_lower("MiXeD-Case@Ex.COM \xC4"));
        CPPUNIT_ASSERT(iequals("Content-Type", "content-TYPE"));
        CPPUNIT_ASSERT(!iequals("Content-Type", "Content-Typ"));
        CPPUNIT_ASSERT(!iequals("\xC4", "\xE4"));  // only ASCII letters fold
        CPPUNIT_ASSERT(istarts_with("Content-Disposition", "CONTENT-"));
        CPPUNIT_ASSERT(!istarts_with("Cont", "content-"));
        CPPUNIT_ASSERT(istarts_with("x", ""));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AsciiTest);

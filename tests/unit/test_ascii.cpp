// The inline ASCII tests agree with <cctype> in the "C" locale for every byte value; the text
// helpers built on them fold ASCII letters only.
#include <cppunit/extensions/HelperMacros.h>

#include <cctype>
#include <string>

#include "util/ascii.h"

using namespace ecomm;

class AsciiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AsciiTest);
    CPPUNIT_TEST(spaceMatchesIsspaceForEveryByte);
    CPPUNIT_TEST(lowerMatchesTolowerForEveryByte);
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

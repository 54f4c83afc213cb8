// The inline ASCII tests agree with <cctype> in the "C" locale for every byte value.
#include <cppunit/extensions/HelperMacros.h>

#include <cctype>
#include <string>

#include "util/ascii.h"

using namespace ecomm;

class AsciiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AsciiTest);
    CPPUNIT_TEST(spaceMatchesIsspaceForEveryByte);
    CPPUNIT_TEST(lowerMatchesTolowerForEveryByte);
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(AsciiTest);

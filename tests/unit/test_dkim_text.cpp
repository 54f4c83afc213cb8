// The text helpers of the DKIM check, with libopendkim's quirks written out: header
// canonicalisation, the b= value removed from the signature field, and the lenient base64 of b=
// and p= values.
#include <cppunit/extensions/HelperMacros.h>

#include <optional>
#include <string>

#include "auth/dkim_header_hash.h"
#include "auth/dkim_key.h"

using namespace ecomm;

namespace {

std::string canonical(DkimHeaderCanon canon, std::string_view field)
{
    std::string out = "before\r\n";  // appends: what is there stays
    append_canonical_header(canon, field, out);
    return out.substr(8);
}

}  // namespace

class DkimTextTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DkimTextTest);
    CPPUNIT_TEST(relaxedHeaderCanonicalisation);
    CPPUNIT_TEST(simpleHeaderCanonicalisation);
    CPPUNIT_TEST(signatureValueRemoved);
    CPPUNIT_TEST(lenientBase64);
    CPPUNIT_TEST_SUITE_END();

public:
    void relaxedHeaderCanonicalisation()
    {
        const auto relaxed = [](std::string_view field) { return canonical(DkimHeaderCanon::relaxed, field); };
        CPPUNIT_ASSERT_EQUAL(std::string("subject:Hello World\r\n"), relaxed("Subject:  Hello \t World  "));
        CPPUNIT_ASSERT_EQUAL(std::string("subject:a b\r\n"), relaxed("SUBJECT \t: a\r\n\tb"));
        CPPUNIT_ASSERT_EQUAL(std::string("x:\r\n"), relaxed("X:   "));
        CPPUNIT_ASSERT_EQUAL(std::string("bogus\r\n"), relaxed("Bogus"));
        // libopendkim: a vertical tab is whitespace inside the value but not stripped at its start,
        // and a NUL ends the value.
        CPPUNIT_ASSERT_EQUAL(std::string("x: a b\r\n"), relaxed("X:\va\fb"));
        CPPUNIT_ASSERT_EQUAL(std::string("x:a\r\n"), relaxed(std::string_view("X: a\0b c", 8)));
    }

    void simpleHeaderCanonicalisation()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("Subject:  A \r\n\tB \r\n"), canonical(DkimHeaderCanon::simple, "Subject:  A \r\n\tB "));
    }

    void signatureValueRemoved()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("DKIM-Signature: v=1; bh=q83v=; b=; h=from"),
                             without_signature_value("DKIM-Signature: v=1; bh=q83v=; b=XYZ\r\n\t123; h=from"));
        CPPUNIT_ASSERT_EQUAL(std::string("v=1; b="), without_signature_value("v=1; b=abc"));
        CPPUNIT_ASSERT_EQUAL(std::string("v=1; h=a:b"), without_signature_value("v=1; h=a:b"));
        // libopendkim empties every tag whose name ends in b, and needs the b right before '='.
        CPPUNIT_ASSERT_EQUAL(std::string("xb=; b=; bh=3"), without_signature_value("xb=1; b=2; bh=3"));
        CPPUNIT_ASSERT_EQUAL(std::string("b =1; b="), without_signature_value("b =1; b=x=y"));
    }

    void lenientBase64()
    {
        CPPUNIT_ASSERT(std::optional<std::string>("Hello") == dkim_lenient_base64("SGVsbG8="));
        CPPUNIT_ASSERT(std::optional<std::string>("Hello") == dkim_lenient_base64("SGV s\r\n\tbG8"));
        CPPUNIT_ASSERT(std::optional<std::string>("Hell") == dkim_lenient_base64("SGVsbA"));
        CPPUNIT_ASSERT(std::optional<std::string>("A") == dkim_lenient_base64("QQ=="));
        CPPUNIT_ASSERT(!dkim_lenient_base64("SGVsb"));  // one digit left over
        // libopendkim's output buffer is as long as the text, and wants three bytes to spare.
        CPPUNIT_ASSERT(!dkim_lenient_base64("QQ"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DkimTextTest);

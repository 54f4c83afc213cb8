// Unit tests for the CRLF check and repair of DKIM input (auth/crlf_text.h): the 64-byte search
// answers as a byte-by-byte reading does wherever the bare LF falls, on every vector path, and
// the repair gives the same text whatever the chunking.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <string_view>

#include "auth/crlf_text.h"
#include "dkim_body_reference.h"
#include "vector_paths.h"

namespace ecomm {
namespace {

// Lines of 'x' ending in CRLF, about size bytes.
std::string crlf_lines(std::size_t size)
{
    std::string text;
    while (text.size() < size) text += std::string(70, 'x') + "\r\n";
    text.resize(size);
    return text;
}

}  // namespace

class CrlfTextTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CrlfTextTest);
    CPPUNIT_TEST(bare_lf_found_wherever_it_falls);
    CPPUNIT_TEST(random_text_checked_as_reading_byte_by_byte);
    CPPUNIT_TEST(repair_is_the_same_whatever_the_chunks);
    CPPUNIT_TEST_SUITE_END();

public:
    void bare_lf_found_wherever_it_falls()
    {
        for (const VectorPath path : test::available_vector_paths()) {
            const test::ForcedVectorPath forced(path);
            bare_lf_found_wherever_it_falls_on_the_path_in_use(test::vector_path_name(path));
        }
    }

    static void bare_lf_found_wherever_it_falls_on_the_path_in_use(const std::string& path)
    {
        for (std::size_t size = 0; size <= 300; ++size) {
            const std::string clean = crlf_lines(size);
            CPPUNIT_ASSERT(every_lf_follows_cr(clean, false) == (clean.empty() || clean.front() != '\n'));
            for (std::size_t at = 0; at < size; ++at) {
                std::string text = clean;
                text[at] = '\n';
                if (at > 0 && text[at - 1] == '\r') text[at - 1] = 'y';
                CPPUNIT_ASSERT_MESSAGE(path + ": size " + std::to_string(size) + " at " + std::to_string(at),
                                       !every_lf_follows_cr(text, false));
            }
        }
        // An LF first in the chunk is fine after a chunk that ended in CR.
        CPPUNIT_ASSERT(every_lf_follows_cr("\nabc\r\n", true));
        CPPUNIT_ASSERT(!every_lf_follows_cr("\nabc\r\n", false));
    }

    void random_text_checked_as_reading_byte_by_byte()
    {
        const auto paths = test::available_vector_paths();
        unsigned seed = 11;
        int bare = 0;
        for (int round = 0; round < 20000; ++round) {
            std::string text(static_cast<std::size_t>(round % 260), 'x');
            for (std::size_t at = 0; at < text.size(); ++at) {
                seed = seed * 1103515245u + 12345u;
                const unsigned pick = (seed >> 16) % 64;  // mostly CRLF pairs, now and then a lone CR or LF
                text[at] = pick < 20 ? '\r' : pick < 40 ? '\n' : 'x';
                if (text[at] == '\n' && pick % 13 != 0 && at > 0) text[at - 1] = '\r';
            }
            for (const bool last_was_cr : {false, true}) {
                const bool expected = test::every_lf_follows_cr_by_reading(text, last_was_cr);
                for (const VectorPath path : paths) {
                    const test::ForcedVectorPath forced(path);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(test::vector_path_name(path) + ": round " + std::to_string(round), expected,
                                                 every_lf_follows_cr(text, last_was_cr));
                }
                bare += expected ? 0 : 1;
            }
        }
        CPPUNIT_ASSERT(bare > 8000 && bare < 32000);  // of 40,000: both answers are common
    }

    void repair_is_the_same_whatever_the_chunks()
    {
        const std::string text = "a\nb\r\nc\r\r\n\n\rd\n";
        std::string whole;
        bool last_was_cr = false;
        append_crlf(whole, text, last_was_cr);
        CPPUNIT_ASSERT_EQUAL(std::string("a\r\nb\r\nc\r\r\n\r\n\rd\r\n"), whole);
        for (std::size_t cut = 0; cut <= text.size(); ++cut) {
            std::string pieces;
            last_was_cr = false;
            append_crlf(pieces, std::string_view(text).substr(0, cut), last_was_cr);
            append_crlf(pieces, std::string_view(text).substr(cut), last_was_cr);
            CPPUNIT_ASSERT_EQUAL_MESSAGE("cut at " + std::to_string(cut), whole, pieces);
            CPPUNIT_ASSERT(every_lf_follows_cr(whole, false));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CrlfTextTest);

}  // namespace ecomm

// DkimBodyHash: the canonical bodies of RFC 6376 section 3.4.5's example and of the edge cases
// (empty bodies, trailing empty lines, blanks before a line end, a CR without its LF), each
// compared with the digest of the canonical text written out by hand, in every chunking.
// test_dkim.cpp compares it with libopendkim's signer on random bodies.
#include <cppunit/extensions/HelperMacros.h>

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "auth/dkim_body_hash.h"
#include "dkim_body_reference.h"
#include "vector_paths.h"

using namespace ecomm;

namespace {

std::string digest_of(std::string_view text, DkimBodyDigest digest)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), out, &length, digest == DkimBodyDigest::sha1 ? EVP_sha1() : EVP_sha256(),
               nullptr);
    return std::string(reinterpret_cast<const char*>(out), length);
}

std::string base64(std::string_view raw)
{
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                       reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

std::string hash_in_chunks(std::string_view body, DkimBodyCanon canon, std::vector<std::size_t> cuts,
                           DkimBodyDigest digest = DkimBodyDigest::sha256)
{
    DkimBodyHash hash(canon, digest);
    std::size_t from = 0;
    cuts.push_back(body.size());
    for (std::size_t cut : cuts) {
        hash.update(body.substr(from, cut - from));
        from = cut;
    }
    return hash.finish();
}

std::string escaped(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else out += c;
    }
    return out;
}

}  // namespace

class DkimBodyHashTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DkimBodyHashTest);
    CPPUNIT_TEST(rfc6376ExampleInBothCanonicalisations);
    CPPUNIT_TEST(emptyBodies);
    CPPUNIT_TEST(trailingEmptyLinesAreDropped);
    CPPUNIT_TEST(relaxedRewritesBlanks);
    CPPUNIT_TEST(carriageReturnWithoutLineFeedIsText);
    CPPUNIT_TEST(everyTwoWaySplitGivesTheSameDigest);
    CPPUNIT_TEST(relaxedRewritesFoundOnEveryVectorPath);
    CPPUNIT_TEST(sha1Digest);
    CPPUNIT_TEST(bhTagComparison);
    CPPUNIT_TEST_SUITE_END();

public:
    // Expected canonical text for body under canon, checked in one piece and byte by byte.
    static void check(std::string_view body, DkimBodyCanon canon, std::string_view canonical)
    {
        const std::string want = base64(digest_of(canonical, DkimBodyDigest::sha256));
        const std::string what = (canon == DkimBodyCanon::simple ? "simple: " : "relaxed: ") + escaped(body) +
                                 " -> " + escaped(canonical);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what, want, base64(hash_in_chunks(body, canon, {})));
        std::vector<std::size_t> every_byte;
        for (std::size_t at = 1; at < body.size(); ++at) every_byte.push_back(at);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what + " (byte by byte)", want, base64(hash_in_chunks(body, canon, every_byte)));
    }

    void rfc6376ExampleInBothCanonicalisations()
    {
        const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
        check(body, DkimBodyCanon::relaxed, " C\r\nD E\r\n");
        check(body, DkimBodyCanon::simple, " C \r\nD \t E\r\n");
    }

    void emptyBodies()
    {
        // The well-known digests: an empty simple body is one CRLF, an empty relaxed body nothing.
        CPPUNIT_ASSERT_EQUAL(std::string("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="),
                             base64(hash_in_chunks("", DkimBodyCanon::simple, {})));
        CPPUNIT_ASSERT_EQUAL(std::string("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
                             base64(hash_in_chunks("", DkimBodyCanon::relaxed, {})));
        check("\r\n\r\n\r\n", DkimBodyCanon::simple, "\r\n");
        check("\r\n\r\n\r\n", DkimBodyCanon::relaxed, "");
        check(" \t \r\n  \r\n", DkimBodyCanon::relaxed, "");
        check(" \t \r\n  \r\n", DkimBodyCanon::simple, " \t \r\n  \r\n");
    }

    void trailingEmptyLinesAreDropped()
    {
        check("text", DkimBodyCanon::simple, "text\r\n");
        check("text", DkimBodyCanon::relaxed, "text\r\n");
        check("a\r\n\r\nb\r\n\r\n", DkimBodyCanon::simple, "a\r\n\r\nb\r\n");
        check("a\r\n\r\nb\r\n\r\n", DkimBodyCanon::relaxed, "a\r\n\r\nb\r\n");
        check("a\r\n \r\n", DkimBodyCanon::simple, "a\r\n \r\n");  // a blank line is not empty in simple
        check("a\r\n \r\n", DkimBodyCanon::relaxed, "a\r\n");
    }

    void relaxedRewritesBlanks()
    {
        check("a\t\tb  c \t d\r\n", DkimBodyCanon::relaxed, "a b c d\r\n");
        check("  lead\r\n\ttab\r\n", DkimBodyCanon::relaxed, " lead\r\n tab\r\n");
        check("end  \r\nnext\t\r\n", DkimBodyCanon::relaxed, "end\r\nnext\r\n");
        check("no final line end  ", DkimBodyCanon::relaxed, "no final line end\r\n");
        check("one space stays\r\n", DkimBodyCanon::relaxed, "one space stays\r\n");
        check("a  \r\n\r\n  \r\nb", DkimBodyCanon::relaxed, "a\r\n\r\n\r\nb\r\n");
    }

    void carriageReturnWithoutLineFeedIsText()
    {
        check("a\rb\r\n", DkimBodyCanon::simple, "a\rb\r\n");
        check("a \rb\r\n", DkimBodyCanon::relaxed, "a \rb\r\n");
        check("a\r\r\n", DkimBodyCanon::relaxed, "a\r\r\n");
        check("a\r", DkimBodyCanon::simple, "a\r\r\n");
    }

    void everyTwoWaySplitGivesTheSameDigest()
    {
        // Long enough for the 16-byte scan, with every rewrite near a chunk edge somewhere.
        const std::string body = "The quick  brown\tfox \r\njumps over the lazy dog.   \r\n\r\n  \t\r\n"
                                 "x\r y \r\n0123456789abcdef0123456789abcdef  \t z\r\n\r\n\r\n";
        for (DkimBodyCanon canon : {DkimBodyCanon::simple, DkimBodyCanon::relaxed}) {
            const std::string whole = hash_in_chunks(body, canon, {});
            for (std::size_t cut = 0; cut <= body.size(); ++cut)
                CPPUNIT_ASSERT_EQUAL_MESSAGE("cut at " + std::to_string(cut), base64(whole),
                                             base64(hash_in_chunks(body, canon, {cut})));
        }
        check(body, DkimBodyCanon::relaxed,
              "The quick brown fox\r\njumps over the lazy dog.\r\n\r\n\r\nx\r y\r\n0123456789abcdef0123456789abcdef z\r\n");
    }

    // A tab, a blank pair or a blank before the line end at every offset of lines around the
    // vector widths (16 and 32 bytes a step), on every vector path, against the line-by-line
    // reading.
    void relaxedRewritesFoundOnEveryVectorPath()
    {
        const std::vector<std::string> rewrites = {"\t", "  ", " \t", " \r\n", "\t\r\n"};
        for (const VectorPath path : test::available_vector_paths()) {
            const test::ForcedVectorPath forced(path);
            for (std::size_t length : {20, 40, 70, 100}) {
                for (std::size_t at = 0; at < length; ++at) {
                    for (const std::string& rewrite : rewrites) {
                        std::string line(length, 'x');
                        line.replace(at, rewrite.size(), rewrite);
                        std::string body;
                        for (int i = 0; i < 3; ++i) body += "a" + line + "b\r\n";
                        const std::string what = test::vector_path_name(path) + ": " + escaped(body);
                        const std::string canonical = test::relaxed_by_lines(body);
                        CPPUNIT_ASSERT_EQUAL_MESSAGE(what, base64(digest_of(canonical, DkimBodyDigest::sha256)),
                                                     base64(hash_in_chunks(body, DkimBodyCanon::relaxed, {})));
                    }
                }
            }
        }
    }

    void sha1Digest()
    {
        CPPUNIT_ASSERT_EQUAL(base64(digest_of("a b\r\n", DkimBodyDigest::sha1)),
                             base64(hash_in_chunks("a  b \r\n\r\n", DkimBodyCanon::relaxed, {}, DkimBodyDigest::sha1)));
    }

    void bhTagComparison()
    {
        const std::string digest = hash_in_chunks("", DkimBodyCanon::simple, {});
        CPPUNIT_ASSERT(dkim_body_hash_matches("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=", digest));
        CPPUNIT_ASSERT(dkim_body_hash_matches(" frcCV1k9oG9oKj3dpUqdJg1Px\r\n\tRT2RSN/XKdLCPjaYaY= ", digest));
        CPPUNIT_ASSERT(!dkim_body_hash_matches("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", digest));
        CPPUNIT_ASSERT(!dkim_body_hash_matches("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY", digest));  // cut short
        CPPUNIT_ASSERT(!dkim_body_hash_matches("", digest));
        CPPUNIT_ASSERT(!dkim_body_hash_matches("!!!!", digest));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DkimBodyHashTest);

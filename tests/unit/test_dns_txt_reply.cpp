// Unit tests for the TXT reply packets handed to libopendkim (auth/dns_txt_reply.h), read back
// with libresolv's parser: the response code, the question, the records split into strings of
// at most 255 bytes, and refusal of what cannot be encoded or does not fit.
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/nameser.h>

#include <array>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "auth/dns_txt_reply.h"

namespace ecomm {
namespace {

struct ParsedReply {
    int rcode = -1;
    std::string question;
    std::vector<std::string> records;  // each record's strings joined
    std::vector<std::vector<std::size_t>> string_lengths;
};

ParsedReply parse(const unsigned char* packet, std::size_t length)
{
    ns_msg message;
    if (ns_initparse(packet, static_cast<int>(length), &message) != 0) throw std::runtime_error("unparsable packet");
    ParsedReply out;
    out.rcode = ns_msg_getflag(message, ns_f_rcode);
    ns_rr rr;
    if (ns_parserr(&message, ns_s_qd, 0, &rr) != 0) throw std::runtime_error("no question");
    out.question = ns_rr_name(rr);
    for (int i = 0; i < ns_msg_count(message, ns_s_an); ++i) {
        if (ns_parserr(&message, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
            throw std::runtime_error("bad answer");
        if (ns_rr_name(rr) != out.question) throw std::runtime_error("owner is not the question");
        std::string text;
        std::vector<std::size_t> lengths;
        const unsigned char* at = ns_rr_rdata(rr);
        const unsigned char* end = at + ns_rr_rdlen(rr);
        while (at < end) {
            const std::size_t piece = *at++;
            if (piece > static_cast<std::size_t>(end - at)) throw std::runtime_error("string past the record");
            text.append(reinterpret_cast<const char*>(at), piece);
            lengths.push_back(piece);
            at += piece;
        }
        out.records.push_back(text);
        out.string_lengths.push_back(lengths);
    }
    return out;
}

DnsAnswer answer(DnsAnswer::Status status, std::vector<std::string> records = {})
{
    DnsAnswer out;
    out.status = status;
    out.records = std::move(records);
    return out;
}

}  // namespace

class DnsTxtReplyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DnsTxtReplyTest);
    CPPUNIT_TEST(records_read_back_as_written);
    CPPUNIT_TEST(nxdomain_and_nodata_have_no_answers);
    CPPUNIT_TEST(what_cannot_be_encoded_gives_no_packet);
    CPPUNIT_TEST_SUITE_END();

public:
    void records_read_back_as_written()
    {
        const std::string key = "v=DKIM1; k=rsa; p=" + std::string(400, 'A');  // two strings: 255 + 163
        std::array<unsigned char, 4096> buffer{};
        const std::size_t length = build_txt_reply("sel._domainkey.example.edu.",
                                                   answer(DnsAnswer::Status::ok, {key, "", "second"}), buffer.data(),
                                                   buffer.size());
        CPPUNIT_ASSERT(length > 0);
        const ParsedReply reply = parse(buffer.data(), length);
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(ns_r_noerror), reply.rcode);
        CPPUNIT_ASSERT_EQUAL(std::string("sel._domainkey.example.edu"), reply.question);
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, reply.records.size());
        CPPUNIT_ASSERT_EQUAL(key, reply.records[0]);
        CPPUNIT_ASSERT((reply.string_lengths[0] == std::vector<std::size_t>{255, key.size() - 255}));
        CPPUNIT_ASSERT_EQUAL(std::string(), reply.records[1]);  // an empty record is one empty string
        CPPUNIT_ASSERT((reply.string_lengths[1] == std::vector<std::size_t>{0}));
        CPPUNIT_ASSERT_EQUAL(std::string("second"), reply.records[2]);
    }

    void nxdomain_and_nodata_have_no_answers()
    {
        std::array<unsigned char, 512> buffer{};
        for (const auto& [status, rcode] : {std::pair{DnsAnswer::Status::nxdomain, ns_r_nxdomain},
                                            std::pair{DnsAnswer::Status::nodata, ns_r_noerror}}) {
            // Records that came with a negative answer are not sent.
            const std::size_t length = build_txt_reply("x.example.edu", answer(status, {"ignored"}), buffer.data(),
                                                       buffer.size());
            const ParsedReply reply = parse(buffer.data(), length);
            CPPUNIT_ASSERT_EQUAL(static_cast<int>(rcode), reply.rcode);
            CPPUNIT_ASSERT(reply.records.empty());
        }
    }

    void what_cannot_be_encoded_gives_no_packet()
    {
        std::array<unsigned char, 512> buffer{};
        const DnsAnswer ok = answer(DnsAnswer::Status::ok, {std::string(300, 'k')});
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, build_txt_reply(std::string(64, 'a') + ".example", ok, buffer.data(),
                                                             buffer.size()));  // a label over 63
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, build_txt_reply("a..example", ok, buffer.data(), buffer.size()));
        const std::string long_name = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') +
                                      "." + std::string(60, 'd') + "." + std::string(20, 'e');  // 264 bytes
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, build_txt_reply(long_name, ok, buffer.data(), buffer.size()));
        // Fits in 512 bytes but not in 300.
        CPPUNIT_ASSERT(build_txt_reply("k.example", ok, buffer.data(), buffer.size()) > 300);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, build_txt_reply("k.example", ok, buffer.data(), 300));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DnsTxtReplyTest);

}  // namespace ecomm

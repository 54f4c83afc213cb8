// Unit tests for the streaming MIME scanner (src/mime): every kind of attachment in DESIGN.md
// ("Attachments") and the evasions around it, messages that must pass (calendar invites,
// newsletters, PGP/MIME and S/MIME signed mail), chunking at every offset, nesting limits and
// bounded memory on hostile input; plus the parameter decoding and decoders underneath.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mime/decoders.h"
#include "mime/embedded_encodings.h"
#include "mime/header_params.h"
#include "mime/line_marks.h"
#include "base64_lines.h"
#include "mime/scanner.h"
#include "vector_paths.h"

namespace ecomm {
namespace {

// Feeds a raw message the way the milter does: header fields (folds kept as "\n"), then the
// body in chunks of chunk bytes (0: one piece).
struct Scan {
    std::vector<MimeFinding> findings;
    bool attachment = false;
};

class RecordingSink : public MimeTextSink {
public:
    void begin_text(bool html) override { log += html ? "[html]" : "[text]"; }
    void text(std::string_view decoded) override { log += decoded; }
    void end_text() override { log += "[end]"; }
    std::string log;
};

Scan scan(const std::string& message, std::size_t chunk = 0, MimeOptions options = {}, MimeTextSink* sink = nullptr)
{
    MimeScanner scanner(std::move(options), sink);
    std::size_t pos = 0;
    std::string name, value;
    while (pos < message.size()) {
        const std::size_t end = std::min(message.find('\n', pos), message.size());
        std::string_view line(message.data() + pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;
        if (line[0] == ' ' || line[0] == '\t') {
            value += "\n";
            value += line;
            continue;
        }
        if (!name.empty()) scanner.header(name, value);
        const std::size_t colon = line.find(':');
        name = std::string(line.substr(0, colon));
        value = std::string(line.substr(colon + 1 + (line.size() > colon + 1 && line[colon + 1] == ' ')));
    }
    if (!name.empty()) scanner.header(name, value);
    scanner.end_of_headers();
    pos = std::min(pos, message.size());
    const std::string_view body = std::string_view(message).substr(pos);
    if (chunk == 0) scanner.body(body);
    else for (std::size_t i = 0; i < body.size(); i += chunk) scanner.body(body.substr(i, chunk));
    scanner.finish();
    return {scanner.findings(), scanner.has_attachment()};
}

const std::string kHead = "From: a@example.com\nTo: b@example.edu\nSubject: test\nMIME-Version: 1.0\n";

std::string multipart(const std::string& type, const std::string& boundary, const std::vector<std::string>& parts,
                      bool close = true)
{
    std::string out = "Content-Type: " + type + "; boundary=\"" + boundary + "\"\n\n";
    for (const auto& part : parts) out += "--" + boundary + "\n" + part + "\n";
    if (close) out += "--" + boundary + "--\n";
    return out;
}

const std::string kText = "Content-Type: text/plain; charset=utf-8\n\nHello, see the report online.\n";
const std::string kHtml = "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
                          "<p>Hello=2C <a href=3D\"https://example.com/unsubscribe\">unsubscribe</a></p>\n";
const std::string kPdf = "Content-Type: application/pdf; name=\"report.pdf\"\nContent-Transfer-Encoding: base64\n"
                         "Content-Disposition: attachment; filename=\"report.pdf\"\n\nJVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURlY29kZT4+\n"
                         "c3RyZWFtCnicK+QyVDAAQSMFYwMDQzMFUz0Fcz0DBSMTcz2DMCMjVWNTM0MFXAEAHvkElQplbmRzdHJlYW0K\n";

std::string with_mixed(const std::vector<std::string>& parts, bool close = true)
{
    return kHead + multipart("multipart/mixed", "==b1==", parts, close);
}

std::string base64(std::string_view in) { return test::base64_lines(in); }

// The findings of a body the MTA handed over in two chunks, cut at split.
std::vector<MimeFinding> scan_split_body(const std::string& content_type, std::string_view body, std::size_t split)
{
    MimeScanner scanner;
    scanner.header("Content-Type", content_type);
    scanner.end_of_headers();
    scanner.body(body.substr(0, split));
    scanner.body(body.substr(split));
    scanner.finish();
    return scanner.findings();
}

const std::string kUuBlock = "begin 644 payload.exe\nM'XL(\"$AB;6%I;\"YT>'0`2\\W)5RC/+\\I)45(H2<U+3E%(S\\M7R,M/5D@M\\RU5\n`\nend\n";

}  // namespace

class MimeScannerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MimeScannerTest);
    CPPUNIT_TEST(plain_text_passes);
    CPPUNIT_TEST(disposition_attachment);
    CPPUNIT_TEST(filename_with_inline_disposition);
    CPPUNIT_TEST(name_parameter_only);
    CPPUNIT_TEST(rfc2231_charset);
    CPPUNIT_TEST(rfc2231_continuations);
    CPPUNIT_TEST(rfc2047_names);
    CPPUNIT_TEST(type_only);
    CPPUNIT_TEST(inline_image_in_related);
    CPPUNIT_TEST(uuencode_in_text_preamble_epilogue);
    CPPUNIT_TEST(uuencode_in_base64_text);
    CPPUNIT_TEST(yenc_in_text);
    CPPUNIT_TEST(tnef);
    CPPUNIT_TEST(message_partial);
    CPPUNIT_TEST(embedded_message_plain);
    CPPUNIT_TEST(embedded_message_base64);
    CPPUNIT_TEST(embedded_message_quoted_printable);
    CPPUNIT_TEST(forwarded_message_as_file);
    CPPUNIT_TEST(nested_multiparts);
    CPPUNIT_TEST(pgp_signed_passes);
    CPPUNIT_TEST(smime_signed_passes);
    CPPUNIT_TEST(signature_outside_signed_counts);
    CPPUNIT_TEST(calendar_invite_passes);
    CPPUNIT_TEST(newsletter_passes_and_sink_gets_text);
    CPPUNIT_TEST(sink_gets_base64_text);
    CPPUNIT_TEST(depth_64_passes_65_is_finding);
    CPPUNIT_TEST(missing_final_boundary);
    CPPUNIT_TEST(part_headers_without_blank_line);
    CPPUNIT_TEST(boundary_prefix_of_another);
    CPPUNIT_TEST(evasions);
    CPPUNIT_TEST(top_level_attachment);
    CPPUNIT_TEST(chunk_split_at_every_offset);
    CPPUNIT_TEST(one_byte_chunks_crlf);
    CPPUNIT_TEST(huge_header_is_bounded);
    CPPUNIT_TEST(huge_line_is_bounded);
    CPPUNIT_TEST(configurable_types_and_cap);
    CPPUNIT_TEST(header_params);
    CPPUNIT_TEST(decoders);
    CPPUNIT_TEST(base64_decoded_alike_on_every_vector_path);
    CPPUNIT_TEST(embedded_encoding_detector);
    CPPUNIT_TEST(detector_lines_as_fed_text);
    CPPUNIT_TEST(dropped_sink_gets_no_more_text);
    CPPUNIT_TEST(marked_lines_found_as_reading_line_by_line_finds_them);
    CPPUNIT_TEST(blocks_and_boundaries_after_skipped_lines_at_every_split);
    CPPUNIT_TEST(encoded_lines_read_alike_in_batches_and_one_by_one);
    CPPUNIT_TEST_SUITE_END();

public:
    void plain_text_passes()
    {
        CPPUNIT_ASSERT(!scan(kHead + "\nHello\n-- \nsig\n").attachment);
        CPPUNIT_ASSERT(!scan(kHead + kText).attachment);
        CPPUNIT_ASSERT(!scan(with_mixed({kText, kHtml})).attachment);
    }

    void disposition_attachment()
    {
        const Scan result = scan(with_mixed({kText, kPdf}));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("2"), result.findings[0].part);
        CPPUNIT_ASSERT_EQUAL(std::string("application/pdf"), result.findings[0].content_type);
        CPPUNIT_ASSERT_EQUAL(std::string("report.pdf"), result.findings[0].filename);
        CPPUNIT_ASSERT_EQUAL(std::string("disp"), result.findings[0].reason);
        // Disposition alone, body type.
        const Scan text = scan(with_mixed({kText, "Content-Type: text/plain\nContent-Disposition: ATTACHMENT\n\nnotes\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("disp"), text.findings.at(0).reason);
    }

    void filename_with_inline_disposition()
    {
        const Scan result = scan(with_mixed({kText, "Content-Type: text/plain\nContent-Disposition: inline; filename=notes.txt\n\nx\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("name"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("notes.txt"), result.findings[0].filename);
    }

    void name_parameter_only()
    {
        const Scan result = scan(with_mixed({kText, "Content-Type: text/html; name=\"page.htm\"\n\n<p>x</p>\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("name"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("page.htm"), result.findings[0].filename);
    }

    void rfc2231_charset()
    {
        const Scan result = scan(with_mixed({kText, "Content-Type: text/plain\nContent-Disposition: inline;\n filename*=utf-8'en'%E2%82%AC%20rates.txt\n\nx\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("\xE2\x82\xAC rates.txt"), result.findings.at(0).filename);
        const Scan latin = scan(with_mixed({kText, "Content-Type: text/plain; name*=iso-8859-1''caf%E9.txt\n\nx\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("caf\xC3\xA9.txt"), latin.findings.at(0).filename);
    }

    void rfc2231_continuations()
    {
        const Scan result = scan(with_mixed({kText, "Content-Type: text/plain\nContent-Disposition: inline;\n filename*1=\"rt.txt\";\n filename*0*=utf-8''very%20long%20repo\n\nx\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("name"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("very long report.txt"), result.findings[0].filename);
    }

    void rfc2047_names()
    {
        const Scan b = scan(with_mixed({kText, "Content-Type: text/plain; name=\"=?utf-8?B?0L7RgtGH0ZHRgi5kb2M=?=\"\n\nx\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("\xD0\xBE\xD1\x82\xD1\x87\xD1\x91\xD1\x82.doc"), b.findings.at(0).filename);
        const Scan q = scan(with_mixed({kText, "Content-Type: text/plain\nContent-Disposition: inline; filename=\"=?iso-8859-1?Q?r=E9sum=E9?= =?iso-8859-1?Q?_final.txt?=\"\n\nx\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("r\xC3\xA9sum\xC3\xA9 final.txt"), q.findings.at(0).filename);
    }

    void type_only()
    {
        const Scan result = scan(with_mixed({kText, "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("type"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("application/octet-stream"), result.findings[0].content_type);
        CPPUNIT_ASSERT(scan(with_mixed({kText, "Content-Type: text/x-vcard\n\nBEGIN:VCARD\n"})).attachment);
    }

    void inline_image_in_related()
    {
        const std::string related = multipart("multipart/related", "rel", {kHtml + "<img src=\"cid:logo@x\">\n",
            "Content-Type: image/png\nContent-ID: <logo@x>\nContent-Disposition: inline\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"});
        const Scan result = scan(kHead + related);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("type"), result.findings[0].reason);
        CPPUNIT_ASSERT_EQUAL(std::string("image/png"), result.findings[0].content_type);
        CPPUNIT_ASSERT_EQUAL(std::string("2"), result.findings[0].part);
    }

    void uuencode_in_text_preamble_epilogue()
    {
        const Scan body = scan(kHead + "\nHere it is:\n\n" + kUuBlock);
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), body.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("payload.exe"), body.findings[0].filename);
        CPPUNIT_ASSERT_EQUAL(std::string("1"), body.findings[0].part);
        const std::string preamble = kHead + "Content-Type: multipart/mixed; boundary=b\n\n" + kUuBlock + "--b\n" + kText + "--b--\n";
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), scan(preamble).findings.at(0).reason);
        const std::string epilogue = kHead + "Content-Type: multipart/mixed; boundary=b\n\n--b\n" + kText + "--b--\n" + kUuBlock;
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), scan(epilogue).findings.at(0).reason);
        // A sentence that starts with "begin" is no block.
        CPPUNIT_ASSERT(!scan(kHead + "\nbegin 644 is a mode\nand nothing follows\n").attachment);
    }

    void uuencode_in_base64_text()
    {
        const std::string part = "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + base64("See:\n" + kUuBlock);
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), scan(with_mixed({part})).findings.at(0).reason);
    }

    void yenc_in_text()
    {
        const Scan result = scan(with_mixed({"Content-Type: text/plain\n\nhi\n=ybegin line=128 size=5 name=a.bin\nxxxxx\n=yend size=5\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("yenc"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("a.bin"), result.findings[0].filename);
    }

    void tnef()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("tnef"), scan(with_mixed({kText, "Content-Type: application/ms-tnef\n\nx\n"})).findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("tnef"), scan(with_mixed({kText, "Content-Type: application/vnd.ms-tnef\n\nx\n"})).findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("tnef"), scan(with_mixed({kText, "Content-Type: application/octet-stream; name=WINMAIL.DAT\n\nx\n"})).findings.at(0).reason);
    }

    void message_partial()
    {
        const Scan result = scan(kHead + "Content-Type: message/partial; id=\"x@y\"; number=1; total=2\n\nFrom: c@d\n\npart\n");
        CPPUNIT_ASSERT_EQUAL(std::string("partial"), result.findings.at(0).reason);
    }

    void embedded_message_plain()
    {
        const std::string inner = "From: c@example.com\nSubject: fwd\n" + multipart("multipart/mixed", "inner", {kText, kPdf});
        const Scan result = scan(with_mixed({kText, "Content-Type: message/rfc822\n\n" + inner}));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("2.2"), result.findings[0].part);
        CPPUNIT_ASSERT_EQUAL(std::string("report.pdf"), result.findings[0].filename);
        // Without attachments inside, a forwarded message passes.
        CPPUNIT_ASSERT(!scan(with_mixed({kText, "Content-Type: message/rfc822\n\nFrom: c@d\nSubject: x\n\nhello\n"})).attachment);
    }

    void embedded_message_base64()
    {
        const std::string inner = "From: c@example.com\n" + multipart("multipart/mixed", "inner", {kText, kPdf});
        const std::string part = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + base64(inner);
        const Scan result = scan(with_mixed({kText, part}));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("2.2"), result.findings[0].part);
        CPPUNIT_ASSERT_EQUAL(std::string("disp"), result.findings[0].reason);
        // Twice encoded: base64 inside base64.
        const std::string outer = "From: e@example.com\n" + multipart("multipart/mixed", "mid", {kText, part});
        const Scan twice = scan(with_mixed({"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + base64(outer)}));
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.2"), twice.findings.at(0).part);
        const std::string clean = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + base64("From: c@d\n\nhello\n");
        CPPUNIT_ASSERT(!scan(with_mixed({kText, clean})).attachment);
    }

    void embedded_message_quoted_printable()
    {
        const std::string part = "Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n\n"
                                 "From: c@d\nContent-Type: application/zip; na=\nme=3D\"x.zip\"\n\nUEsDBA=3D=3D\n";
        const Scan result = scan(with_mixed({kText, part}));
        CPPUNIT_ASSERT_EQUAL(std::string("name"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("x.zip"), result.findings[0].filename);
        CPPUNIT_ASSERT_EQUAL(std::string("2.1"), result.findings[0].part);
    }

    void forwarded_message_as_file()
    {
        const Scan result = scan(with_mixed({kText, "Content-Type: message/rfc822\nContent-Disposition: attachment; filename=fwd.eml\n\nFrom: c@d\n\nhi\n"}));
        CPPUNIT_ASSERT_EQUAL(std::string("disp"), result.findings.at(0).reason);
        CPPUNIT_ASSERT_EQUAL(std::string("fwd.eml"), result.findings[0].filename);
    }

    void nested_multiparts()
    {
        const std::string alternative = multipart("multipart/alternative", "alt", {kText, multipart("multipart/related", "rel", {kHtml, kPdf})});
        const Scan result = scan(kHead + multipart("multipart/mixed", "mix", {alternative, kText}));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.2"), result.findings[0].part);
    }

    void pgp_signed_passes()
    {
        const std::string signature = "Content-Type: application/pgp-signature; name=\"OpenPGP_signature.asc\"\n"
                                      "Content-Disposition: attachment; filename=\"OpenPGP_signature\"\n\n"
                                      "-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n";
        const std::string signed_part = multipart("multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"", "sig",
                                                  {multipart("multipart/alternative", "alt", {kText, kHtml}), signature});
        CPPUNIT_ASSERT(!scan(kHead + signed_part).attachment);
    }

    void smime_signed_passes()
    {
        const std::string signature = "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\nContent-Transfer-Encoding: base64\n"
                                      "Content-Disposition: attachment; filename=\"smime.p7s\"\n\nMIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCCA\n";
        const std::string x = "Content-Type: application/x-pkcs7-signature; name=smime.p7s\n\nMIAG\n";
        CPPUNIT_ASSERT(!scan(kHead + multipart("multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256", "s", {kText, signature})).attachment);
        CPPUNIT_ASSERT(!scan(kHead + multipart("multipart/signed; protocol=\"application/x-pkcs7-signature\"", "s", {kText, x})).attachment);
        // An attachment in the signed content still counts.
        CPPUNIT_ASSERT(scan(kHead + multipart("multipart/signed", "s", {multipart("multipart/mixed", "m", {kText, kPdf}), signature})).attachment);
    }

    void signature_outside_signed_counts()
    {
        CPPUNIT_ASSERT(scan(with_mixed({kText, "Content-Type: application/pgp-signature; name=x.asc\n\nx\n"})).attachment);
    }

    void calendar_invite_passes()
    {
        const std::string ics = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\nContent-Transfer-Encoding: base64\n\n" +
                                base64("BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nSUMMARY:Meeting\nEND:VEVENT\nEND:VCALENDAR\n");
        CPPUNIT_ASSERT(!scan(kHead + multipart("multipart/alternative", "alt", {kText, kHtml, ics})).attachment);
    }

    void newsletter_passes_and_sink_gets_text()
    {
        RecordingSink sink;
        const Scan result = scan(kHead + multipart("multipart/alternative", "alt", {kText, kHtml}), 7, {}, &sink);
        CPPUNIT_ASSERT(!result.attachment);
        CPPUNIT_ASSERT_EQUAL(std::string("[text]Hello, see the report online.\n\n[end][html]<p>Hello, <a href=\"https://example.com/unsubscribe\">unsubscribe</a></p>\n\n[end]"),
                             sink.log);
    }

    void sink_gets_base64_text()
    {
        RecordingSink sink;
        const std::string part = "Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n" + base64("<a href=\"https://x.example/prefs\">prefs</a>");
        scan(with_mixed({part, kPdf}), 5, {}, &sink);
        CPPUNIT_ASSERT_EQUAL(std::string("[html]<a href=\"https://x.example/prefs\">prefs</a>[end]"), sink.log);
    }

    static std::string nest(int levels)
    {
        std::string body = kText;
        for (int i = levels; i-- > 0;) body = multipart("multipart/mixed", "b" + std::to_string(i), {body});
        return kHead + body;
    }

    void depth_64_passes_65_is_finding()
    {
        CPPUNIT_ASSERT(!scan(nest(64)).attachment);
        const Scan deep = scan(nest(65));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, deep.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("depth"), deep.findings[0].reason);
        // Thousands of levels: bounded, one finding.
        CPPUNIT_ASSERT_EQUAL(std::string("depth"), scan(nest(2000)).findings.at(0).reason);
        // Embedded messages count as levels too.
        std::string message = "From: x@y\n\nhi\n";
        for (int i = 0; i < 70; ++i) message = "From: x@y\nContent-Type: message/rfc822\n\n" + message;
        CPPUNIT_ASSERT_EQUAL(std::string("depth"), scan(message).findings.at(0).reason);
    }

    void missing_final_boundary()
    {
        CPPUNIT_ASSERT(scan(with_mixed({kText, kPdf}, false)).attachment);
        // Truncated inside the attachment's header block.
        CPPUNIT_ASSERT(scan(kHead + "Content-Type: multipart/mixed; boundary=b\n\n--b\n" + kText + "--b\nContent-Type: application/zip").attachment);
    }

    void part_headers_without_blank_line()
    {
        CPPUNIT_ASSERT(scan(with_mixed({kText, "Content-Type: application/zip; name=a.zip"})).attachment);
    }

    void boundary_prefix_of_another()
    {
        const std::string inner = multipart("multipart/alternative", "==b1==_2", {kText, kPdf});
        const Scan result = scan(with_mixed({inner, kText}));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("1.2"), result.findings[0].part);
    }

    void evasions()
    {
        // Two Content-Type fields: either may be the one the client believes.
        CPPUNIT_ASSERT(scan(with_mixed({"Content-Type: text/plain\nContent-Type: application/x-msdownload\n\nMZ\n"})).attachment);
        // A forgotten ';' before boundary=.
        CPPUNIT_ASSERT(scan(kHead + "Content-Type: multipart/mixed\n\tboundary=\"zz\"\n\n--zz\n" + kPdf + "--zz--\n").attachment);
        // A boundary folded onto two lines.
        CPPUNIT_ASSERT(scan(kHead + "Content-Type: multipart/mixed; boundary=\"=_a \n b\"\n\n--=_a \nContent-Type: text/plain\n\nx\n--=_a \n" + kPdf).attachment);
        // An unquoted boundary with parentheses: RFC 2045 reads "(1)" as a comment, clients take
        // it whole. Both readings are boundaries; the comment reading alone hid the PDF.
        const std::string delimiter = "------=_Part_(1)\n";
        CPPUNIT_ASSERT(scan(kHead + "Content-Type: multipart/mixed; boundary=----=_Part_(1)\n\n" + delimiter +
                            "Content-Type: text/plain\n\nx\n" + delimiter + kPdf + "------=_Part_(1)--\n")
                           .attachment);
        CPPUNIT_ASSERT(scan(kHead + "Content-Type: multipart/mixed; boundary=b(c)\n\n--b\n" + kPdf + "--b--\n").attachment);
        // Comments, odd case, spaces before the colon.
        CPPUNIT_ASSERT(scan(with_mixed({"Content-Type: (x) Application/PDF (y)\n\nx\n"})).attachment);
        CPPUNIT_ASSERT(scan(with_mixed({"content-disposition : attachment\n\nx\n"})).attachment);
        // Quoted names with escapes, names with spaces unquoted.
        CPPUNIT_ASSERT_EQUAL(std::string("a \"b\".pdf"), scan(with_mixed({"Content-Type: text/plain; name=\"a \\\"b\\\".pdf\"\n\nx\n"})).findings.at(0).filename);
        CPPUNIT_ASSERT_EQUAL(std::string("my file.pdf"), scan(with_mixed({"Content-Type: text/plain; name=my file.pdf\n\nx\n"})).findings.at(0).filename);
        // Bad base64 inside an encoded embedded message: what decodes is still scanned.
        const std::string inner = "From: c@d\nContent-Type: application/zip\n\nUEsDBA==\n";
        const std::string broken = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + base64(inner) + "!!!%%%***\n";
        CPPUNIT_ASSERT(scan(with_mixed({kText, broken})).attachment);
        // Header garbage before the real fields of a part.
        CPPUNIT_ASSERT(scan(with_mixed({kText, "Content-Type: image/gif\n@@@ garbage\n\nGIF89a\n"})).attachment);
        // Top-level headers cut short by a non-header line: MIME fields at the body's start count.
        CPPUNIT_ASSERT(scan("From: a@b\n\nContent-Type: multipart/mixed; boundary=q\n\n--q\n" + kPdf + "--q--\n").attachment);
        // Digest parts default to message/rfc822.
        CPPUNIT_ASSERT(scan(kHead + multipart("multipart/digest", "d", {"\nFrom: x@y\nContent-Type: image/jpeg\n\nxx\n"})).attachment);
        // A multipart without boundary is read as text; uu inside still counts.
        CPPUNIT_ASSERT(scan(kHead + "Content-Type: multipart/mixed\n\n" + kUuBlock).attachment);
        // Delivery reports are not attachments.
        CPPUNIT_ASSERT(!scan(kHead + multipart("multipart/report; report-type=delivery-status", "r",
            {kText, "Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\n", "Content-Type: text/rfc822-headers\n\nFrom: a@b\n"})).attachment);
    }

    void top_level_attachment()
    {
        const Scan result = scan(kHead + "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n");
        CPPUNIT_ASSERT_EQUAL(std::string("1"), result.findings.at(0).part);
        CPPUNIT_ASSERT_EQUAL(std::string("type"), result.findings[0].reason);
    }

    void chunk_split_at_every_offset()
    {
        const std::string message = kHead + multipart("multipart/mixed", "----=_Part_0", {kText, multipart("multipart/related", "r", {kHtml, kPdf})});
        const std::string::size_type body_start = message.find("\n\n") + 2;
        const std::string body = message.substr(body_start);
        for (std::size_t split = 0; split <= body.size(); ++split) {
            const auto findings = scan_split_body("multipart/mixed; boundary=\"----=_Part_0\"", body, split);
            CPPUNIT_ASSERT_EQUAL_MESSAGE("split at " + std::to_string(split), std::size_t{1}, findings.size());
            CPPUNIT_ASSERT_EQUAL_MESSAGE("split at " + std::to_string(split), std::string("2.2"), findings[0].part);
            CPPUNIT_ASSERT_EQUAL(std::string("report.pdf"), findings[0].filename);
        }
        const Scan bytes = scan(message, 1);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, bytes.findings.size());
    }

    void one_byte_chunks_crlf()
    {
        std::string message = kHead + multipart("multipart/mixed", "b", {kText, kPdf});
        std::string crlf;
        for (const char c : message) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        for (const std::size_t chunk : {1, 2, 3, 5, 64, 0}) {
            const Scan result = scan(crlf, chunk);
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
            CPPUNIT_ASSERT_EQUAL(std::string("report.pdf"), result.findings[0].filename);
        }
    }

    void huge_header_is_bounded()
    {
        // A 2 MB Content-Type: judged on what fits (the type), no crash.
        const std::string huge = "Content-Type: application/zip; x=\"" + std::string(2 << 20, 'a') + "\"\n\nx\n";
        CPPUNIT_ASSERT(scan(with_mixed({kText, huge}), 4096).attachment);
        // A text part header too large to read in full is a finding in itself.
        const std::string text = "Content-Type: text/plain; x=\"" + std::string(2 << 20, 'a') + "\"; name=\"hidden.exe\"\n\nx\n";
        const Scan result = scan(with_mixed({kText, text}), 65536);
        CPPUNIT_ASSERT_EQUAL(std::string("malformed"), result.findings.at(0).reason);
        // Many uninteresting header lines: fine.
        std::string many;
        for (int i = 0; i < 100000; ++i) many += "X-Junk: " + std::to_string(i) + "\n";
        CPPUNIT_ASSERT(scan(with_mixed({many + kPdf.substr(0, kPdf.find('\n') + 1) + "\nx\n"}), 1000).attachment);
    }

    void huge_line_is_bounded()
    {
        // 8 MB of text without a line break, then a boundary and an attachment.
        const std::string text = "Content-Type: text/plain\n\n" + std::string(8 << 20, 'x');
        const Scan result = scan(with_mixed({text, kPdf}), 100000);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, result.findings.size());
        // A long line that starts with "--" in attachment content.
        const std::string pdf = kPdf + "--" + std::string(1 << 20, '-') + "\n";
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, scan(with_mixed({pdf, kText}), 3000).findings.size());
    }

    void configurable_types_and_cap()
    {
        MimeOptions options;
        options.body_types.push_back("application/pdf");
        CPPUNIT_ASSERT(!scan(with_mixed({kText, "Content-Type: application/pdf\n\nx\n"}), 0, options).attachment);
        MimeOptions capped;
        capped.max_findings = 3;
        std::vector<std::string> parts(20, kPdf);
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, scan(with_mixed(parts), 0, capped).findings.size());
        MimeOptions no_exempt;
        no_exempt.exempt_types.clear();
        CPPUNIT_ASSERT(scan(kHead + multipart("multipart/signed", "s", {kText, "Content-Type: application/pgp-signature\n\nx\n"}), 0, no_exempt).attachment);
    }

    void header_params()
    {
        using mime::parse_header_value;
        const auto value = parse_header_value(" Multipart/Mixed ; boundary=\"a;b\" ; charset=x (c) ");
        CPPUNIT_ASSERT_EQUAL(std::string("multipart/mixed"), value.value);
        CPPUNIT_ASSERT_EQUAL(std::string("a;b"), *value.parameter("boundary"));
        CPPUNIT_ASSERT_EQUAL(std::string("x"), *value.parameter("charset"));
        CPPUNIT_ASSERT(!value.parameter("name"));
        const auto mixed = parse_header_value("attachment; filename=\"plain.txt\"; filename*=UTF-8''%C3%A9.txt");
        CPPUNIT_ASSERT_EQUAL(std::string("\xC3\xA9.txt"), *mixed.parameter("filename"));
        CPPUNIT_ASSERT_EQUAL(std::string("attachment"), mixed.value);
        const auto unterminated = parse_header_value("inline; filename=\"abc");
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), *unterminated.parameter("filename"));
        CPPUNIT_ASSERT_EQUAL(std::string("a b"), mime::decode_encoded_words("=?utf-8?q?a?= =?utf-8?q?_b?="));
        CPPUNIT_ASSERT_EQUAL(std::string("=?broken"), mime::decode_encoded_words("=?broken"));
        CPPUNIT_ASSERT_EQUAL(std::string("x"), mime::to_utf8("x-unknown-charset", "x"));
    }

    void decoders()
    {
        std::string out;
        mime::Base64Decoder b64;
        for (const char c : std::string("SGVs\nbG8s IHdv*cmxk\r\nIQ==")) b64.decode(std::string_view(&c, 1), out);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, world!"), out);
        out.clear();
        mime::QuotedPrintableDecoder qp;
        qp.decode_line("caf=C3=A9 =", true, out);
        qp.decode_line("end=3", false, out);
        qp.decode_line("D  ", true, out);
        qp.decode_line("bad =ZZ", true, out);
        CPPUNIT_ASSERT_EQUAL(std::string("caf\xC3\xA9 end=\nbad =ZZ\n"), out);
        out.clear();
        qp.decode_line("=3D=3d==c3=a9 a=4", true, out);  // escapes back to back, lower case, cut short
        qp.decode_line("plain text, no escape at all\t ", true, out);
        CPPUNIT_ASSERT_EQUAL(std::string("===\xC3\xA9 a=4\nplain text, no escape at all\n"), out);
    }

    // The base64 decoder takes 32 characters a step on the AVX2 path: every path decodes what
    // was encoded, and gives the scalar path's bytes for anything else - each byte value at each
    // place of a 32-character step, stray bytes, padding and line breaks, in any chunking.
    void base64_decoded_alike_on_every_vector_path()
    {
        unsigned seed = 11;
        const auto next = [&seed] {
            seed = seed * 1103515245u + 12345u;
            return seed >> 8;
        };
        std::vector<std::string> inputs;
        std::vector<std::string> payloads;
        for (int n = 0; n < 40; ++n) {
            std::string bytes(next() % 3000, '\0');
            for (char& c : bytes) c = static_cast<char>(next());
            payloads.push_back(bytes);
            std::string encoded = base64(bytes);  // 76-character lines, LF
            if (n % 2 == 1) {  // CRLF line ends
                std::string crlf;
                for (const char c : encoded) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
                encoded = crlf;
            }
            inputs.push_back(encoded);
        }
        const std::string block(64, 'Q');
        for (int byte = 0; byte < 256; ++byte)
            for (std::size_t at = 0; at < 33; ++at) {
                std::string odd = block;
                odd[at] = static_cast<char>(byte);
                inputs.push_back(odd);
            }
        const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int n = 0; n < 400; ++n) {
            std::string text(next() % 200, 'A');
            for (char& c : text) {
                const unsigned pick = next() % 100;
                c = pick < 90 ? alphabet[next() % 64] : pick < 94 ? "=\r\n \t"[next() % 5] : static_cast<char>(next());
            }
            inputs.push_back(text);
        }

        const auto decode = [&next](const std::string& text, bool chunked) {
            mime::Base64Decoder decoder;
            std::string out = "kept";  // decoded bytes are appended
            for (std::size_t at = 0; at < text.size();) {
                const std::size_t take = chunked ? std::min<std::size_t>(1 + next() % 100, text.size() - at) : text.size();
                decoder.decode(std::string_view(text).substr(at, take), out);
                at += take;
            }
            return out;
        };
        std::vector<std::string> scalar;
        {
            const test::ForcedVectorPath forced(VectorPath::scalar);
            for (const auto& text : inputs) scalar.push_back(decode(text, false));
        }
        for (const VectorPath path : test::available_vector_paths()) {
            const test::ForcedVectorPath forced(path);
            const std::string name = test::vector_path_name(path);
            for (std::size_t n = 0; n < payloads.size(); ++n)
                CPPUNIT_ASSERT_MESSAGE(name + ": payload " + std::to_string(n), decode(inputs[n], false) == "kept" + payloads[n]);
            for (std::size_t n = 0; n < inputs.size(); ++n) {
                CPPUNIT_ASSERT_MESSAGE(name + ": input " + std::to_string(n), decode(inputs[n], false) == scalar[n]);
                CPPUNIT_ASSERT_MESSAGE(name + ": input " + std::to_string(n) + " in chunks", decode(inputs[n], true) == scalar[n]);
            }
        }
    }

    void embedded_encoding_detector()
    {
        mime::EmbeddedEncodingDetector detector;
        for (const char c : kUuBlock) detector.feed(std::string_view(&c, 1));
        CPPUNIT_ASSERT(detector.found());
        CPPUNIT_ASSERT_EQUAL(std::string("payload.exe"), detector.block().filename);
        mime::EmbeddedEncodingDetector b64;
        b64.feed("begin-base64 644 x.bin\nAAAAAAAA\n====\n");
        CPPUNIT_ASSERT(b64.found());
        mime::EmbeddedEncodingDetector none;
        none.feed("begin 644 x\nthis is prose, not data\n");
        CPPUNIT_ASSERT(!none.found());
    }

    // feed_line (the scanner's path for unencoded text) answers as feed on the same text does,
    // whatever the line lengths (pieces of long lines included) and line ends.
    void detector_lines_as_fed_text()
    {
        const std::string long_name(400, 'n');
        const std::vector<std::string> texts = {
            kUuBlock,
            "Hi\r\n\r\n" + kUuBlock,
            "begin-base64 644 x.bin\r\nAAAAAAAA\r\n====\r\n",
            "begin 644 x\nthis is prose, not data\n",
            "=ybegin line=128 size=5 name=a.exe\r\n",
            "=ybegin line=128 size=5\n",
            "begin 644 " + long_name + "\nM" + std::string(60, '!') + "\n",  // begin line longer than kKeep
            std::string(300, 'x') + "\nbegin 644 ok.exe\nM" + std::string(60, '"') + "\n",
            "text without a line end: =ybegin name=x",
            "begin 644 ok.exe\n\nM" + std::string(60, '!') + "\n",  // a blank line breaks the block
            "xx begin 644 no.exe\nM" + std::string(60, '!') + "\nsee =ybegin name=no\n",  // not at a line start
            std::string(90, 'q') + "\n" + std::string(70, 'b') + "\n=\nbegin 644 late.exe\nM" + std::string(60, '#') + "\n",
        };
        for (const std::string& text : texts) {
            for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{100}}) {
                mime::EmbeddedEncodingDetector fed, lines;
                bool fed_completed = false;
                for (std::size_t at = 0; at < text.size(); at += piece == 0 ? text.size() : piece)  // feed in chunks too
                    fed_completed = fed.feed(std::string_view(text).substr(at, piece == 0 ? text.size() : piece)) || fed_completed;
                fed_completed = fed.finish() || fed_completed;
                bool lines_completed = false;
                for (std::size_t at = 0; at < text.size();) {
                    const std::size_t nl = std::min(text.find('\n', at), text.size());
                    std::string_view line = std::string_view(text).substr(at, nl - at);
                    while (piece != 0 && line.size() > piece) {  // a long line in pieces
                        lines_completed = lines.feed_line(line.substr(0, piece), false) || lines_completed;
                        line.remove_prefix(piece);
                    }
                    lines_completed = lines.feed_line(line, nl < text.size()) || lines_completed;
                    at = nl + 1;
                }
                lines_completed = lines.finish() || lines_completed;
                const std::string label = text.substr(0, 40) + " in pieces of " + std::to_string(piece);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, fed.found(), lines.found());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, fed_completed, lines_completed);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, fed.block().kind, lines.block().kind);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, fed.block().filename, lines.block().filename);
            }
        }
        mime::EmbeddedEncodingDetector yenc;
        CPPUNIT_ASSERT(yenc.feed_line("=ybegin line=128 size=5 name=a.exe \r", true));
        CPPUNIT_ASSERT_EQUAL(std::string("a.exe"), yenc.block().filename);
    }

    // The session drops the sink once List-Unsubscribe has settled the unsubscribe rule: the
    // sink hears nothing more, the attachment checks (uuencode in text included) go on.
    void dropped_sink_gets_no_more_text()
    {
        const std::string message = with_mixed({kText, kHtml, "Content-Type: text/plain\n\nSee:\n" + kUuBlock});
        const Scan without_sink = scan(message);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, without_sink.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), without_sink.findings[0].reason);

        RecordingSink sink;
        {
            MimeScanner scanner(MimeOptions{}, &sink);
            scanner.header("MIME-Version", "1.0");
            scanner.header("Content-Type", "multipart/mixed; boundary=\"==b1==\"");
            scanner.drop_text_sink();  // before any text
            const std::size_t blank = message.find("\n\n");
            scanner.body(std::string_view(message).substr(blank + 2));
            scanner.finish();
            CPPUNIT_ASSERT_EQUAL(std::string(), sink.log);
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, scanner.findings().size());
            CPPUNIT_ASSERT_EQUAL(std::string("uu"), scanner.findings()[0].reason);
            CPPUNIT_ASSERT_EQUAL(std::string("3"), scanner.findings()[0].part);
            CPPUNIT_ASSERT_EQUAL(std::string("payload.exe"), scanner.findings()[0].filename);
        }
        // Dropped in the middle of a text part: that part is ended for the sink, nothing follows.
        sink.log.clear();
        MimeScanner scanner(MimeOptions{}, &sink);
        scanner.header("Content-Type", "text/plain");
        scanner.end_of_headers();
        scanner.body("Hello\r\nwor");
        scanner.drop_text_sink();
        scanner.body("ld\r\n" + kUuBlock + "unsubscribe: https://x.example/u\n");
        scanner.drop_text_sink();  // twice is harmless
        scanner.finish();
        CPPUNIT_ASSERT_EQUAL(std::string("[text]Hello\n[end]"), sink.log);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, scanner.findings().size());
        CPPUNIT_ASSERT_EQUAL(std::string("uu"), scanner.findings()[0].reason);
    }

    // find_marked_line (64 bytes at a time, on every vector path) against the plain reading:
    // every line start in turn.
    void marked_lines_found_as_reading_line_by_line_finds_them()
    {
        for (const VectorPath path : test::available_vector_paths()) {
            const test::ForcedVectorPath forced(path);
            marked_lines_found_on_the_path_in_use(test::vector_path_name(path) + ": ");
        }
    }

    static void marked_lines_found_on_the_path_in_use(const std::string& path)
    {
        const auto reference = [](std::string_view text, const mime::LineMarks& marks) {
            for (std::size_t at = 0; at < text.size(); ++at) {
                const bool line_start = at == 0 || text[at - 1] == '\n';
                if (line_start && (text[at] == marks[0] || text[at] == marks[1] || text[at] == marks[2])) return at;
            }
            return text.size();
        };
        const std::string alphabet = "ab-=\n\r x";
        unsigned seed = 7;
        std::size_t found = 0;
        for (int round = 0; round < 20000; ++round) {
            std::string text(static_cast<std::size_t>(round % 70), 'x');
            for (char& c : text) {
                seed = seed * 1103515245u + 12345u;
                const unsigned pick = (seed >> 16) % 16;  // half plain text, half marks, newlines and blanks
                c = pick < alphabet.size() ? alphabet[pick] : 'y';
            }
            for (const mime::LineMarks& marks : {mime::kBoundaryLines, mime::kBoundaryOrBlockLines}) {
                const std::size_t expected = reference(text, marks);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(path + "text \"" + text + "\"", expected, mime::find_marked_line(text, marks));
                found += expected < text.size() ? 1 : 0;
            }
        }
        CPPUNIT_ASSERT(found > 8000 && found < 32000);  // of 40,000: both answers are common
        // Longer texts with a few marks, some at line starts: the first of several hits in one
        // vector step, in any of its lanes.
        for (int round = 0; round < 3000; ++round) {
            seed = seed * 1103515245u + 12345u;
            std::string text(64 + (seed >> 16) % 200, 'x');
            for (std::size_t at = (seed >> 8) % 9; at < text.size(); at += 1 + (seed >> (at % 16)) % 12) text[at] = '\n';
            for (int marks = 0; marks < 4; ++marks) {
                seed = seed * 1103515245u + 12345u;
                text[(seed >> 16) % text.size()] = "-b="[marks % 3];
            }
            for (const mime::LineMarks& marks : {mime::kBoundaryLines, mime::kBoundaryOrBlockLines})
                CPPUNIT_ASSERT_EQUAL_MESSAGE(path + "text \"" + text + "\"", reference(text, marks),
                                             mime::find_marked_line(text, marks));
        }
        // A mark just past a 16-byte block and at the very end.
        CPPUNIT_ASSERT_EQUAL(std::size_t{17}, mime::find_marked_line(std::string(16, 'x') + "\n-", mime::kBoundaryLines));
        CPPUNIT_ASSERT_EQUAL(std::size_t{33}, mime::find_marked_line(std::string(32, 'x') + "\n=ybegin", mime::kBoundaryOrBlockLines));
        CPPUNIT_ASSERT_EQUAL(std::size_t{34}, mime::find_marked_line(std::string(33, 'x') + "\n", mime::kBoundaryLines));
        // Long prose with one mark, after a newline or not, at every offset: the 64-byte steps
        // must neither miss it nor find the one that is not at a line start.
        for (std::size_t size = 2; size <= 300; ++size) {
            std::string prose(size, 'x');
            for (std::size_t at = 37; at < size; at += 38) prose[at] = '\n';
            for (std::size_t at = 1; at < size; ++at) {
                std::string text = prose;
                text[at] = '-';
                const std::size_t expected = text[at - 1] == '\n' ? at : size;
                CPPUNIT_ASSERT_EQUAL_MESSAGE(path + "size " + std::to_string(size) + " at " + std::to_string(at), expected,
                                             mime::find_marked_line(text, mime::kBoundaryLines));
            }
        }
    }

    // Text the scanner skips line by line (prose, lines starting with 'b' or '-' that are neither
    // begin lines nor boundaries) must not hide a uuencoded block or a boundary after it,
    // wherever the MTA cut the body.
    void blocks_and_boundaries_after_skipped_lines_at_every_split()
    {
        std::string prose;
        for (int i = 0; i < 12; ++i)
            prose += std::string(static_cast<std::size_t>(3 + i * 7), static_cast<char>('c' + i)) + "\n";
        prose += "but not a begin line\nbegin here, said the prose\n- a dash\n--not-the-boundary\n=yend\n";
        const std::string text_part = "Content-Type: text/plain\n\n" + prose + kUuBlock + prose;
        const std::string message = kHead + multipart("multipart/mixed", "b1", {text_part, kPdf});
        const std::string body = message.substr(message.find("\n\n") + 2);
        for (std::size_t split = 0; split <= body.size(); ++split) {
            const auto findings = scan_split_body("multipart/mixed; boundary=\"b1\"", body, split);
            const std::string where = "split at " + std::to_string(split);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::size_t{2}, findings.size());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string("uu"), findings[0].reason);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string("payload.exe"), findings[0].filename);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::string("report.pdf"), findings[1].filename);
        }
        // Without the block: only the PDF, after the same text (the prose alone finds nothing).
        const Scan plain = scan(kHead + multipart("multipart/mixed", "b1", {"Content-Type: text/plain\n\n" + prose, kPdf}), 5);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, plain.findings.size());
        CPPUNIT_ASSERT_EQUAL(std::string("report.pdf"), plain.findings[0].filename);
    }

    // Encoded content is decoded a batch of whole lines at a time when the MTA's chunk holds them,
    // and a line at a time otherwise (a chunk of 1 byte never holds a whole line): both must give
    // the same text and findings, whatever the lines hold.
    void encoded_lines_read_alike_in_batches_and_one_by_one()
    {
        std::string html = "<p>Report</p>\n";
        for (int i = 0; i < 400; ++i) html += "<p>line " + std::to_string(i) + " of the annual report</p>\n";
        const std::string uu_text = "See below.\n" + kUuBlock + "Thanks.\n";
        std::string stray_b64 = base64(uu_text);
        stray_b64.insert(40, "!*");                     // bytes outside the alphabet, skipped
        stray_b64.insert(stray_b64.find('\n') + 1, "--\n-----\n");  // '-' lines that are no boundary
        std::string qp = "Soft=\nbreak and trailing blanks   \nan escape =3D and a bad one =ZZ\n--not-the-boundary\n";
        for (int i = 0; i < 300; ++i) qp += "qp line " + std::to_string(i) + " with =E2=80=94 a dash\n";
        const std::string long_b64 = base64(std::string(70000, 'y'));  // one part of lines ...
        std::string one_line = long_b64;                                 // ... and the same on one line
        one_line.erase(std::remove(one_line.begin(), one_line.end(), '\n'), one_line.end());
        const std::string inner = "From: c@d\nContent-Type: multipart/mixed; boundary=in\n\n--in\n" + kText + "--in\n" + kPdf + "--in--\n";
        const std::string parts_lf = with_mixed({
            "Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n" + base64(html),
            "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n" + qp,
            "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + stray_b64,
            "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + long_b64,
            "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + one_line + "\n",
            "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + base64(inner),
        });
        std::string parts_crlf;
        for (const char c : parts_lf) parts_crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        for (const std::string& message : {parts_lf, parts_crlf}) {
            RecordingSink whole_sink;
            const Scan whole = scan(message, 0, {}, &whole_sink);
            // What is in it: the uuencoded block in the third part, the PDF in the embedded message.
            CPPUNIT_ASSERT_EQUAL(std::size_t{2}, whole.findings.size());
            CPPUNIT_ASSERT_EQUAL(std::string("uu"), whole.findings[0].reason);
            CPPUNIT_ASSERT_EQUAL(std::string("3"), whole.findings[0].part);
            CPPUNIT_ASSERT_EQUAL(std::string("report.pdf"), whole.findings[1].filename);
            CPPUNIT_ASSERT_EQUAL(std::string("6.2"), whole.findings[1].part);
            const std::string y(70000, 'y');
            const std::string expected = "[html]" + html + "[end][text]Softbreak and trailing blanks\nan escape = and a bad one =ZZ\n" +
                                         "--not-the-boundary\n" + qp.substr(qp.find("qp line 0")) + "\n[end][text]" + uu_text +
                                         "[end][text]" + y + "[end][text]" + y + "[end]";
            std::string expected_decoded = expected;
            for (std::size_t at = 0; (at = expected_decoded.find("=E2=80=94", at)) != std::string::npos;)
                expected_decoded.replace(at, 9, "\xE2\x80\x94");
            CPPUNIT_ASSERT(whole_sink.log == expected_decoded);
            for (const std::size_t chunk : {1, 2, 7, 77, 78, 100, 4096, 65535}) {
                RecordingSink sink;
                const Scan result = scan(message, chunk, {}, &sink);
                const std::string where = "chunks of " + std::to_string(chunk) + (message == parts_crlf ? ", CRLF" : ", LF");
                CPPUNIT_ASSERT_MESSAGE(where, sink.log == whole_sink.log);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where, whole.findings.size(), result.findings.size());
                for (std::size_t i = 0; i < whole.findings.size(); ++i) {
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(where, whole.findings[i].part, result.findings[i].part);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(where, whole.findings[i].reason, result.findings[i].reason);
                }
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MimeScannerTest);

}  // namespace ecomm

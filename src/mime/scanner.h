// The streaming MIME scanner behind the attachments rule (DESIGN.md, "Attachments"): fed the
// message as the MTA streams it (headers one by one, then body chunks of any size, CRLF or bare
// LF), it finds every part that is an attachment under the policy's definition, at any depth:
//
//   disp       Content-Disposition: attachment
//   name       a filename (filename, filename* with RFC 2231 continuations and charsets, name,
//              RFC 2047 encoded words)
//   type       a media type that is not a body type (MimeOptions::body_types); inline images of
//              multipart/related (cid:) are media and count
//   uu, yenc   a uuencoded or yEnc block in a text part, a preamble or an epilogue
//   tnef       application/ms-tnef, application/vnd.ms-tnef or a part named winmail.dat
//   partial    message/partial (the rest of the message could be anything)
//   depth      structure nested deeper than MimeOptions::max_depth
//   malformed  a part header too large to judge in full
//
// Containers are multipart/* and message/rfc822 (also message/global and message/news); an
// embedded message is scanned like the outer one, and when it is base64 or quoted-printable
// encoded its decoded stream is fed to a nested scanner. Delivery and disposition reports
// (message/delivery-status, message/disposition-notification, text/rfc822-headers) are header
// blocks, not attachments. Signature parts (MimeOptions::exempt_types) of a multipart/signed do
// not count.
//
// Streaming and bounded: no part is ever buffered (only batches of about 8 KiB of text on their
// way to the decoders, the detector and the sink, plus at most one line of 64 KiB); lines are
// looked at one by one (longer lines than 64 KiB in pieces), except where they need no look of
// their own: encoded content is decoded a batch of whole lines at a time up to the next line
// starting with '-' (the only kind that can be a boundary), and content that can only matter at
// a boundary or a uuencode/yEnc begin line (attachments, unencoded text the sink does not read)
// is searched for lines starting with '-', 'b' or '=' and only those are read. Decoder state is
// a few bytes. Malformed structure is judged on what can be seen: a missing final boundary, a
// header without a blank line, broken base64 or an unknown encoding never hide a part that was
// already visible, and there are no loops that do not consume input.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ecomm {

struct MimeFinding {            // one attachment found
    std::string part;           // part path, e.g. "2.1" (top level body = "1" for single part); for display
    std::string content_type;   // lower-cased media type, e.g. "application/pdf"
    std::string filename;       // decoded (UTF-8) when known, else ""
    std::string reason;         // one of: disp, name, type, uu, yenc, tnef, partial, depth, malformed
};

struct MimeOptions {
    int max_depth = 64;  // deeper structure is itself a finding (reason "depth")
    std::vector<std::string> body_types = {"text/plain", "text/html", "text/enriched", "text/calendar"};
    // Exempt only as a part of multipart/signed.
    std::vector<std::string> exempt_types = {"application/pgp-signature", "application/pkcs7-signature",
                                             "application/x-pkcs7-signature"};
    std::size_t max_findings = 32;
};

// Decoded text of body-type parts, streamed (for the unsubscribe rule). Only text/plain and
// text/html leaves of the message itself that are no attachment are passed on; the text of
// embedded (forwarded) messages is not.
class MimeTextSink {
public:
    virtual ~MimeTextSink() = default;
    virtual void begin_text(bool html) = 0;           // a text/plain or text/html leaf starts
    virtual void text(std::string_view decoded) = 0;  // decoded (base64/QP) bytes, any chunking
    virtual void end_text() = 0;
};

namespace detail {
struct ScanContext;  // options, findings and sink shared by the parsers of one message
class MimeParser;    // one message's parse state, defined in scanner.cpp
}

class MimeScanner {
public:
    explicit MimeScanner(MimeOptions options = {}, MimeTextSink* sink = nullptr);
    // Options shared by every message of a snapshot (built once, not per message).
    explicit MimeScanner(std::shared_ptr<const MimeOptions> options, MimeTextSink* sink = nullptr);
    ~MimeScanner();
    MimeScanner(const MimeScanner&) = delete;
    MimeScanner& operator=(const MimeScanner&) = delete;

    void header(std::string_view name, std::string_view value);  // top-level message headers, as the milter gets them
    void end_of_headers();
    void body(std::string_view chunk);  // any chunking, CRLF or bare LF
    // The sink's answer can no longer matter: no more text is passed to it (a part it is reading
    // is ended with end_text first). The attachment checks go on unchanged.
    void drop_text_sink();
    void finish();                      // end of message
    const std::vector<MimeFinding>& findings() const;
    bool has_attachment() const;

private:
    std::shared_ptr<const MimeOptions> options_;
    std::vector<MimeFinding> findings_;
    std::unique_ptr<detail::ScanContext> context_;
    std::unique_ptr<detail::MimeParser> parser_;
    bool headers_done_ = false;
    bool finished_ = false;
};

}  // namespace ecomm

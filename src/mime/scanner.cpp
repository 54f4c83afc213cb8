// The streaming MIME scanner: a line machine over the body (headers of a part, then its content,
// with a stack of open multipart boundaries), judging each part at the end of its header block.
#include "mime/scanner.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "mime/decoders.h"
#include "mime/embedded_encodings.h"
#include "mime/header_params.h"
#include "mime/line_marks.h"
#include "util/ascii.h"

namespace ecomm {

namespace detail {

namespace {

using mime::HeaderValue;

constexpr std::size_t kMaxLine = 64 * 1024;          // longer lines are handled in pieces
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;   // kept per part: Content-Type/-Disposition/-Transfer-Encoding
constexpr std::size_t kMaxFieldCopies = 4;           // repeated Content-Type fields judged
constexpr std::size_t kSinkBatch = 8 * 1024;         // text comes a line at a time: one sink call per this much
constexpr std::size_t kScanBatch = 8 * 1024;         // decoded text goes to the block detector in pieces this large

bool contains(const std::vector<std::string>& list, std::string_view item)
{
    return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join_path(const std::string& prefix, unsigned long index)
{
    return prefix.empty() ? std::to_string(index) : prefix + "." + std::to_string(index);
}

bool is_message_container(std::string_view type)
{
    return type == "message/rfc822" || type == "message/global" || type == "message/news";
}

// Reports made of header blocks (RFC 3464, RFC 8098, RFC 5965): read as text, never attachments.
bool is_report_type(std::string_view type)
{
    return type == "message/delivery-status" || type == "message/global-delivery-status" ||
           type == "message/disposition-notification" || type == "message/global-disposition-notification" ||
           type == "message/feedback-report" || type == "text/rfc822-headers" || type == "message/global-headers";
}

std::string boundary_parameter(const HeaderValue& type)
{
    std::string boundary;
    if (const std::string* value = type.parameter("boundary")) boundary = *value;
    while (!boundary.empty() && (boundary.back() == ' ' || boundary.back() == '\t')) boundary.pop_back();
    return boundary;
}

// An unquoted boundary as written, when it holds a '(' (boundary=----=_Part_(1)): RFC 2045 reads
// "(1)" as a comment, but mailers write such boundaries unquoted and clients take them whole.
std::string boundary_with_parentheses(std::string_view raw)
{
    const std::string lower = to_lower(raw);
    for (std::size_t at = lower.find("boundary="); at != std::string::npos; at = lower.find("boundary=", at + 1)) {
        if (at > 0 && raw[at - 1] != ';' && !is_ascii_space(raw[at - 1])) continue;  // "xboundary="
        const std::size_t start = at + 9;
        std::size_t end = start;
        while (end < raw.size() && raw[end] != ';' && raw[end] != '"' && !is_ascii_space(raw[end])) ++end;
        const std::string_view value = raw.substr(start, end - start);
        if (end < raw.size() && raw[end] == '"') return {};  // quoted: nothing is a comment there
        return value.find('(') != std::string_view::npos ? std::string(value) : std::string();
    }
    return {};
}

bool is_tnef(std::string_view type, std::string_view filename)
{
    return type == "application/ms-tnef" || type == "application/vnd.ms-tnef" || iequals(filename, "winmail.dat");
}

// "Name: value" header line? A name of visible characters (blanks before the colon tolerated).
bool split_field(std::string_view line, std::string_view& name, std::string_view& value)
{
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view candidate = line.substr(0, colon);
    while (!candidate.empty() && (candidate.back() == ' ' || candidate.back() == '\t')) candidate.remove_suffix(1);
    if (candidate.empty()) return false;
    for (const char c : candidate) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte == 0x7f) return false;  // 8-bit bytes (a BOM) tolerated
    }
    name = candidate;
    value = line.substr(colon + 1);
    return true;
}

enum class Field { other, content_type, disposition, encoding };

bool is_mime_field(std::string_view name)
{
    return istarts_with(name, "content-") || iequals(name, "mime-version");
}

Field classify_field(std::string_view name)
{
    if (iequals(name, "content-type")) return Field::content_type;
    if (iequals(name, "content-disposition")) return Field::disposition;
    if (iequals(name, "content-transfer-encoding")) return Field::encoding;
    return Field::other;
}

}  // namespace

struct ScanContext {
    const MimeOptions& options;
    std::vector<MimeFinding>& findings;
    MimeTextSink* sink;
};

// One message (the top-level one, or an encoded embedded one fed decoded).
class MimeParser {
public:
    MimeParser(ScanContext& context, std::string prefix, int depth, bool embedded);

    void add_field(std::string_view name, std::string_view value);  // a header field of the root entity
    void end_headers();                                              // root headers complete
    void feed(std::string_view data);
    void finish();
    // Nothing more can be learnt from this message's remaining bytes: an attachment leaf with no
    // boundary left to look for. An encoded embedded message in that state need not be decoded.
    bool settled() const { return mode_ == Mode::body && body_ == Body::ignore && frames_.empty(); }
    void drop_sink();  // before the context's sink goes

private:
    enum class Mode { headers, body };
    enum class Body { ignore, text, between, embedded };
    enum class Encoding { identity, base64, quoted_printable };

    struct Frame {
        std::string boundary;
        std::string folded_boundary;  // the boundary cut at a line fold inside it, when different
        std::string written_boundary;  // an unquoted boundary with "(...)" in it, comment kept
        std::string prefix;  // path of the multipart; its parts are prefix.N
        unsigned long parts = 0;
        int child_depth = 0;
        bool is_signed = false;
        bool digest = false;
        bool embedded = false;
    };

    struct Entity {
        std::string prefix;          // path of this part ("" for the top-level message)
        bool message_root = false;   // the header block of a message: a leaf is displayed as prefix.1
        int depth = 0;
        bool in_signed = false;
        bool default_rfc822 = false;  // a part of multipart/digest
        bool embedded = false;        // inside an embedded message
        std::vector<std::string> content_types;
        std::vector<std::string> dispositions;
        std::string encoding;
        std::size_t kept = 0;
        bool oversized = false;
    };

    // Line machine
    void accept(std::string_view bytes, bool ends_line);
    void dispatch(std::string_view line, bool starts_line, bool ends_line);
    bool check_boundary(std::string_view line);
    static bool is_delimiter(std::string_view line, std::string_view boundary, bool& close);
    void header_line(std::string_view line, bool starts_line, bool ends_line);
    void body_line(std::string_view line, bool ends_line);
    std::optional<mime::LineMarks> watched_lines() const;
    std::string_view skip_unwatched_lines(std::string_view data);
    bool reads_encoded_content() const { return encoding_ != Encoding::identity && (body_ == Body::text || body_ == Body::embedded); }
    std::string_view decode_encoded_lines(std::string_view data);

    // Parts
    void begin_entity(Entity entity);
    void keep_field();
    void start_body();
    void start_leaf(const HeaderValue& type_value, std::string type, const HeaderValue& disposition);
    void start_embedded_message(const std::string& type);
    bool container_is_attachment(const std::string& type, const HeaderValue& type_value, const HeaderValue& disposition);
    void end_part();
    void decode(std::string_view line, bool ends_line, std::string& out);
    void take_decoded(std::string_view decoded);  // decoded content of the current text part or embedded message
    void flush_sink();  // passes on the decoded text gathered so far
    void flush_scan();  // the same for the block detector
    void report_block(const std::string& type);
    void add_finding(std::string part, std::string type, std::string filename, std::string reason);
    std::string leaf_path() const { return entity_.message_root ? join_path(entity_.prefix, 1) : entity_.prefix; }
    std::string between_path() const { return frames_.empty() || frames_.back().prefix.empty() ? "0" : frames_.back().prefix; }

    ScanContext& context_;
    std::vector<Frame> frames_;
    Entity entity_;
    Mode mode_ = Mode::headers;
    Body body_ = Body::between;
    Encoding encoding_ = Encoding::identity;

    // Line assembly
    std::string carry_;        // an incomplete line, at most kMaxLine bytes
    bool continuing_ = false;  // the next bytes continue a line already handed on in pieces
    bool skip_line_ = false;   // rest of a content line whose start did not need a look: drop to '\n'

    // Header field being read
    Field field_ = Field::other;
    std::string field_value_;

    // Content state
    std::string leaf_type_;
    mime::Base64Decoder base64_;
    mime::QuotedPrintableDecoder qp_;
    mime::EmbeddedEncodingDetector detector_;
    bool sinking_ = false;
    std::string sink_text_;  // decoded text for the sink, passed on in pieces of kSinkBatch
    std::string scan_text_;  // decoded text for the block detector, passed on in pieces of kScanBatch
    bool sniffing_ = false;  // top-level headers ended without a Content-Type (see end_headers)
    std::unique_ptr<MimeParser> nested_;
    std::string decoded_;  // scratch
    std::string encoded_;      // base64 lines gathered without their line breaks, for decode_encoded_lines
    std::string decode_room_;  // their decoding (its size only grows: no zero-filling per batch)
};

MimeParser::MimeParser(ScanContext& context, std::string prefix, int depth, bool embedded) : context_(context)
{
    Entity root;
    root.prefix = std::move(prefix);
    root.message_root = true;
    root.depth = depth;
    root.embedded = embedded;
    begin_entity(std::move(root));
}

void MimeParser::add_finding(std::string part, std::string type, std::string filename, std::string reason)
{
    if (context_.findings.size() >= context_.options.max_findings) return;
    context_.findings.push_back({std::move(part), std::move(type), std::move(filename), std::move(reason)});
}

// ---- line machine ----------------------------------------------------------------------------

void MimeParser::feed(std::string_view data)
{
    while (!data.empty()) {
        if (skip_line_) {
            const void* nl = std::memchr(data.data(), '\n', data.size());
            if (!nl) return;
            skip_line_ = false;
            data.remove_prefix(static_cast<std::size_t>(static_cast<const char*>(nl) - data.data()) + 1);
            continue;
        }
        if (carry_.empty() && !continuing_ && mode_ == Mode::body) {
            if (reads_encoded_content()) {
                const std::string_view rest = decode_encoded_lines(data);
                if (rest.size() < data.size()) {
                    data = rest;
                    continue;
                }  // else the line machine takes the next line (a possible boundary, or one not yet whole)
            } else {
                data = skip_unwatched_lines(data);
                if (data.empty() || skip_line_) continue;
            }
        }
        const void* nl = std::memchr(data.data(), '\n', data.size());
        if (!nl) {
            accept(data, false);
            return;
        }
        const std::size_t length = static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
        accept(data.substr(0, length), true);
        data.remove_prefix(length + 1);
    }
}

// The first bytes of the content lines that can change anything in the current state, or none
// when every line must be read (part headers, encoded text, text for the sink, the line after
// a uuencode begin line). A line is only a boundary if it starts with "--" and can only begin a
// uuencoded or yEnc block with "begin" or "=ybegin"; the other lines of such content are
// dropped as they are (an attachment's content needs no line at all once no boundary is open).
std::optional<mime::LineMarks> MimeParser::watched_lines() const
{
    switch (body_) {
    case Body::ignore: return mime::kBoundaryLines;
    case Body::text:
        if (encoding_ != Encoding::identity || sinking_) return std::nullopt;
        [[fallthrough]];
    case Body::between: return detector_.idle() ? std::optional(mime::kBoundaryOrBlockLines) : std::nullopt;
    case Body::embedded: return std::nullopt;
    }
    return std::nullopt;
}

// At a line start in content: returns the data from the first line that needs a look, or
// nothing (setting skip_line_ when the last line goes on into the next chunk).
std::string_view MimeParser::skip_unwatched_lines(std::string_view data)
{
    const std::optional<mime::LineMarks> marks = watched_lines();
    if (!marks) return data;
    if (body_ == Body::ignore && frames_.empty()) return {};  // no boundary can follow: the rest is content
    const std::size_t start = mime::find_marked_line(data, *marks);
    if (start < data.size()) return data.substr(start);
    skip_line_ = data.back() != '\n';
    return {};
}

void MimeParser::accept(std::string_view bytes, bool ends_line)
{
    while (carry_.size() + bytes.size() > kMaxLine) {
        const std::size_t room = kMaxLine - carry_.size();
        carry_.append(bytes.substr(0, room));
        bytes.remove_prefix(room);
        const std::string piece = std::move(carry_);
        carry_.clear();
        dispatch(piece, !continuing_, false);
        continuing_ = true;
    }
    if (!ends_line) {
        carry_.append(bytes);
        return;
    }
    if (carry_.empty()) {
        dispatch(bytes, !continuing_, true);
    } else {
        carry_.append(bytes);
        const std::string line = std::move(carry_);
        carry_.clear();
        dispatch(line, !continuing_, true);
    }
    continuing_ = false;
}

void MimeParser::dispatch(std::string_view line, bool starts_line, bool ends_line)
{
    if (ends_line && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (starts_line && line.size() >= 2 && line[0] == '-' && line[1] == '-' && !frames_.empty() && check_boundary(line)) return;
    if (mode_ == Mode::headers) header_line(line, starts_line, ends_line);
    else body_line(line, ends_line);
}

// RFC 2046 section 5.1.1: "--" boundary, optionally "--" (close), then only transport padding.
bool MimeParser::is_delimiter(std::string_view line, std::string_view boundary, bool& close)
{
    if (boundary.empty() || line.size() < 2 + boundary.size() || line.compare(2, boundary.size(), boundary) != 0) return false;
    std::string_view rest = line.substr(2 + boundary.size());
    close = rest.substr(0, 2) == "--";
    if (close) rest.remove_prefix(2);
    return rest.find_first_not_of(" \t\r") == std::string_view::npos;
}

// A delimiter or close delimiter of any open multipart, innermost first, under any of the ways its
// boundary may be read. An outer boundary closes the multiparts inside it.
bool MimeParser::check_boundary(std::string_view line)
{
    for (std::size_t i = frames_.size(); i-- > 0;) {
        bool close = false;
        const Frame& candidate = frames_[i];
        if (!is_delimiter(line, candidate.boundary, close) && !is_delimiter(line, candidate.folded_boundary, close) &&
            !is_delimiter(line, candidate.written_boundary, close))
            continue;
        if (mode_ == Mode::headers) start_body();  // a header block cut short is judged as it is
        end_part();
        if (close) {
            frames_.resize(i);
            mode_ = Mode::body;
            body_ = Body::between;
            return true;
        }
        frames_.resize(i + 1);
        Frame& frame = frames_.back();
        Entity part;
        part.prefix = join_path(frame.prefix, ++frame.parts);
        part.depth = frame.child_depth;
        part.in_signed = frame.is_signed;
        part.default_rfc822 = frame.digest;
        part.embedded = frame.embedded;
        begin_entity(std::move(part));
        return true;
    }
    return false;
}

// ---- headers ---------------------------------------------------------------------------------

void MimeParser::begin_entity(Entity entity)
{
    entity_ = std::move(entity);
    mode_ = Mode::headers;
    field_ = Field::other;
    field_value_.clear();
}

void MimeParser::keep_field()
{
    if (field_ == Field::other) return;
    std::vector<std::string>* list = field_ == Field::content_type ? &entity_.content_types
                                     : field_ == Field::disposition ? &entity_.dispositions : nullptr;
    if (list) {
        if (list->size() < kMaxFieldCopies) list->push_back(std::move(field_value_));
    } else if (entity_.encoding.empty()) {
        entity_.encoding = std::move(field_value_);
    }
    field_ = Field::other;
    field_value_.clear();
}

void MimeParser::add_field(std::string_view name, std::string_view value)
{
    keep_field();
    field_ = classify_field(name);
    if (field_ == Field::other) return;
    for (const char c : value) {
        if (c == '\r') continue;  // folds stay as '\n' (see start_body)
        if (entity_.kept >= kMaxHeaderBytes) {
            entity_.oversized = true;
            break;
        }
        field_value_ += c;
        ++entity_.kept;
    }
    keep_field();
}

// Without a Content-Type the header block may have been cut short by a line the MTA did not take
// for a header (a BOM, a broken fold): MIME fields at the start of the body still count.
void MimeParser::end_headers()
{
    if (mode_ != Mode::headers) return;
    if (!entity_.content_types.empty()) {
        start_body();
        return;
    }
    keep_field();
    sniffing_ = true;
}

void MimeParser::header_line(std::string_view line, bool starts_line, bool ends_line)
{
    if (sniffing_) {
        sniffing_ = false;
        std::string_view name, value;
        if (!starts_line || !split_field(line, name, value) || !is_mime_field(name)) {
            start_body();
            body_line(line, ends_line);
            return;
        }
    }
    const bool continuation = !starts_line || (!line.empty() && (line[0] == ' ' || line[0] == '\t'));
    if (continuation) {
        if (field_ == Field::other) return;
        const std::size_t room = kMaxHeaderBytes - std::min(kMaxHeaderBytes, entity_.kept);
        if (line.size() + 1 > room) entity_.oversized = true;
        if (starts_line && room > 0) field_value_ += '\n';  // the fold, kept for boundaries (see start_body)
        field_value_.append(line.substr(0, room > 0 ? room - 1 : 0));
        entity_.kept += std::min(room, line.size() + 1);
        return;
    }
    if (line.empty() && ends_line) {
        start_body();
        return;
    }
    std::string_view name, value;
    if (!split_field(line, name, value)) {
        if (line.substr(0, 5) == "From ") return;  // an mbox separator
        start_body();  // header garbage: the content starts here (as Python's email does)
        body_line(line, ends_line);
        return;
    }
    keep_field();
    field_ = classify_field(name);
    if (field_ == Field::other) return;
    const std::size_t room = kMaxHeaderBytes - std::min(kMaxHeaderBytes, entity_.kept);
    if (value.size() > room) entity_.oversized = true;
    field_value_.assign(value.substr(0, room));
    entity_.kept += std::min(room, value.size());
}

// ---- parts -----------------------------------------------------------------------------------

void MimeParser::start_body()
{
    keep_field();
    mode_ = Mode::body;
    body_ = Body::ignore;
    HeaderValue type_value;
    for (const auto& raw : entity_.content_types) {
        type_value = mime::parse_header_value(raw);
        if (type_value.value.find('/') != std::string::npos) break;
        type_value = {};
    }
    std::string type = !type_value.value.empty() ? type_value.value : entity_.default_rfc822 ? "message/rfc822" : "text/plain";
    const HeaderValue disposition = entity_.dispositions.empty() ? HeaderValue{} : mime::parse_header_value(entity_.dispositions.front());

    if (type.rfind("multipart/", 0) == 0) {
        std::string boundary = boundary_parameter(type_value);
        // A boundary folded onto two lines (mime-tools badbound.msg): clients differ, so both the
        // unfolded boundary and the part before the fold are taken.
        std::string folded;
        for (const auto& raw : entity_.content_types) {
            if (const std::size_t fold = raw.find('\n'); fold != std::string::npos) {
                folded = boundary_parameter(mime::parse_header_value(std::string_view(raw).substr(0, fold)));
                break;
            }
        }
        std::string written;
        for (const auto& raw : entity_.content_types)
            if (!(written = boundary_with_parentheses(raw)).empty()) break;
        if (!boundary.empty()) {
            if (entity_.depth + 1 > context_.options.max_depth) {
                add_finding(entity_.prefix.empty() ? "1" : entity_.prefix, type, "", "depth");
                return;
            }
            Frame frame;
            frame.boundary = std::move(boundary);
            if (folded != frame.boundary) frame.folded_boundary = std::move(folded);
            if (written != frame.boundary) frame.written_boundary = std::move(written);
            frame.prefix = entity_.prefix;
            frame.child_depth = entity_.depth + 1;
            frame.is_signed = type == "multipart/signed";
            frame.digest = type == "multipart/digest";
            frame.embedded = entity_.embedded;
            frames_.push_back(std::move(frame));
            body_ = Body::between;
            return;
        }
        type = "text/plain";  // a multipart without a boundary is read as text, as clients do
    }
    if (is_message_container(type)) {
        if (container_is_attachment(type, type_value, disposition)) return;
        if (entity_.depth + 1 > context_.options.max_depth) {
            add_finding(leaf_path(), type, "", "depth");
            return;
        }
        start_embedded_message(type);
        return;
    }
    start_leaf(type_value, std::move(type), disposition);
}

// A forwarded message sent as a file (Content-Disposition: attachment, a filename) is one.
bool MimeParser::container_is_attachment(const std::string& type, const HeaderValue& type_value, const HeaderValue& disposition)
{
    std::string filename;
    if (const std::string* value = disposition.parameter("filename")) filename = *value;
    if (const std::string* name = type_value.parameter("name"); filename.empty() && name) filename = *name;
    const char* reason = disposition.value == "attachment" ? "disp" : !filename.empty() ? "name" : nullptr;
    if (!reason) return false;
    add_finding(leaf_path(), type, std::move(filename), reason);
    return true;
}

void MimeParser::start_embedded_message(const std::string& type)
{
    const std::string encoding = mime::parse_header_value(entity_.encoding).value;  // lower-cased
    const std::string prefix = entity_.message_root ? join_path(entity_.prefix, 1) : entity_.prefix;
    if (encoding == "base64" || encoding == "quoted-printable") {
        encoding_ = encoding == "base64" ? Encoding::base64 : Encoding::quoted_printable;
        base64_.reset();
        qp_ = {};
        nested_ = std::make_unique<MimeParser>(context_, prefix, entity_.depth + 1, true);
        leaf_type_ = type;
        body_ = Body::embedded;
        return;
    }
    Entity root;
    root.prefix = prefix;
    root.message_root = true;
    root.depth = entity_.depth + 1;
    root.embedded = true;
    begin_entity(std::move(root));
}

void MimeParser::start_leaf(const HeaderValue& type_value, std::string type, const HeaderValue& disposition)
{
    const std::string path = leaf_path();
    const MimeOptions& options = context_.options;
    if (entity_.in_signed && contains(options.exempt_types, type)) return;  // a signature part

    std::string filename;
    if (const std::string* value = disposition.parameter("filename"); value && !value->empty()) filename = *value;
    else if (const std::string* name = type_value.parameter("name"); name && !name->empty()) filename = *name;
    // Repeated fields: any of them may be the one a client believes.
    bool attachment = disposition.value == "attachment";
    std::string other_type;
    for (std::size_t i = 0; i < entity_.dispositions.size(); ++i) {
        const HeaderValue value = i == 0 ? disposition : mime::parse_header_value(entity_.dispositions[i]);
        attachment = attachment || value.value == "attachment";
        if (filename.empty()) {
            if (const std::string* name = value.parameter("filename"); name && !name->empty()) filename = *name;
        }
    }
    for (const auto& raw : entity_.content_types) {
        const HeaderValue value = mime::parse_header_value(raw);
        if (filename.empty()) {
            if (const std::string* name = value.parameter("name"); name && !name->empty()) filename = *name;
        }
        if (value.value.find('/') != std::string::npos && !contains(options.body_types, value.value) &&
            !is_report_type(value.value) && !is_message_container(value.value) && value.value.rfind("multipart/", 0) != 0)
            other_type = value.value;
    }

    const char* reason = nullptr;
    if (type == "message/partial") reason = "partial";
    else if (is_tnef(type, filename) || is_tnef(other_type, "")) reason = "tnef";
    else if (attachment) reason = "disp";
    else if (!filename.empty()) reason = "name";
    else if (!contains(options.body_types, type) && !is_report_type(type)) reason = "type";
    else if (!other_type.empty()) {
        reason = "type";
        type = other_type;
    } else if (entity_.oversized) reason = "malformed";
    if (reason) {
        add_finding(path, std::move(type), std::move(filename), reason);
        return;
    }

    const std::string encoding = mime::parse_header_value(entity_.encoding).value;  // lower-cased
    encoding_ = encoding == "base64" ? Encoding::base64 : encoding == "quoted-printable" ? Encoding::quoted_printable : Encoding::identity;
    base64_.reset();
    qp_ = {};
    detector_.reset();
    leaf_type_ = std::move(type);
    body_ = Body::text;
    sinking_ = context_.sink && !entity_.embedded && (leaf_type_ == "text/plain" || leaf_type_ == "text/html");
    if (sinking_) context_.sink->begin_text(leaf_type_ == "text/html");
}

void MimeParser::drop_sink()
{
    if (!sinking_) return;
    flush_sink();
    context_.sink->end_text();
    sinking_ = false;
    if (body_ == Body::text && detector_.found()) body_ = Body::ignore;  // read for the sink only
}

void MimeParser::flush_sink()
{
    if (!sink_text_.empty()) context_.sink->text(sink_text_);
    sink_text_.clear();
}

// Decoded text reaches the detector in batches: fed a decoded line at a time (57 bytes of base64),
// its per-call work outweighed the search itself.
void MimeParser::flush_scan()
{
    if (scan_text_.empty()) return;
    const bool completed = body_ == Body::text && !detector_.found() && detector_.feed(scan_text_);
    scan_text_.clear();
    if (completed) report_block(leaf_type_);
}

void MimeParser::end_part()
{
    if (mode_ == Mode::headers) keep_field();
    flush_scan();
    if ((body_ == Body::text || body_ == Body::between) && detector_.finish()) report_block(leaf_type_);
    if (sinking_) {
        flush_sink();
        context_.sink->end_text();
        sinking_ = false;
    }
    if (nested_) {
        nested_->finish();
        nested_.reset();
    }
    detector_.reset();
    body_ = Body::between;
    leaf_type_.clear();
}

void MimeParser::decode(std::string_view line, bool ends_line, std::string& out)
{
    out.clear();
    switch (encoding_) {
    case Encoding::base64: base64_.decode(line, out); break;
    case Encoding::quoted_printable: qp_.decode_line(line, ends_line, out); break;
    case Encoding::identity:
        out.assign(line);
        if (ends_line) out += '\n';
        break;
    }
}

// uu/yEnc blocks in text; a finding names the text part (or the multipart of a preamble).
void MimeParser::report_block(const std::string& type)
{
    const auto& block = detector_.block();
    if (body_ == Body::text) {
        add_finding(leaf_path(), type, block.filename, block.kind);
        if (!sinking_) body_ = Body::ignore;  // judged: only boundaries matter now
    } else {
        add_finding(between_path(), "text/plain", block.filename, block.kind);
        detector_.reset();
    }
}

void MimeParser::body_line(std::string_view line, bool ends_line)
{
    switch (body_) {
    case Body::ignore: return;
    case Body::between:
        if (detector_.feed_line(line, ends_line)) report_block("text/plain");
        return;
    case Body::text:
        if (encoding_ == Encoding::identity) {  // the line is its own decoding: no copy
            if (!detector_.found() && detector_.feed_line(line, ends_line)) report_block(leaf_type_);
            if (sinking_) {
                sink_text_.append(line);
                if (ends_line) sink_text_ += '\n';
                if (sink_text_.size() >= kSinkBatch) flush_sink();
            }
            return;
        }
        decode(line, ends_line, decoded_);
        take_decoded(decoded_);
        return;
    case Body::embedded:
        if (!nested_ || nested_->settled()) return;
        decode(line, ends_line, decoded_);
        take_decoded(decoded_);
        return;
    }
}

void MimeParser::take_decoded(std::string_view decoded)
{
    if (body_ == Body::embedded) {
        if (nested_ && !decoded.empty()) nested_->feed(decoded);
        return;
    }
    if (!detector_.found()) {
        scan_text_.append(decoded);
        if (scan_text_.size() >= kScanBatch) flush_scan();
    }
    if (sinking_) {
        sink_text_.append(decoded);
        if (sink_text_.size() >= kSinkBatch) flush_sink();
    }
}

// Encoded content (a base64 or quoted-printable text part, an encoded embedded message) at a line
// start: decodes the whole lines before the first that starts with '-' (only such a line can be
// a boundary), about kScanBatch bytes of them at most, without taking each through the line
// machine. Base64 lines are joined first, so that the vector decoder runs across line ends.
// Returns the rest of data: data itself when its first line must go through the line machine
// (a possible boundary, a line not yet whole or longer than kMaxLine).
std::string_view MimeParser::decode_encoded_lines(std::string_view data)
{
    const bool skip = body_ == Body::embedded && (!nested_ || nested_->settled());  // nothing left to learn
    const bool base64 = encoding_ == Encoding::base64;
    decoded_.clear();
    encoded_.clear();
    std::size_t at = 0;
    while (at < data.size() && data[at] != '-' && encoded_.size() + decoded_.size() < kScanBatch) {
        const std::size_t room = std::min(data.size() - at, kMaxLine + 1);
        const void* nl = std::memchr(data.data() + at, '\n', room);
        if (!nl) break;
        const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
        std::string_view line = data.substr(at, end - at);
        at = end + 1;
        if (skip) continue;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (base64) encoded_.append(line);
        else qp_.decode_line(line, true, decoded_);
    }
    std::string_view decoded = decoded_;
    if (base64) {
        const std::size_t room = mime::Base64Decoder::room_for(encoded_.size());
        if (decode_room_.size() < room) decode_room_.resize(room);
        decoded = {decode_room_.data(), base64_.decode(encoded_, decode_room_.data())};
    }
    if (!decoded.empty()) take_decoded(decoded);
    return data.substr(at);
}

void MimeParser::finish()
{
    if (!carry_.empty() || continuing_) {
        const std::string line = std::move(carry_);
        carry_.clear();
        dispatch(line, !continuing_, true);
        continuing_ = false;
    }
    if (mode_ == Mode::headers) start_body();  // headers with no body: judge them all the same
    end_part();
    frames_.clear();
}

}  // namespace detail

MimeScanner::MimeScanner(MimeOptions options, MimeTextSink* sink)
    : MimeScanner(std::make_shared<const MimeOptions>(std::move(options)), sink)
{
}

MimeScanner::MimeScanner(std::shared_ptr<const MimeOptions> options, MimeTextSink* sink) : options_(std::move(options))
{
    context_ = std::make_unique<detail::ScanContext>(detail::ScanContext{*options_, findings_, sink});
    parser_ = std::make_unique<detail::MimeParser>(*context_, "", 0, false);
}

MimeScanner::~MimeScanner() = default;

void MimeScanner::header(std::string_view name, std::string_view value)
{
    if (!headers_done_) parser_->add_field(name, value);
}

void MimeScanner::end_of_headers()
{
    if (headers_done_) return;
    headers_done_ = true;
    parser_->end_headers();
}

void MimeScanner::body(std::string_view chunk)
{
    if (finished_) return;
    end_of_headers();
    parser_->feed(chunk);
}

void MimeScanner::drop_text_sink()
{
    if (!context_->sink) return;
    parser_->drop_sink();
    context_->sink = nullptr;
}

void MimeScanner::finish()
{
    if (finished_) return;
    end_of_headers();
    finished_ = true;
    parser_->finish();
}

const std::vector<MimeFinding>& MimeScanner::findings() const { return findings_; }

bool MimeScanner::has_attachment() const { return !findings_.empty(); }

}  // namespace ecomm

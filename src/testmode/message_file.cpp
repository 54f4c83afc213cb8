// Message file parsing for -t (see message_file.h).
#include "testmode/message_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/ascii.h"
#include "util/file_descriptor.h"

namespace ecomm {

namespace {

// The next line without its LF or CRLF, advancing pos past the terminator.
std::string_view next_line(std::string_view text, std::size_t& pos)
{
    const std::size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// A header line as Postfix hands it to a milter, or nullopt when it is not one. Like Postfix's
// is_header_buf(), blanks may stand between the name and the colon (RFC 822's obsolete syntax,
// "X-Mailer : Foo"); the name is the part before them. The value is kept as written after the
// colon, as the live milter gets it with SMFIP_HDR_LEADSPC negotiated: the session (DKIM above
// all) then sees what it sees live.
std::optional<Header> split_field(std::string_view line)
{
    std::size_t name_end = 0;
    while (name_end < line.size() && is_field_name_char(line[name_end])) ++name_end;
    std::size_t colon = name_end;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
    if (name_end == 0 || colon >= line.size() || line[colon] != ':') return std::nullopt;
    return Header{std::string(line.substr(0, name_end)), std::string(line.substr(colon + 1))};
}

}  // namespace

ParsedHeaders parse_headers(std::string_view text)
{
    ParsedHeaders parsed;
    std::size_t pos = 0;
    if (text.starts_with("From ")) next_line(text, pos);
    while (pos < text.size()) {
        const std::size_t line_start = pos;
        const std::string_view line = next_line(text, pos);
        if (line.empty()) {
            parsed.body_offset = pos;
            return parsed;
        }
        if ((line.front() == ' ' || line.front() == '\t') && !parsed.headers.empty()) {
            parsed.headers.back().value += "\n";
            parsed.headers.back().value += line;
            continue;
        }
        auto header = split_field(line);
        if (!header) {
            parsed.body_offset = line_start;  // not a header: the body starts here
            return parsed;
        }
        parsed.headers.push_back(std::move(*header));
    }
    parsed.body_offset = text.size();
    return parsed;
}

std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes, std::string* error)
{
    const auto failed = [&](int saved) {
        *error = path + ": cannot read: " + std::strerror(saved);
        return std::nullopt;
    };
    const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid()) return failed(errno);
    // read(2), not an ifstream: a stream takes a failed read (EISDIR on a folder, EIO) for the
    // end of the file, and -t would decide an empty or cut message.
    std::string content;
    char buffer[65536];
    for (;;) {
        const ssize_t got = ::read(file.get(), buffer, sizeof buffer);
        if (got == 0) return content;
        if (got < 0) {
            if (errno == EINTR) continue;
            return failed(errno);
        }
        content.append(buffer, static_cast<std::size_t>(got));
        if (content.size() > max_bytes) {
            *error = path + ": larger than " + std::to_string(max_bytes) + " bytes";
            return std::nullopt;
        }
    }
}

}  // namespace ecomm

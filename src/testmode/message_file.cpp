// Message file parsing for -t (see message_file.h).
#include "testmode/message_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "util/ascii.h"

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
        std::size_t colon = 0;
        while (colon < line.size() && is_field_name_char(line[colon])) ++colon;
        if (colon == 0 || colon >= line.size() || line[colon] != ':') {
            parsed.body_offset = line_start;  // not a header: the body starts here
            return parsed;
        }
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        parsed.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
    }
    parsed.body_offset = text.size();
    return parsed;
}

std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes, std::string* error)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *error = path + ": cannot read: " + std::strerror(errno);
        return std::nullopt;
    }
    std::string content;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        content.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (content.size() > max_bytes) {
            *error = path + ": larger than " + std::to_string(max_bytes) + " bytes";
            return std::nullopt;
        }
    }
    return content;
}

}  // namespace ecomm

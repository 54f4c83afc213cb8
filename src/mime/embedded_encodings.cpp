// uuencode / yEnc block detection over streamed text.
#include "mime/embedded_encodings.h"

#include <cstring>

#include "mime/line_marks.h"

namespace ecomm::mime {

namespace {

std::string_view trim_right(std::string_view text)
{
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// "begin 644 name" / "begin-base64 0644 name": the file name, or "" when line is no begin line.
std::string begin_line_name(std::string_view line, bool& base64)
{
    base64 = false;
    if (line.substr(0, 13) == "begin-base64 ") {
        base64 = true;
        line.remove_prefix(13);
    } else if (line.substr(0, 6) == "begin ") {
        line.remove_prefix(6);
    } else {
        return {};
    }
    std::size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '7') ++digits;
    if (digits < 3 || digits > 4 || digits >= line.size() || line[digits] != ' ') return {};
    line.remove_prefix(digits + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    return std::string(trim_right(line));
}

// A uuencoded data line: a length character then characters in ' '..'`', about 4/3 of the length.
bool is_uu_line(std::string_view line)
{
    line = trim_right(line);
    if (line.size() < 2) return false;
    const int count = (line[0] - ' ') & 63;
    if (line[0] < ' ' || line[0] > '`' || count == 0) return false;
    for (const char c : line) {
        if (c < ' ' || c > '`') return false;
    }
    const std::size_t expected = 1 + (static_cast<std::size_t>(count) + 2) / 3 * 4;
    return line.size() + 2 >= expected;  // some encoders drop trailing spaces
}

bool is_base64_line(std::string_view line)
{
    line = trim_right(line);
    if (line.size() < 4) return false;
    for (const char c : line) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

bool EmbeddedEncodingDetector::judge_line(std::string_view line)
{
    if (found_) return false;
    if (!begin_name_.empty()) {
        const bool data = begin_kind_ == "uu-base64" ? is_base64_line(line) : is_uu_line(line);
        if (data) {
            found_ = true;
            block_ = {"uu", begin_name_};
            return true;
        }
        begin_name_.clear();
    }
    if (line.empty() || (line[0] != '=' && line[0] != 'b')) return false;  // neither =ybegin nor begin
    if (line.substr(0, 8) == "=ybegin ") {
        const std::size_t name = line.find(" name=");
        if (name != std::string_view::npos) {
            found_ = true;
            block_ = {"yenc", std::string(trim_right(line.substr(name + 6)))};
            return true;
        }
        return false;
    }
    bool base64 = false;
    begin_name_ = begin_line_name(line, base64);
    if (!begin_name_.empty()) begin_kind_ = base64 ? "uu-base64" : "uu";
    return false;
}

bool EmbeddedEncodingDetector::feed(std::string_view text)
{
    bool completed = false;
    while (!text.empty() && !found_) {
        if (skipping_) {
            const void* end = std::memchr(text.data(), '\n', text.size());
            if (!end) break;
            text.remove_prefix(static_cast<std::size_t>(static_cast<const char*>(end) - text.data()) + 1);
            skipping_ = false;
            continue;
        }
        if (idle()) {
            // Only a line that starts with 'b' or '=' can change anything: the others are
            // skipped 64 bytes at a time instead of being split into lines and copied.
            const std::size_t start = find_marked_line(text, kBlockLines);
            if (start == text.size()) {
                skipping_ = text.back() != '\n';
                break;
            }
            text.remove_prefix(start);
        }
        const void* nl = std::memchr(text.data(), '\n', text.size());
        const std::size_t length = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
        if (line_.size() < kKeep) line_.append(text.substr(0, std::min(length, kKeep - line_.size())));
        if (!nl) break;
        completed = judge_line(line_) || completed;
        line_.clear();
        text.remove_prefix(length + 1);
    }
    return completed;
}

bool EmbeddedEncodingDetector::feed_line(std::string_view line, bool ends_line)
{
    if (found_) return false;
    if (ends_line && line_.empty()) return judge_line(line.substr(0, kKeep));  // no copy needed
    if (line_.size() < kKeep) line_.append(line.substr(0, kKeep - line_.size()));
    if (!ends_line) return false;
    const bool completed = judge_line(line_);
    line_.clear();
    return completed;
}

bool EmbeddedEncodingDetector::finish()
{
    skipping_ = false;
    if (line_.empty() || found_) return false;
    const bool completed = judge_line(line_);
    line_.clear();
    return completed;
}

}  // namespace ecomm::mime

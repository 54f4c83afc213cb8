// MIME parameter parsing: comments, quoted strings, RFC 2231 continuations and charsets, RFC 2047
// encoded words, charset conversion with iconv.
#include "mime/header_params.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>

#include "mime/decoders.h"
#include "util/ascii.h"

namespace ecomm::mime {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The field with RFC 822 comments outside quoted strings removed (nested, with \-escapes).
std::string strip_comments(std::string_view field)
{
    std::string out;
    out.reserve(field.size());
    int depth = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < field.size(); ++i) {
        const char c = field[i];
        if (c == '\\' && i + 1 < field.size() && (quoted || depth > 0)) {
            if (depth == 0) {
                out += c;
                out += field[i + 1];
            }
            ++i;
        } else if (depth == 0 && c == '"') {
            quoted = !quoted;
            out += c;
        } else if (!quoted && c == '(') {
            ++depth;
        } else if (!quoted && c == ')' && depth > 0) {
            --depth;
        } else if (depth == 0) {
            out += c;
        }
    }
    return out;
}

struct RawParameter {
    std::string name;  // lower-cased, as written: "filename*0*"
    std::string value;
};

// Reads one parameter value at text[pos]: a quoted string (escapes resolved, unterminated runs to
// the end) or everything up to the next ';'. pos ends at the ';' or the end.
std::string read_value(std::string_view text, std::size_t& pos)
{
    while (pos < text.size() && is_space(text[pos])) ++pos;
    std::string value;
    if (pos < text.size() && text[pos] == '"') {
        ++pos;
        while (pos < text.size() && text[pos] != '"') {
            if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
            value += text[pos++];
        }
        const std::size_t end = text.find(';', pos);
        pos = end == std::string_view::npos ? text.size() : end;
        return value;
    }
    const std::size_t end = std::min(text.find(';', pos), text.size());
    value = std::string(trim(text.substr(pos, end - pos)));
    pos = end;
    return value;
}

std::vector<RawParameter> split_parameters(std::string_view text)
{
    std::vector<RawParameter> out;
    std::size_t pos = 0;
    while (pos < text.size() && out.size() < kMaxParameters * 4) {
        while (pos < text.size() && (text[pos] == ';' || is_space(text[pos]))) ++pos;
        const std::size_t name_end = text.find_first_of("=;", pos);
        if (name_end == std::string_view::npos) break;
        const std::string name = to_lower(trim(text.substr(pos, name_end - pos)));
        pos = name_end;
        if (text[pos] == ';') continue;  // a word without '=': garbage, skip it
        ++pos;
        std::string value = read_value(text, pos);
        if (!name.empty() && name.find_first_of(" \t\"") == std::string::npos) out.push_back({name, std::move(value)});
    }
    return out;
}

std::string percent_decode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

struct Section {
    int index = -1;  // -1: the unnumbered "name*="
    bool extended = false;
    std::string value;
};

// Joins RFC 2231 sections of one parameter: charset'language' from the first extended section,
// percent-decoding of extended sections, conversion to UTF-8.
std::string join_sections(std::vector<Section> sections)
{
    std::stable_sort(sections.begin(), sections.end(), [](const Section& a, const Section& b) { return a.index < b.index; });
    std::string charset;
    std::string bytes;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        std::string_view value = sections[i].value;
        if (sections[i].extended && i == 0) {
            const std::size_t first = value.find('\'');
            const std::size_t second = first == std::string_view::npos ? first : value.find('\'', first + 1);
            if (second != std::string_view::npos) {
                charset = std::string(value.substr(0, first));
                value.remove_prefix(second + 1);
            }
        }
        bytes += sections[i].extended ? percent_decode(value) : decode_encoded_words(value);
    }
    return charset.empty() ? bytes : to_utf8(charset, bytes);
}

// Splits "filename*1*" into base "filename", index 1, extended; false for a plain name.
bool parse_extended_name(const std::string& name, std::string& base, Section& section)
{
    const std::size_t star = name.find('*');
    if (star == std::string::npos || star == 0) return false;
    base = name.substr(0, star);
    std::string_view rest = std::string_view(name).substr(star + 1);
    section.extended = false;
    section.index = -1;
    if (rest.empty()) {
        section.extended = true;
        return true;
    }
    int index = 0;
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9' && digits < 4) index = index * 10 + (rest[digits++] - '0');
    if (digits == 0) return false;
    rest.remove_prefix(digits);
    if (rest == "*") section.extended = true;
    else if (!rest.empty()) return false;
    section.index = index;
    return true;
}

class Iconv {
public:
    explicit Iconv(const std::string& charset) : handle_(iconv_open("UTF-8", charset.c_str())) {}
    ~Iconv() { if (ok()) iconv_close(handle_); }
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    bool ok() const { return handle_ != reinterpret_cast<iconv_t>(-1); }
    iconv_t get() const { return handle_; }

private:
    iconv_t handle_;
};

}  // namespace

const std::string* HeaderValue::parameter(std::string_view name) const
{
    for (const auto& [key, value] : parameters) {
        if (key == name) return &value;
    }
    return nullptr;
}

HeaderValue parse_header_value(std::string_view field)
{
    const std::string clean = strip_comments(field);
    const std::string_view text = clean;
    HeaderValue result;
    std::size_t semicolon = std::min(text.find(';'), text.size());
    // "multipart/mixed boundary=x" (a ';' forgotten): parameters start after the first word.
    const std::string_view head = trim(text.substr(0, semicolon));
    if (const std::size_t blank = head.find_first_of(" \t\r\n"); blank != std::string_view::npos &&
        head.find('=', blank) != std::string_view::npos && head.find('=') > blank)
        semicolon = static_cast<std::size_t>(head.data() - text.data()) + blank;
    // The value is read up to the first character that cannot be in a token ("text/plain>").
    for (const char c : trim(text.substr(0, semicolon))) {
        if (is_space(c) || c == '"') continue;
        if (c < '!' || c > '~' || std::string_view("()<>@,;:\\[]?=").find(c) != std::string_view::npos) break;
        result.value += ascii_lower(c);
    }
    std::map<std::string, std::vector<Section>> extended;
    for (auto& raw : split_parameters(text.substr(semicolon))) {
        std::string base;
        Section section;
        if (parse_extended_name(raw.name, base, section)) {
            auto& sections = extended[base];
            if (static_cast<int>(sections.size()) < kMaxSections) {
                section.value = std::move(raw.value);
                sections.push_back(std::move(section));
            }
            continue;
        }
        if (result.parameters.size() >= kMaxParameters || result.parameter(raw.name)) continue;
        result.parameters.emplace_back(raw.name, decode_encoded_words(raw.value));
    }
    // RFC 2231 values win over plain ones of the same name (RFC 2231 section 4.1's advice).
    for (auto& entry : extended) {
        const std::string& base = entry.first;
        std::string value = join_sections(std::move(entry.second));
        auto existing = std::find_if(result.parameters.begin(), result.parameters.end(), [&](const auto& p) { return p.first == base; });
        if (existing != result.parameters.end()) existing->second = std::move(value);
        else if (result.parameters.size() < kMaxParameters) result.parameters.emplace_back(base, std::move(value));
    }
    for (auto& parameter : result.parameters) {  // unfold: line breaks go, the blanks after them stay
        std::erase(parameter.second, '\n');
        std::erase(parameter.second, '\r');
    }
    return result;
}

std::string to_utf8(std::string_view charset_text, std::string_view bytes)
{
    std::string charset = to_lower(trim(charset_text));
    if (const std::size_t star = charset.find('*'); star != std::string::npos) charset.resize(star);  // RFC 2231 language
    if (charset.empty() || charset == "utf-8" || charset == "utf8" || charset == "us-ascii" || charset == "ascii") return std::string(bytes);
    Iconv converter(charset);
    if (!converter.ok()) return std::string(bytes);
    std::string out(bytes.size() * 4 + 16, '\0');
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    char* dest = out.data();
    std::size_t out_left = out.size();
    if (iconv(converter.get(), &in, &in_left, &dest, &out_left) == static_cast<std::size_t>(-1)) return std::string(bytes);
    out.resize(out.size() - out_left);
    return out;
}

std::string decode_encoded_words(std::string_view text)
{
    if (text.find("=?") == std::string_view::npos) return std::string(text);
    std::string out;
    std::size_t pos = 0;
    std::size_t pending_space_from = std::string_view::npos;  // whitespace after an encoded word
    while (pos < text.size()) {
        const std::size_t start = text.find("=?", pos);
        if (start == std::string_view::npos) break;
        // "=?charset?E?text?="
        const std::size_t q1 = text.find('?', start + 2);
        const std::size_t q2 = q1 == std::string_view::npos ? q1 : text.find('?', q1 + 1);
        const std::size_t end = q2 == std::string_view::npos || q2 != q1 + 2 ? std::string_view::npos : text.find("?=", q2 + 1);
        if (end == std::string_view::npos) {
            out.append(text.substr(pos, start + 2 - pos));
            pos = start + 2;
            pending_space_from = std::string_view::npos;
            continue;
        }
        const std::string_view between = text.substr(pos, start - pos);
        if (!(pending_space_from != std::string_view::npos && trim(between).empty())) out.append(between);
        const std::string_view charset = text.substr(start + 2, q1 - start - 2);
        const char encoding = text[q1 + 1];
        const std::string_view payload = text.substr(q2 + 1, end - q2 - 1);
        std::string bytes;
        if (encoding == 'B' || encoding == 'b') {
            Base64Decoder decoder;
            decoder.decode(payload, bytes);
        } else if (encoding == 'Q' || encoding == 'q') {
            for (std::size_t i = 0; i < payload.size(); ++i) {
                if (payload[i] == '_') bytes += ' ';
                else if (payload[i] == '=' && i + 2 < payload.size() && hex_value(payload[i + 1]) >= 0 && hex_value(payload[i + 2]) >= 0) {
                    bytes += static_cast<char>(hex_value(payload[i + 1]) * 16 + hex_value(payload[i + 2]));
                    i += 2;
                } else bytes += payload[i];
            }
        } else {
            out.append(text.substr(start, end + 2 - start));
            pos = end + 2;
            pending_space_from = std::string_view::npos;
            continue;
        }
        out += to_utf8(charset, bytes);
        pos = end + 2;
        pending_space_from = pos;
    }
    out.append(text.substr(std::min(pos, text.size())));
    return out;
}

}  // namespace ecomm::mime

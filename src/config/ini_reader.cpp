// Line-numbered INI reading over libinih (see ini_reader.h).
//
// inih's handler is not told the line number, so the file is read into memory and handed to
// ini_parse_stream() one physical line per reader call: the reader always knows which line inih
// is working on. The reader also classifies each line the same way inih does (comment, section
// header, key line, continuation), which tells the handler whether a call continues the previous
// key and lets it see section headers, including repeated and empty ones, that inih keeps quiet.
#include "config/ini_reader.h"

#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "util/ascii.h"

namespace ecomm {

namespace {

constexpr std::string_view kSyntaxError = "syntax error (expected [section] or key = value)";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// inih's find_chars_or_comment(): the position of the first of chars, or of a ';' that follows
// whitespace (an inline comment), or npos. Kept identical so that our view of a line is inih's.
std::size_t find_chars_or_comment(std::string_view text, std::string_view chars)
{
    bool was_space = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (chars.find(text[i]) != std::string_view::npos) return i;
        if (was_space && text[i] == ';') return i;
        was_space = is_space(text[i]);
    }
    return std::string_view::npos;
}

std::string_view strip_inline_comment(std::string_view value)
{
    const auto comment = find_chars_or_comment(value, "");
    return trim(value.substr(0, comment == std::string_view::npos ? value.size() : comment));
}

bool has_control_character(std::string_view value)
{
    return std::any_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && c != '\t') || byte == 0x7f;
    });
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

// The whole file, or an error message ("cannot read: ...", "larger than ...").
bool read_whole_file(const std::string& path, std::string& content, std::string& error)
{
    errno = 0;
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        error = std::string("cannot read: ") + std::strerror(errno ? errno : EIO);
        return false;
    }
    char buffer[65536];
    for (;;) {
        const std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
        content.append(buffer, got);
        if (content.size() > kMaxIniFileSize) {
            error = "larger than " + std::to_string(kMaxIniFileSize / (1024 * 1024)) +
                    " MiB; is this the right file?";
            return false;
        }
        if (got < sizeof buffer) break;
    }
    if (std::ferror(file.get())) {  // e.g. EISDIR: fopen() opens a directory, fread() fails
        error = std::string("cannot read: ") + std::strerror(errno ? errno : EIO);
        return false;
    }
    return true;
}

// One parse: the state shared by the reader and handler trampolines that inih calls.
class IniParse {
public:
    IniParse(const std::string& file, std::string_view text, const IniCallbacks& callbacks,
             Diagnostics& diagnostics)
        : file_(file), text_(text), callbacks_(callbacks), diagnostics_(diagnostics),
          first_diagnostic_(diagnostics.size())
    {
        if (text_.substr(0, kUtf8Bom.size()) == kUtf8Bom) text_.remove_prefix(kUtf8Bom.size());
    }

    void run()
    {
        const int result = ini_parse_stream(&IniParse::read_line, this, &IniParse::handle, this);
        if (failed_) error(line_, "internal error while reading this line");
        if (result > 0)
            report_inih_syntax_error(result);
        else if (result < 0)
            error(0, "cannot parse (libinih error " + std::to_string(result) + ")");
    }

private:
    enum class LineKind { blank, section, key, continuation, invalid };

    // The trampolines inih calls. No exception may cross inih's C frames: one that reaches a
    // trampoline stops the parse (read_line returns "end of file") and run() reports it.

    // ini_reader: hands inih the next physical line.
    static char* read_line(char* buffer, int size, void* self) noexcept
    {
        auto* parse = static_cast<IniParse*>(self);
        if (parse->failed_) return nullptr;
        try {
            return parse->next_line(buffer, size);
        } catch (...) {
            parse->failed_ = true;
            return nullptr;
        }
    }

    // ini_handler: called for each key line and continuation line. Always "succeeds": our own
    // diagnostics say what is wrong, so inih's result only ever carries its syntax errors.
    static int handle(void* self, const char* /*section*/, const char* name, const char* value) noexcept
    {
        auto* parse = static_cast<IniParse*>(self);
        if (parse->failed_) return 1;
        try {
            parse->handle_value(name ? name : "", value ? value : "");
        } catch (...) {
            parse->failed_ = true;
        }
        return 1;
    }

    char* next_line(char* buffer, int size)
    {
        if (position_ >= text_.size() || size < 2) return nullptr;
        const auto newline = text_.find('\n', position_);
        const auto end = newline == std::string_view::npos ? text_.size() : newline;
        std::string_view line = text_.substr(position_, end - position_);
        position_ = end + 1;
        ++line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files are fine

        buffer[0] = '\0';
        const auto max_length = static_cast<std::size_t>(size - 1);
        if (line.size() > max_length) {
            // inih would silently split the line in two; refuse it instead.
            error(line_, "line longer than " + std::to_string(max_length) +
                             " characters; continue a list on indented lines");
            skipping_key_ = true;  // an indented line below belongs to this broken one
            kind_ = LineKind::blank;
            return buffer;
        }
        if (line.find('\0') != std::string_view::npos) {
            error(line_, "NUL byte in line");
            skipping_key_ = true;
            kind_ = LineKind::blank;
            return buffer;
        }
        classify(line);
        std::memcpy(buffer, line.data(), line.size());
        std::size_t length = line.size();
        // With its newline when it fits: an inih built to grow its buffer (INI_ALLOW_REALLOC)
        // takes a full buffer without one for a partial line and would read on into the next.
        if (length < max_length) buffer[length++] = '\n';
        buffer[length] = '\0';
        return buffer;
    }

    // Mirrors the order of inih's tests: comment, continuation, section header, key line.
    void classify(std::string_view line)
    {
        const bool indented = !line.empty() && is_space(line.front());
        const std::string_view trimmed = trim(line);
        if (trimmed.empty() || trimmed.front() == ';' || trimmed.front() == '#') {
            kind_ = LineKind::blank;
        } else if (indented && have_previous_key_) {
            kind_ = LineKind::continuation;
        } else if (trimmed.front() == '[') {
            const auto close = find_chars_or_comment(trimmed.substr(1), "]");
            if (close == std::string_view::npos || trimmed[1 + close] != ']') {
                syntax_error(line_);
                kind_ = LineKind::invalid;
                return;
            }
            kind_ = LineKind::section;
            have_previous_key_ = false;
            begin_section(std::string(trimmed.substr(1, close)));
        } else {
            const auto separator = find_chars_or_comment(trimmed, "=:");
            if (separator == std::string_view::npos || trimmed[separator] == ';') {
                syntax_error(line_);
                kind_ = LineKind::invalid;
                return;
            }
            key_name_ = std::string(trim(trimmed.substr(0, separator)));
            have_previous_key_ = !key_name_.empty();
            kind_ = LineKind::key;
            if (key_name_.empty()) syntax_error(line_);
        }
    }

    void begin_section(std::string name)
    {
        in_section_ = true;
        section_ = std::move(name);
        keys_seen_.clear();
        skipping_key_ = false;
        const auto [first, inserted] = section_lines_.emplace(section_, line_);
        skipping_section_ = !inserted;
        if (callbacks_.on_section)
            callbacks_.on_section(IniSection{section_, line_, inserted ? 0 : first->second});
    }

    void handle_value(std::string_view inih_name, std::string_view value)
    {
        if (kind_ == LineKind::continuation) {
            if (skipping_section_ || skipping_key_ || !in_section_) return;
            deliver(value_for_continuation(value), true);
            return;
        }
        // A key line. Our own parse of the name is not cut at inih's 50 characters.
        if (kind_ != LineKind::key) key_name_ = std::string(inih_name);
        skipping_key_ = true;  // until this key proves good, its continuation lines are dropped
        if (key_name_.empty()) return;  // reported as a syntax error
        if (!in_section_) {
            error(line_, "key '" + key_name_ + "' is outside any [section]");
            return;
        }
        if (skipping_section_) return;
        const auto [first, inserted] = keys_seen_.emplace(key_name_, line_);
        if (!inserted) {
            error(line_, "duplicate key '" + key_name_ + "' in section [" + section_ +
                             "] (first at line " + std::to_string(first->second) + ")");
            return;
        }
        skipping_key_ = false;
        deliver(value, false);
    }

    // inih strips inline comments from key lines but (in some builds) not from continuations.
    static std::string_view value_for_continuation(std::string_view value)
    {
        return strip_inline_comment(value);
    }

    void deliver(std::string_view value, bool continuation)
    {
        if (has_control_character(value)) {
            error(line_, "value of '" + key_name_ + "' contains a control character");
            skipping_key_ = true;
            return;
        }
        if (callbacks_.on_value)
            callbacks_.on_value(IniValue{section_, key_name_, value, line_, continuation});
    }

    void error(int line, std::string message)
    {
        diagnostics_.push_back(Diagnostic{Diagnostic::Severity::error, file_, line, std::move(message)});
    }

    void syntax_error(int line) { error(line, std::string(kSyntaxError)); }

    // inih reports the first line it could not parse; we normally found it already.
    void report_inih_syntax_error(int line)
    {
        const auto begin = diagnostics_.begin() + static_cast<std::ptrdiff_t>(first_diagnostic_);
        const bool known = std::any_of(begin, diagnostics_.end(), [&](const Diagnostic& d) {
            return d.line == line && d.message == kSyntaxError;
        });
        if (known) return;
        // Keep the diagnostics in line order: insert before the first one that comes later.
        const auto later = std::find_if(begin, diagnostics_.end(),
                                        [&](const Diagnostic& d) { return d.line > line; });
        diagnostics_.insert(later,
                            Diagnostic{Diagnostic::Severity::error, file_, line, std::string(kSyntaxError)});
    }

    const std::string& file_;
    std::string_view text_;
    const IniCallbacks& callbacks_;
    Diagnostics& diagnostics_;
    const std::size_t first_diagnostic_;

    bool failed_ = false;       // an exception reached a trampoline: stop, report it
    std::size_t position_ = 0;  // of the next line in text_
    int line_ = 0;              // the line inih is working on (1-based)
    LineKind kind_ = LineKind::blank;
    std::string key_name_;            // of the current key line (continuations go on with it)
    bool have_previous_key_ = false;  // inih's "prev_name is set": indented lines continue it
    bool in_section_ = false;
    bool skipping_section_ = false;   // a repeated section: its values are not delivered
    bool skipping_key_ = false;       // the current key was refused: drop its continuations
    std::string section_;
    std::map<std::string, int, std::less<>> section_lines_;  // name -> first header line
    std::map<std::string, int, std::less<>> keys_seen_;      // in the current section
};

bool is_domain_label_character(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_valid_domain_label(std::string_view label)
{
    return !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
           std::all_of(label.begin(), label.end(), is_domain_label_character);
}

}  // namespace

void read_ini_text(const std::string& file_name, std::string_view text, const IniCallbacks& callbacks,
                   Diagnostics& diagnostics)
{
    IniParse parse(file_name, text, callbacks, diagnostics);
    parse.run();
}

bool read_ini_file(const std::string& path, const IniCallbacks& callbacks, Diagnostics& diagnostics)
{
    std::string content;
    std::string error;
    if (!read_whole_file(path, content, error)) {
        diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, path, 0, error});
        return false;
    }
    read_ini_text(path, content, callbacks, diagnostics);
    return true;
}

std::vector<std::string_view> split_ini_list(std::string_view value)
{
    std::vector<std::string_view> items;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || value[i] == ',' || is_space(value[i])) {
            if (i > start) items.push_back(value.substr(start, i - start));
            start = i + 1;
        }
    }
    return items;
}

std::optional<bool> parse_ini_boolean(std::string_view value)
{
    const std::string lower = to_lower(value);
    if (lower == "yes" || lower == "true" || lower == "on" || lower == "1") return true;
    if (lower == "no" || lower == "false" || lower == "off" || lower == "0") return false;
    return std::nullopt;
}

std::optional<std::string> normalize_domain(std::string_view text)
{
    if (!text.empty() && text.front() == '.') text.remove_prefix(1);
    if (text.empty() || text.size() > 253) return std::nullopt;
    const std::string domain = to_lower(text);
    std::string_view rest = domain;
    for (;;) {
        const auto dot = rest.find('.');
        if (!is_valid_domain_label(rest.substr(0, dot))) return std::nullopt;
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    return domain;
}

}  // namespace ecomm

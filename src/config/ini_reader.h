// A line-numbered INI reader over libinih, shared by the main config and the registry loaders.
//
// libinih does the parsing (sections, key = value, ';'/'#' comments, " ;" inline comments,
// indented continuation lines); this layer adds what inih cannot say: the line of each value,
// whether a value continues the previous key (an indented line) or starts a new one, repeated
// sections and keys, over-long lines and unreadable files, all as "FILE:LINE: message"
// diagnostics. It also holds the small value parsers both loaders need.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"

namespace ecomm {

// A "[name]" header. first_line is 0 for a new section; for a repeated header it is the line of
// the first one, and the reader then delivers none of the repeated section's values.
struct IniSection {
    std::string_view name;
    int line = 0;
    int first_line = 0;
};

// One key line ("key = value") or one indented continuation line of the key above it.
struct IniValue {
    std::string_view section;
    std::string_view key;
    std::string_view value;     // trimmed, inline comment removed
    int line = 0;
    bool continuation = false;  // true: an indented line going on with key's value (a list)
};

struct IniCallbacks {
    std::function<void(const IniSection&)> on_section;
    std::function<void(const IniValue&)> on_value;
};

// Files larger than this are refused: config files are small, and the cap keeps a mistaken path
// (a log file, a device) from being read into memory.
inline constexpr std::size_t kMaxIniFileSize = 4 * 1024 * 1024;

// Reads path and reports its sections and values in file order. The reader itself reports (as
// errors in diagnostics, with file = path): an unreadable or too large file, an over-long line,
// a NUL byte, a syntax error, a key before any section, a key repeated within its section (its
// value is not delivered), and a value containing a control character (not delivered).
// Repeated section headers are only reported to on_section (first_line != 0): what a repeat
// means is the loader's to say. Callbacks must not throw; if one does, the exception becomes an
// error diagnostic. Returns false when the file could not be read at all (nothing was parsed).
bool read_ini_file(const std::string& path, const IniCallbacks& callbacks, Diagnostics& diagnostics);

// The same over text already in memory; file_name is used in diagnostics.
void read_ini_text(const std::string& file_name, std::string_view text, const IniCallbacks& callbacks,
                   Diagnostics& diagnostics);

// ---- Value helpers shared by the loaders ----

// The elements of a list value: separated by commas and/or blanks, empty elements dropped.
std::vector<std::string_view> split_ini_list(std::string_view value);

// yes/no, true/false, on/off, 1/0 (case-insensitive).
std::optional<bool> parse_ini_boolean(std::string_view value);

// A domain as the loaders store it: lower case, one leading dot dropped (".example.edu" means
// the same as "example.edu": subdomains always match). nullopt when it is not a syntactically
// valid domain name (LDH labels of 1..63 characters, at most 253 in all).
std::optional<std::string> normalize_domain(std::string_view text);

}  // namespace ecomm

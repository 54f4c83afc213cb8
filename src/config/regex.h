// RAII wrapper around a compiled PCRE2 pattern, compiled with match limits so that a hostile
// subject cannot make a match run away (backtracking and depth are bounded).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ecomm {

class Regex {
public:
    // Compiles pattern (UTF-8, case-insensitive when asked). On failure returns nullopt and
    // puts PCRE2's message and the offset into *error, e.g. "missing closing parenthesis at offset 7".
    static std::optional<Regex> compile(std::string_view pattern, bool caseless, std::string* error);

    // True when the pattern matches anywhere in subject. A match that hits the match limit
    // counts as no match.
    bool matches(std::string_view subject) const;
    const std::string& pattern() const { return pattern_; }

private:
    struct CodeDeleter { void operator()(void* code) const; };
    std::string pattern_;
    std::shared_ptr<void> code_;  // pcre2_code_8*, shared: a Regex is cheap to copy, immutable
};

}  // namespace ecomm

// PCRE2 (8-bit, UTF) patterns for the registry's return_path, with bounded matching: a pattern
// written by a person and a subject sent by a stranger must not be able to stall a worker thread.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "config/regex.h"

#include <pcre2.h>

namespace ecomm {

namespace {

// Enough for any sane return-path pattern; a pathological one fails closed (no match) quickly.
constexpr std::uint32_t kMatchLimit = 100000;
constexpr std::uint32_t kDepthLimit = 1000;

struct MatchDataDeleter {
    void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
struct MatchContextDeleter {
    void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;
using MatchContextPtr = std::unique_ptr<pcre2_match_context, MatchContextDeleter>;

MatchContextPtr make_limited_match_context()
{
    MatchContextPtr context(pcre2_match_context_create(nullptr));
    if (context) {
        pcre2_set_match_limit(context.get(), kMatchLimit);
        pcre2_set_depth_limit(context.get(), kDepthLimit);
    }
    return context;
}

// One context for every thread: PCRE2 only reads a match context while matching, and this one is
// never changed after its (thread-safe, function-static) initialisation. pcre2_match() takes
// a non-const pointer, hence the return type.
pcre2_match_context* limited_match_context()
{
    static const MatchContextPtr context = make_limited_match_context();
    return context.get();
}

std::string compile_error_text(int error_code, PCRE2_SIZE offset)
{
    PCRE2_UCHAR buffer[256];
    const int length = pcre2_get_error_message(error_code, buffer, sizeof buffer);
    std::string message = length > 0 ? std::string(reinterpret_cast<const char*>(buffer),
                                                   static_cast<std::size_t>(length))
                                     : "error " + std::to_string(error_code);
    return message + " at offset " + std::to_string(offset);
}

}  // namespace

void Regex::CodeDeleter::operator()(void* code) const
{
    pcre2_code_free(static_cast<pcre2_code*>(code));
}

std::optional<Regex> Regex::compile(std::string_view pattern, bool caseless, std::string* error)
{
    std::uint32_t options = PCRE2_UTF;
    if (caseless) options |= PCRE2_CASELESS;
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     options, &error_code, &error_offset, nullptr);
    if (!code) {
        if (error) *error = compile_error_text(error_code, error_offset);
        return std::nullopt;
    }
    Regex regex;
    regex.code_ = std::shared_ptr<void>(code, CodeDeleter{});
    regex.pattern_ = std::string(pattern);
    return regex;
}

bool Regex::matches(std::string_view subject) const
{
    const auto* code = static_cast<const pcre2_code*>(code_.get());
    if (!code) return false;
    // Match data per call: the Regex is shared between threads, match data is scratch space.
    MatchDataPtr data(pcre2_match_data_create_from_pattern(code, nullptr));
    if (!data) return false;
    const int result = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                                   0, 0, data.get(), limited_match_context());
    // Negative results are "no match" as well as errors (bad UTF-8, match or depth limit hit):
    // either way the subject did not prove that it matches.
    return result >= 0;
}

}  // namespace ecomm

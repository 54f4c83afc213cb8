// MIME header field values with parameters (RFC 2045 section 5.1, RFC 2183): "Content-Type:
// text/plain; charset=utf-8" and "Content-Disposition: attachment; filename=...". Parameters are
// decoded as a mail client would: quoted strings, RFC 2231 continuations (name*0, name*1*) and
// charsets (name*=utf-8'en'%E2%82%AC), and RFC 2047 encoded words inside values (the non-standard
// but common name="=?utf-8?B?...?="). Everything is converted to UTF-8 when the charset is known.
//
// Parsing is lenient (a filter that is stricter than the client lets an attachment through):
// comments are dropped, unterminated quotes run to the end, unquoted values may hold spaces,
// garbage between parameters is skipped. Bounded: at most kMaxParameters parameters and
// kMaxSections continuation sections per parameter are kept.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecomm::mime {

inline constexpr std::size_t kMaxParameters = 64;
inline constexpr int kMaxSections = 64;

struct HeaderValue {
    std::string value;  // the leading token, lower-cased and trimmed: "text/plain", "attachment"
    std::vector<std::pair<std::string, std::string>> parameters;  // lower-cased name, decoded value

    // The decoded value of a parameter, or nullptr when absent.
    const std::string* parameter(std::string_view name) const;
};

HeaderValue parse_header_value(std::string_view field);

// RFC 2047 encoded words in text ("=?iso-8859-1?Q?caf=E9?=") decoded to UTF-8; whitespace
// between adjacent encoded words is dropped. Malformed words are left as they are.
std::string decode_encoded_words(std::string_view text);

// bytes in charset converted to UTF-8; unknown charsets and invalid input give the bytes back.
std::string to_utf8(std::string_view charset, std::string_view bytes);

}  // namespace ecomm::mime

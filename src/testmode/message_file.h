// Reads an RFC 5322 message from a file for -t: the header fields (unfolded into name/value as
// the MTA would hand them to a milter) and the body, which is streamed in chunks.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/facts.h"

namespace ecomm {

struct ParsedHeaders {
    std::vector<Header> headers;
    std::size_t body_offset = 0;  // where the body starts in the text
};

// Splits text into header fields and the body offset. A leading mbox "From " line is skipped;
// a line that is neither a field nor a continuation ends the header section (as in Postfix).
// Values are as written after the colon, leading space included (HeaderValueForm::as_written).
ParsedHeaders parse_headers(std::string_view text);

// Reads a whole file; nullopt (with *error set) when it cannot be read or exceeds max_bytes.
std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes, std::string* error);

}  // namespace ecomm

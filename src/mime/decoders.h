// Streaming content-transfer-encoding decoders (RFC 2045 sections 6.7 and 6.8) with constant
// state: input arrives in any chunking, decoded bytes are appended to a caller's string. Both are
// lenient the way mail clients are: base64 skips characters outside its alphabet and resumes after
// padding; quoted-printable keeps malformed escapes literally.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ecomm::mime {

class Base64Decoder {
public:
    void decode(std::string_view in, std::string& out);  // appends to out
    // The same into a caller's buffer of room_for(in.size()) bytes (no zero-filling of a string's
    // growth); returns the bytes written.
    std::size_t decode(std::string_view in, char* dest);
    static constexpr std::size_t room_for(std::size_t characters) { return characters / 4 * 3 + 3 + 8; }
    void reset() { bits_ = 0; count_ = 0; }

private:
    std::uint32_t bits_ = 0;
    int count_ = 0;  // sextets in bits_
};

// Quoted-printable, fed line by line (line content without its line break). A line longer than the
// caller's buffer may come in pieces: complete=false for all but the last piece.
class QuotedPrintableDecoder {
public:
    void decode_line(std::string_view line, bool complete, std::string& out);

private:
    std::string pending_;  // at most "=X" carried from a piece that ended mid-escape
};

}  // namespace ecomm::mime

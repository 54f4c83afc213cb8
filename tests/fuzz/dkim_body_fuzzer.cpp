// libFuzzer target for the DKIM body path: the canonicalisation and hash (DkimBodyHash) against
// the line-by-line reading of RFC 6376 (tests/unit/dkim_body_reference.h), whatever the chunking
// and the vector path, and the CRLF check against a byte-by-byte reading. The first two input
// bytes choose the canonicalisation, the chunk sizes and the vector path; the rest is the body.
// A difference traps, as does any crash, sanitizer report, leak or timeout.
//
// Build: see run-dkim-body-fuzzer.sh.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/crlf_text.h"
#include "auth/dkim_body_hash.h"
#include "dkim_body_reference.h"
#include "util/vector_path.h"

namespace {

std::string sha256(std::string_view text)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(text.data(), text.size(), out, &length, EVP_sha256(), nullptr) != 1) __builtin_trap();
    return std::string(reinterpret_cast<const char*>(out), length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) return 0;
    const bool relaxed = (data[0] & 1) != 0;
    const bool last_was_cr = (data[0] & 2) != 0;
    const std::size_t chunk_a = 1 + (data[0] >> 2) % 61;
    const std::size_t chunk_b = 1 + (data[1] * 131u) % 4099;
    ecomm::use_vector_path(static_cast<ecomm::VectorPath>(data[1] % 3));  // unchanged where the CPU lacks it
    const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

    ecomm::DkimBodyHash hash(relaxed ? ecomm::DkimBodyCanon::relaxed : ecomm::DkimBodyCanon::simple,
                             ecomm::DkimBodyDigest::sha256);
    bool toggle = false;
    for (std::size_t at = 0; at < body.size();) {
        const std::size_t n = std::min(toggle ? chunk_a : chunk_b, body.size() - at);
        hash.update(body.substr(at, n));
        at += n;
        toggle = !toggle;
    }
    const std::string canonical = relaxed ? ecomm::test::relaxed_by_lines(body) : ecomm::test::simple_by_lines(body);
    if (hash.finish() != sha256(canonical)) __builtin_trap();

    if (ecomm::every_lf_follows_cr(body, last_was_cr) != ecomm::test::every_lf_follows_cr_by_reading(body, last_was_cr))
        __builtin_trap();
    return 0;
}

// DKIM key records (RFC 6376 section 3.6.1, RFC 8463 for Ed25519): the record's tags parsed and
// its p= decoded once per record text, kept in a cache shared by every message. The decode
// (OpenSSL 3.0's decoder search, under its locks) was a fifth of the milter's CPU on small
// signed mail when libopendkim repeated it for every message.
//
// Parsing follows libopendkim 2.11 (dkim_process_set and dkim_base64_decode), so that a record
// is judged the same whichever code reads it: tag names are case-sensitive, all whitespace in
// names and values is dropped, the last of two equal tags wins, and base64 skips characters
// outside its alphabet and stops at the first '='.
#pragma once
#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/rsa_verifier.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY and EVP_MD, kept out of this header
struct evp_md_st;

namespace ecomm {

struct DkimKeyRecord {
    bool syntax_ok = false;                    // the tag list parsed
    std::map<std::string, std::string> tags;   // name -> value, whitespace removed
    bool key_decodes = false;                  // p= present and valid base64 (libopendkim's)
    std::shared_ptr<evp_pkey_st> rsa_key;      // p= as a SubjectPublicKeyInfo holding an RSA key
    std::shared_ptr<evp_pkey_st> ed25519_key;  // p= as a raw Ed25519 public key
    unsigned rsa_bits = 0;                     // 8 x the modulus size in bytes, as libopendkim counts
    std::shared_ptr<RsaVerifier> rsa_verifier;  // rsa_key's verify contexts, kept for later messages

    const std::string* tag(const std::string& name) const;
};

// Parses a key record (the TXT strings already concatenated) and decodes its p=: 32 bytes as
// an Ed25519 key, anything else as an RSA one (the signature's a= says which it needs).
DkimKeyRecord parse_dkim_key_record(std::string_view record);

// libopendkim's base64 decoding (b=, p=): characters outside the alphabet are skipped, the first
// '=' ends the text; nullopt when a lone character is left over or the text is too short.
std::optional<std::string> dkim_lenient_base64(std::string_view text);

// Strict base64 with folding whitespace anywhere (bh=); nullopt when it is not base64.
std::optional<std::string> dkim_base64_decode(std::string_view text);

// SHA-1 or SHA-256, fetched from OpenSSL once: EVP_sha256() would make OpenSSL 3 look the
// implementation up again, under its provider lock, for every use.
const evp_md_st* dkim_digest(bool sha1);

// Checks signature (raw b= bytes) over digest (the header hash: SHA-256, or SHA-1 for rsa-sha1)
// with the record's key: Ed25519 over the digest (RFC 8463) when ed25519, else RSASSA-PKCS1-v1_5.
bool dkim_signature_verifies(const DkimKeyRecord& record, bool ed25519, bool sha1, std::string_view digest,
                             std::string_view signature);

// Parsed key records by their text, shared by every message of one configuration snapshot and
// thread-safe. Bounded: past `capacity` records the least recently used goes.
class DkimKeyCache {
public:
    explicit DkimKeyCache(std::size_t capacity = 1024) : capacity_(capacity) {}

    std::shared_ptr<const DkimKeyRecord> get(std::string_view record);
    std::size_t size();  // records held

private:
    using Order = std::list<std::string>;
    struct Entry {
        std::shared_ptr<const DkimKeyRecord> parsed;
        Order::iterator position;
    };

    std::size_t capacity_;
    std::mutex mutex_;
    Order order_;  // most recently used first
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace ecomm

// The key look-up and header-hash check of one DKIM signature (RFC 6376 section 6.1.2 and the
// header half of 6.1.3), done here for the common signatures instead of in libopendkim, so that
// a key record is decoded once (DkimKeyCache) rather than for every message. libopendkim still
// parses and syntax-checks every signature first; the checks and their order follow
// libopendkim 2.11's dkim_sig_process and dkim_get_key, and failures are named with its
// DKIM_SIGERROR_* codes, so the verdict and its wording do not depend on which code checked.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_header_hash.h"
#include "auth/dkim_key.h"
#include "dns/resolver.h"

namespace ecomm {

enum class DkimAlgorithm { rsa_sha1, rsa_sha256, ed25519_sha256 };

// What one signature says, from its DKIM-Signature field (tags as libopendkim parsed them).
struct DkimSignatureFacts {
    std::string domain;     // d=
    std::string selector;   // s=
    std::string identity;   // i=, empty when absent
    DkimAlgorithm algorithm = DkimAlgorithm::rsa_sha256;
    DkimHeaderCanon header_canon = DkimHeaderCanon::simple;
    std::string h_tag;      // h=
    std::string b_tag;      // b=
    std::string signature_field;  // the whole field, "DKIM-Signature: ...", CRLF line ends
};

struct DkimHeaderCheck {
    int error = -1;           // a DKIM_SIGERROR_* code; DKIM_SIGERROR_OK when the hash verified
    bool processed = false;   // libopendkim's DKIM_SIGFLAG_PROCESSED: the key was looked up
    bool passed = false;      // DKIM_SIGFLAG_PASSED: the header hash verified
    bool has_key_size = false;
    unsigned key_bits = 0;    // as libopendkim counts: 8 x RSA modulus bytes; 0 for Ed25519
    DnsAnswer::Status lookup = DnsAnswer::Status::ok;  // how the key look-up went
    bool testing_key = false;  // t=y in the key record (libopendkim's DKIM_SIGFLAG_TESTKEY)
};

// Looks the key up (selector._domainkey.domain, TXT) through resolver, checks the record against
// the signature and verifies the header hash over fields (every header field of the message,
// in order, as dkim_header_hash.h describes them).
DkimHeaderCheck check_dkim_signature_header(const DkimSignatureFacts& facts, const std::vector<std::string>& fields,
                                            DnsResolver& resolver, DkimKeyCache& keys);

}  // namespace ecomm

// DKIM verification (RFC 6376, RSA and Ed25519 per RFC 8463) with libopendkim, fed headers and
// body as the MTA streams them: no copy of the whole message is ever made. Every signature on the
// message is evaluated (up to a cap) and reported with an RFC 8601 result, so the authentication
// rule can look for a passing signature from one of a registered sender's signing domains.
//
// libopendkim parses and syntax-checks the signatures. For the common ones (rsa-sha256,
// rsa-sha1, ed25519-sha256 without l=) the key look-up and header hash check are then done by
// check_dkim_signature_header, with keys decoded once per key record (DkimKeyCache); the body
// hashes of the signatures whose header hash verified are computed by DkimBodyHash, and the body
// is not needed at all when none did. Any other signature is left whole to libopendkim.
//
// Key look-ups go through the project's DnsResolver (the per-transaction cache, the static test
// file, the configured timeout) rather than libopendkim's own resolver.
//
// Result mapping (RFC 8601 section 2.7.1 names):
//   pass       the header signature and the body hash both verify
//   fail       the signature was checked and did not verify (body hash mismatch, signature
//              verification failed), or the key is revoked (empty p=; OpenDKIM reports this
//              as fail too)
//   policy     it verifies, but local policy refuses it: rsa-sha1 (RFC 8301 section 3.1) unless
//              allowed, or an RSA key shorter than min_key_bits
//   temperror  the key look-up timed out or DNS failed: worth retrying later
//   permerror  it can never verify: no key record (NXDOMAIN or no TXT), a malformed or
//              duplicated key record, a malformed signature, a d= or s= that is no DNS name,
//              an expired or future signature, an unsupported algorithm, or a header block
//              that breaks RFC 5322 rules DKIM relies on (two From: fields, see strict_headers)
//              or that the caller could not pass whole (header_block_incomplete)
//   neutral    not evaluated: past the max_signatures cap
//   none       the message carries no signature (finish() returns an empty list)
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_key.h"
#include "dns/resolver.h"

struct dkim_lib;  // libopendkim's DKIM_LIB, kept out of this header

namespace ecomm {

namespace detail {
struct DkimMessage;  // one message's libopendkim state, defined in auth/dkim_message.h
}

struct DkimSignatureResult {
    enum class Code { pass, fail, neutral, policy, temperror, permerror, none };
    Code code = Code::none;
    std::string domain;            // d=
    std::string selector;          // s=
    std::string identity;          // i= when present
    std::string algorithm;         // a=, as written in the signature
    std::string reason;            // plain words, e.g. "body hash mismatch", "key not found"
    std::string signature_prefix;  // shortest unique prefix of b=, for header.b (RFC 6008)
    unsigned key_bits = 0;         // 0 when no key was loaded
    // The key record says t=y: the signer is testing DKIM, and RFC 6376 3.6.1 says its mail
    // must be treated as unsigned mail, so such a pass registers and authenticates nothing.
    bool testing = false;

    // A pass that counts for the rules: not one under a testing key.
    bool counts_as_pass() const { return code == Code::pass && !testing; }
};

// RFC 8601 result name: "pass", "fail", ...
std::string_view to_string(DkimSignatureResult::Code code);

struct DkimOptions {
    // Handed to libopendkim (DKIM_OPTS_TIMEOUT); the DnsResolver enforces its own bound too.
    std::chrono::seconds dns_timeout{5};
    // Signatures evaluated per message; later ones are neither looked up nor reported. Bounds
    // the DNS queries and RSA operations a hostile message can cost.
    int max_signatures = 16;
    // Refuse header blocks with no From: or with two copies of a field RFC 5322 allows once
    // (From, Sender, Reply-To, To, Cc, Bcc, Message-ID, In-Reply-To, References, Subject, Date):
    // the classic way to pass a signature off for another author (RFC 6376 section 8.15).
    // Names are compared as the header hash selects fields: in any case, blanks before the
    // colon ignored ("From :" is a second From:). Every signature on such a message is a permerror.
    bool strict_headers = true;
    unsigned min_key_bits = 1024;   // RFC 8301 section 3.2
    bool accept_rsa_sha1 = false;   // RFC 8301 section 3.1: rsa-sha1 is not valid
    // Key look-ups and header hashes of the common signatures checked here, with keys decoded
    // once per key record (see the top of this file). false leaves every signature to
    // libopendkim; the unit tests compare the two.
    bool own_key_checks = true;
};

// One libopendkim library handle (DKIM_LIB) configured once and shared, read-only, by every
// verifier on every thread, as libopendkim allows once options are set. Create one per
// configuration snapshot.
class DkimLibrary {
public:
    static std::shared_ptr<DkimLibrary> create(const DkimOptions& options = {});
    ~DkimLibrary();
    DkimLibrary(const DkimLibrary&) = delete;
    DkimLibrary& operator=(const DkimLibrary&) = delete;

    const DkimOptions& options() const { return options_; }
    dkim_lib* handle() const { return handle_.get(); }
    // Decoded keys, shared by every verifier of this snapshot (thread-safe).
    DkimKeyCache& keys() const { return keys_; }

private:
    struct Close {
        void operator()(dkim_lib* lib) const noexcept;
    };
    struct Key {  // lets create() use make_shared with a constructor nobody else can call
        explicit Key() = default;
    };

public:
    DkimLibrary(Key, std::unique_ptr<dkim_lib, Close> handle, const DkimOptions& options);

private:
    std::unique_ptr<dkim_lib, Close> handle_;
    DkimOptions options_;
    mutable DkimKeyCache keys_;  // a cache: filling it changes nothing anyone can observe
};

// Verifies one message. Call header() for each header field in order, end_of_headers(), body()
// for each chunk, then finish(). Key look-ups happen during end_of_headers(); the resolver must
// outlive the verifier. Not thread-safe by itself; different verifiers may run on different
// threads at once.
class DkimVerifier {
public:
    // Throws std::runtime_error when libopendkim cannot allocate a handle.
    DkimVerifier(std::shared_ptr<const DkimLibrary> library, DnsResolver& resolver);
    ~DkimVerifier();
    DkimVerifier(DkimVerifier&&) noexcept;
    DkimVerifier& operator=(DkimVerifier&&) noexcept;

    // value as libmilter delivers it: what follows "Name:", less the one leading SP the MTA strips
    // unless SMFIP_HDR_LEADSPC was negotiated; folded lines may be joined by "\n" or "\r\n".
    // space_removed: whether a SP was removed (the field is hashed as "Name: value"; else as
    // "Name:value"), which matters to simple header canonicalisation.
    void header(std::string_view name, std::string_view value, bool space_removed = true);
    void end_of_headers();
    // The caller stopped passing header fields (its bound on their number or size): every
    // signature is then a permerror, since the fields it did not see could change the verdict.
    void header_block_incomplete();
    // Any chunking; bare LF line ends are turned into CRLF, also across chunk boundaries.
    void body(std::string_view chunk);
    // False once the body cannot change any result (no signature to check): the caller may
    // stop sending body chunks.
    bool wants_body() const;
    // The d= of every signature seen so far (lower case, usable DNS names only, at most
    // max_signatures): the domains a passing signature could come from.
    std::vector<std::string> signing_domains() const;
    // One result per signature, in header order (at most max_signatures). Empty: unsigned.
    // Calling it again returns the same results.
    std::vector<DkimSignatureResult> finish();

private:
    std::unique_ptr<detail::DkimMessage> impl_;
};

}  // namespace ecomm

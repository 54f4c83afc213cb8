// The RFC 8601 result of each signature of a verified message (see dkim.h for the mapping):
// libopendkim's flags and error codes, or the verifier's own checks, turned into a result code
// and plain words for the Authentication-Results header and the log.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "auth/dkim.h"
#include "auth/dkim_message.h"
#include "auth/libopendkim.h"
#include "util/ascii.h"

namespace ecomm {

using Code = DkimSignatureResult::Code;

std::string_view to_string(Code code)
{
    switch (code) {
    case Code::pass: return "pass";
    case Code::fail: return "fail";
    case Code::neutral: return "neutral";
    case Code::policy: return "policy";
    case Code::temperror: return "temperror";
    case Code::permerror: return "permerror";
    case Code::none: return "none";
    }
    return "none";
}

namespace {

// A lookup-independent reason for each libopendkim signature error; nullptr for the library's.
const char* reason_for(int error)
{
    switch (error) {
    case DKIM_SIGERROR_BADSIG: return "signature verification failed";
    case DKIM_SIGERROR_NOKEY: return "key not found";
    case DKIM_SIGERROR_KEYREVOKED: return "key revoked";
    case DKIM_SIGERROR_EXPIRED: return "signature expired";
    case DKIM_SIGERROR_FUTURE: return "signature timestamp in the future";
    case DKIM_SIGERROR_KEYTOOSMALL: return "key too small";
    case DKIM_SIGERROR_MULTIREPLY: return "multiple key records";
    case DKIM_SIGERROR_DNSSYNTAX: return "key record syntax error";
    case DKIM_SIGERROR_VERSION: return "unsupported signature version";
    case DKIM_SIGERROR_INVALID_A: return "unsupported algorithm";
    default: return nullptr;
    }
}

std::string reason_text(int error)
{
    if (const char* mine = reason_for(error)) return mine;
    if (const char* library = dkim_sig_geterrorstr(error)) return library;
    return "unknown error";
}

// The RFC 8601 result for a signature that libopendkim flagged with error (see dkim.h).
Code code_for(int error)
{
    switch (error) {
    case DKIM_SIGERROR_KEYFAIL:      // DNS timeout or failure
        return Code::temperror;
    case DKIM_SIGERROR_KEYTOOSMALL:  // verifies, but below min_key_bits
        return Code::policy;
    case DKIM_SIGERROR_BADSIG:       // checked and did not verify
    case DKIM_SIGERROR_KEYREVOKED:   // the signer withdrew the key on purpose
    case DKIM_SIGERROR_TOOLARGE_L:   // l= claims more body than arrived
        return Code::fail;
    default:                         // no key, bad key record, bad signature syntax, expired...
        return Code::permerror;
    }
}

}  // namespace

std::vector<DkimSignatureResult> detail::DkimMessage::collect_results()
{
    DKIM_SIGINFO** sigs = nullptr;
    int count = 0;
    if (dkim_getsiglist(handle.get(), &sigs, &count) != DKIM_STAT_OK || !sigs) return {};
    const int limit = std::min(count, std::max(library->options().max_signatures, 0));
    std::vector<DkimSignatureResult> out;
    out.reserve(static_cast<std::size_t>(limit));
    for (int i = 0; i < limit; ++i) out.push_back(describe(sigs[i]));
    return out;
}

// The header block was refused before libopendkim parsed any signature: report each
// DKIM-Signature field seen as a permerror, named from its own d= and s= tags.
std::vector<DkimSignatureResult> detail::DkimMessage::malformed_results() const
{
    std::vector<DkimSignatureResult> out = signature_tags;
    for (auto& result : out) {
        result.code = Code::permerror;
        result.reason = header_error;
    }
    return out;
}

DkimSignatureResult detail::DkimMessage::describe(DKIM_SIGINFO* sig) const
{
    DkimSignatureResult result;
    result.domain = to_lower(libopendkim_text(dkim_sig_getdomain(sig)));
    result.selector = libopendkim_text(dkim_sig_getselector(sig));
    result.identity = signature_tag(sig, "i");
    result.algorithm = signature_tag(sig, "a");
    const SignatureState state = state_of(sig);
    if (state.has_key) result.key_bits = state.key_bits;
    if (std::find(bad_names.begin(), bad_names.end(), sig) != bad_names.end()) {
        // Keep the unusable names out of the result: they would end up in headers and logs.
        result.domain.clear();
        result.selector.clear();
        result.code = Code::permerror;
        result.reason = "invalid d= or s= syntax";
        return result;
    }
    char prefix[256];
    std::size_t prefix_length = sizeof prefix;
    if (dkim_get_sigsubstring(handle.get(), sig, prefix, &prefix_length) == DKIM_STAT_OK)
        result.signature_prefix.assign(prefix, std::min(prefix_length, sizeof prefix));
    classify(sig, state, result);
    return result;
}

void detail::DkimMessage::classify(DKIM_SIGINFO* sig, const SignatureState& state, DkimSignatureResult& result) const
{
    const unsigned flags = state.flags;
    const int error = state.error;
    const int body_hash = body_hash_outcome(sig);
    const bool header_ok = (flags & DKIM_SIGFLAG_PASSED) != 0;
    const DkimOptions& options = library->options();

    if (header_ok && body_hash == DKIM_SIGBH_MATCH) {
        if (small_rsa_key(sig)) {  // what libopendkim reports when it hashed the body itself
            result.code = code_for(DKIM_SIGERROR_KEYTOOSMALL);
            result.reason = reason_text(DKIM_SIGERROR_KEYTOOSMALL);
        } else if (!options.accept_rsa_sha1 && iequals(result.algorithm, "rsa-sha1")) {
            result.code = Code::policy;
            result.reason = "rsa-sha1 not accepted, RFC 8301";
        } else {
            result.code = Code::pass;
            if (flags & DKIM_SIGFLAG_TESTKEY) {
                result.testing = true;
                result.reason = "key in testing mode (t=y)";
            }
        }
        return;
    }
    if (flags & DKIM_SIGFLAG_IGNORE) {
        result.code = Code::neutral;
        result.reason = "not evaluated: too many signatures";
        return;
    }
    if (header_ok && body_hash == DKIM_SIGBH_MISMATCH) {
        result.code = Code::fail;
        result.reason = "body hash mismatch";
        return;
    }
    if (error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN) {
        // libopendkim marks a signature processed before it fetches the key, so the error code,
        // not the processed flag, tells a failed check from one that could not be made.
        result.code = code_for(error);
        result.reason = result.code == Code::temperror ? lookup_failure(result) : reason_text(error);
        return;
    }
    if (flags & DKIM_SIGFLAG_PROCESSED) {
        result.code = Code::fail;
        result.reason = reason_text(DKIM_SIGERROR_BADSIG);
        return;
    }
    result.code = Code::neutral;
    result.reason = "not evaluated";
}

// libopendkim reports timeouts and DNS failures alike; the resolver's answer tells them apart.
std::string detail::DkimMessage::lookup_failure(const DkimSignatureResult& result) const
{
    const std::string name = to_lower(result.selector + "._domainkey." + result.domain);
    for (const Lookup& lookup : lookups) {
        if (lookup.name != name) continue;
        if (lookup.status == DnsAnswer::Status::timeout) return "DNS timeout";
        return "DNS error";
    }
    return "key lookup failed";
}

}  // namespace ecomm

// Key look-up, key record checks and header hash verification of one DKIM signature, in
// libopendkim 2.11's order (dkim_get_key_dns, dkim_get_key, dkim_sig_process), including where
// it departs from RFC 6376: k= is not compared with a= (a key of the wrong type fails to decode
// instead), v= need not come first, and key records are cut at 1,024 bytes.
#include "auth/dkim_signature_check.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "auth/libopendkim.h"
#include "mail/address.h"

namespace ecomm {

namespace {

// libopendkim reads a key record into a buffer of this size.
constexpr std::size_t kMaxKeyRecord = 1024;

// The key record as libopendkim reads it: its first kMaxKeyRecord bytes, as a C string, so a
// NUL (a TXT string may hold any byte) ends it.
std::string_view key_record_as_read(const std::string& record)
{
    const std::string_view text = std::string_view(record).substr(0, kMaxKeyRecord);
    return text.substr(0, text.find('\0'));
}

struct MdContextFree {
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};

std::string digest_of(bool sha1, std::string_view text)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    std::unique_ptr<EVP_MD_CTX, MdContextFree> context(EVP_MD_CTX_new());
    if (!context || EVP_DigestInit_ex(context.get(), dkim_digest(sha1), nullptr) != 1 ||
        EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
        EVP_DigestFinal_ex(context.get(), out, &length) != 1)
        return {};
    return std::string(reinterpret_cast<const char*>(out), length);
}

// True when the colon-separated list (h=, s=, t= of a key record) has item, in any case.
bool list_has(std::string_view list, std::string_view item)
{
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t end = std::min(list.find(':', start), list.size());
        if (iequals(list.substr(start, end - start), item)) return true;
        start = end + 1;
    }
    return false;
}

// The record's own checks, before any key is decoded (dkim_get_key).
int record_error(const DkimSignatureFacts& facts, const DkimKeyRecord& record)
{
    if (!record.syntax_ok) return DKIM_SIGERROR_DNSSYNTAX;
    if (const std::string* version = record.tag("v"); version && *version != "DKIM1") return DKIM_SIGERROR_KEYVERSION;
    if (const std::string* hashes = record.tag("h")) {
        if (!list_has(*hashes, "sha1") && !list_has(*hashes, "sha256")) return DKIM_SIGERROR_KEYUNKNOWNHASH;
        if (!list_has(*hashes, facts.algorithm == DkimAlgorithm::rsa_sha1 ? "sha1" : "sha256"))
            return DKIM_SIGERROR_KEYHASHMISMATCH;
    }
    if (const std::string* services = record.tag("s"); services && !list_has(*services, "*") && !list_has(*services, "email"))
        return DKIM_SIGERROR_NOTEMAILKEY;
    if (const std::string* type = record.tag("k"); type && !iequals(*type, "rsa") && !iequals(*type, "ed25519"))
        return DKIM_SIGERROR_KEYTYPEUNKNOWN;
    const std::string* public_key = record.tag("p");
    if (!public_key) return DKIM_SIGERROR_DNSSYNTAX;
    if (public_key->empty()) return DKIM_SIGERROR_KEYREVOKED;
    if (!record.key_decodes) return DKIM_SIGERROR_DNSSYNTAX;
    return DKIM_SIGERROR_OK;
}

// t=s in the key: i=, when present, must be of d= itself, not a subdomain.
bool identity_outside_domain(const DkimSignatureFacts& facts, const DkimKeyRecord& record)
{
    const std::string* flags = record.tag("t");
    if (!flags || !list_has(*flags, "s") || facts.identity.empty()) return false;
    const std::size_t at = facts.identity.find('@');
    const std::string_view domain =
        at == std::string::npos ? std::string_view(facts.identity) : std::string_view(facts.identity).substr(at + 1);
    return !iequals(domain, facts.domain);
}

DnsAnswer look_up(DnsResolver& resolver, const DkimSignatureFacts& facts)
{
    try {
        return resolver.query(facts.selector + "._domainkey." + facts.domain, DnsType::TXT);
    } catch (...) {
        DnsAnswer failed;  // a resolver that throws counts as a DNS error
        failed.status = DnsAnswer::Status::error;
        return failed;
    }
}

}  // namespace

DkimHeaderCheck check_dkim_signature_header(const DkimSignatureFacts& facts, const std::vector<std::string>& fields,
                                            DnsResolver& resolver, DkimKeyCache& keys)
{
    DkimHeaderCheck check;
    const bool ed25519 = facts.algorithm == DkimAlgorithm::ed25519_sha256;
    check.has_key_size = ed25519;  // libopendkim reports 0 bits for Ed25519, fetched or not
    const DnsAnswer answer = look_up(resolver, facts);
    check.lookup = answer.status;
    check.processed = true;
    switch (answer.status) {
    case DnsAnswer::Status::timeout:
    case DnsAnswer::Status::error: check.error = DKIM_SIGERROR_KEYFAIL; return check;
    case DnsAnswer::Status::nxdomain:
    case DnsAnswer::Status::nodata: check.error = DKIM_SIGERROR_NOKEY; return check;
    case DnsAnswer::Status::ok: break;
    }
    if (answer.records.empty()) {
        check.error = DKIM_SIGERROR_NOKEY;
        return check;
    }
    if (answer.records.size() > 1) {
        check.error = DKIM_SIGERROR_MULTIREPLY;
        return check;
    }
    const std::shared_ptr<const DkimKeyRecord> record = keys.get(key_record_as_read(answer.records.front()));
    if (const int error = record_error(facts, *record); error != DKIM_SIGERROR_OK) {
        check.error = error;
        return check;
    }
    if (const std::string* flags = record->tag("t")) check.testing_key = list_has(*flags, "y");
    evp_pkey_st* key = ed25519 ? record->ed25519_key.get() : record->rsa_key.get();
    if (!key) {
        check.processed = false;  // as libopendkim leaves a key it cannot decode
        check.error = DKIM_SIGERROR_KEYDECODE;
        return check;
    }
    if (!ed25519) {
        check.has_key_size = true;
        check.key_bits = record->rsa_bits;
    }
    const bool sha1 = facts.algorithm == DkimAlgorithm::rsa_sha1;
    const std::string digest =
        digest_of(sha1, dkim_signed_header_text(facts.header_canon, fields, facts.h_tag, facts.signature_field));
    const std::optional<std::string> signature = dkim_lenient_base64(facts.b_tag);
    if (digest.empty() || !signature || !dkim_signature_verifies(*record, ed25519, sha1, digest, *signature)) {
        check.error = DKIM_SIGERROR_BADSIG;
        return check;
    }
    check.passed = true;
    check.error = identity_outside_domain(facts, *record) ? DKIM_SIGERROR_SUBDOMAIN : DKIM_SIGERROR_OK;
    return check;
}

}  // namespace ecomm

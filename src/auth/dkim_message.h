// One message's DKIM verification state (detail::DkimMessage), shared by the files that make
// up the verifier; not a public header (include auth/dkim.h). dkim.cpp streams a message's
// headers and body through it, dkim_results.cpp turns the state of each signature into an
// RFC 8601 result, and dkim_library.cpp holds the libopendkim library handle and the DNS hooks
// through which libopendkim's key look-ups reach the message's resolver.
#pragma once
#include <array>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim.h"
#include "auth/dkim_body_hash.h"
#include "auth/dkim_signature_check.h"
#include "auth/libopendkim.h"
#include "dns/resolver.h"

namespace ecomm::detail {

// RFC 5322 section 3.6 fields that may appear at most once. A second copy lets a message show
// one value while a signature covers another (RFC 6376 section 8.15). libopendkim has the same
// check (DKIM_LIBFLAGS_STRICTHDRS), but it leaks memory on one of its failure paths and also
// insists on a Date: field, so the verifier counts them itself, by their names as the header
// hash reads them (dkim_field_name).
inline constexpr std::string_view kSingletonFields[] = {"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
                                                        "Message-ID", "In-Reply-To", "References", "Subject", "Date"};
inline constexpr std::size_t kSingletonCount = std::size(kSingletonFields);

// A string libopendkim returned; empty for a null pointer.
inline std::string libopendkim_text(const unsigned char* value)
{
    return value ? std::string(reinterpret_cast<const char*>(value)) : std::string();
}

// A tag of a parsed signature ("a", "i"); libopendkim only reads the name, its prototype just
// lacks the const.
inline std::string signature_tag(DKIM_SIGINFO* sig, const char* name)
{
    return libopendkim_text(dkim_sig_gettagvalue(sig, false, reinterpret_cast<unsigned char*>(const_cast<char*>(name))));
}

// A d= or s= value usable as DNS labels (dkim_library.cpp).
bool valid_dns_name(std::string_view name);

// Everything one message's verification needs; the DNS hooks reach it through a thread-local.
struct DkimMessage {
    enum class Stage { headers, body, unsigned_message, malformed, finished };

    // The one query in flight: libopendkim starts, waits for and cancels each look-up in turn.
    struct PendingQuery {
        int status = DKIM_DNS_ERROR;
        std::size_t length = 0;
    };
    struct Lookup {
        std::string name;  // lower case
        DnsAnswer::Status status;
    };
    struct DkimFree {
        void operator()(DKIM* dkim) const noexcept { dkim_free(dkim); }
    };

    // A header field held until the end of the headers: libopendkim sees the fields only once
    // one of them may be a signature.
    struct PendingField {
        std::string text;  // "Name: value", line ends CRLF
        bool signature;    // named DKIM-Signature exactly, as the own checks count them
    };

    std::shared_ptr<const DkimLibrary> library;
    DnsResolver* resolver;
    std::unique_ptr<DKIM, DkimFree> handle;  // opened at end of headers, for signed mail only
    Stage stage = Stage::headers;
    std::vector<PendingField> pending_fields;
    bool maybe_signed = false;  // a field may be a DKIM-Signature (may_be_signature_field)
    std::string stage_buffer;   // body bytes mended to CRLF, waiting for dkim_body
    bool last_was_cr = false;
    PendingQuery pending;
    std::vector<Lookup> lookups;                 // at most one per evaluated signature
    std::vector<DkimSignatureResult> signature_tags;  // d=, s=, i=, a= of each DKIM-Signature seen
    std::vector<const DKIM_SIGINFO*> bad_names;  // signatures whose d= or s= is no DNS name
    std::array<unsigned char, kSingletonCount> singleton_seen{};  // saturates at 2
    std::string header_error;  // why the header block is refused (strict_headers, or not seen whole)
    std::vector<DkimSignatureResult> results;

    // Body hashes computed here rather than by libopendkim (see plan_body_hashes).
    struct BodyCheck {
        const DKIM_SIGINFO* sig;
        std::size_t hash;  // index into body_hashes
        bool small_rsa_key;  // libopendkim checks min_key_bits only once the body hash matched
        int outcome = DKIM_SIGBH_UNTESTED;
    };
    bool library_hashes_body = false;
    std::vector<DkimBodyHash> body_hashes;  // one per canonicalisation and digest in use
    std::vector<BodyCheck> body_checks;     // one per signature whose header hash verified

    // Signatures whose key and header hash are checked here rather than by libopendkim (see
    // claim); libopendkim is told to ignore them.
    struct OwnCheck {
        const DKIM_SIGINFO* sig;
        DkimSignatureFacts facts;
        dkim_canon_t body_canon;  // for the body hash, if the header hash verifies
        dkim_alg_t algorithm;
        DkimHeaderCheck result;
    };
    std::vector<std::string> fields;             // every header field, as given to libopendkim
    std::vector<std::size_t> signature_fields;   // positions of the DKIM-Signature fields
    std::vector<OwnCheck> own_checks;

    // libopendkim's view of a signature, or ours for the signatures checked here.
    struct SignatureState {
        unsigned flags = 0;
        int error = DKIM_SIGERROR_UNKNOWN;
        unsigned key_bits = 0;
        bool has_key = false;
    };

    DkimMessage(std::shared_ptr<const DkimLibrary> lib, DnsResolver& dns);

    void header(std::string_view name, std::string_view value, bool space_removed);
    void end_of_headers();
    void header_block_incomplete();
    void body(std::string_view chunk);
    void consume(std::string_view crlf_text);
    void flush_body();
    bool needs_body() const;
    void plan_body_hashes();
    void check_body_hashes();
    const BodyCheck* body_check_of(const DKIM_SIGINFO* sig) const;
    int body_hash_outcome(DKIM_SIGINFO* sig) const;
    bool small_rsa_key(DKIM_SIGINFO* sig) const;
    void add_body_check(const DKIM_SIGINFO* sig, dkim_canon_t body_canon, dkim_alg_t algorithm, bool has_key_size,
                        unsigned bits);
    std::vector<DkimSignatureResult> finish();

    bool claim(DKIM_SIGINFO* sig, std::size_t position);
    void run_own_checks();
    const OwnCheck* own_check_of(const DKIM_SIGINFO* sig) const;
    SignatureState state_of(DKIM_SIGINFO* sig) const;

    void open_handle();
    void remember_signature(std::string_view name, std::string_view value);
    void count_singleton(std::string_view name);
    std::string header_block_error() const;
    std::vector<DkimSignatureResult> collect_results();
    std::vector<DkimSignatureResult> malformed_results() const;
    DkimSignatureResult describe(DKIM_SIGINFO* sig) const;
    void classify(DKIM_SIGINFO* sig, const SignatureState& state, DkimSignatureResult& result) const;
    std::string lookup_failure(const DkimSignatureResult& result) const;

    // Called from the DNS hook: ask the resolver, remember the outcome, write the reply.
    void answer_query(std::string_view name, unsigned char* buffer, std::size_t capacity) noexcept;
};

// Publishes a message, for the duration of a libopendkim call that may look up keys, to the DNS
// hooks on this thread (dkim_library.cpp): libopendkim resolves synchronously, on the caller's
// thread, and its hooks know nothing of the message.
class ActiveVerifier {
public:
    explicit ActiveVerifier(DkimMessage* message);
    ~ActiveVerifier();
    ActiveVerifier(const ActiveVerifier&) = delete;
    ActiveVerifier& operator=(const ActiveVerifier&) = delete;

private:
    DkimMessage* previous_;
};

}  // namespace ecomm::detail

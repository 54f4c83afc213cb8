// DKIM verification with libopendkim: the library handle and its DNS hooks, the per-message
// verifier that streams headers and body into a DKIM handle, and the translation of each
// signature's state into an RFC 8601 result (see dkim.h for the mapping).
//
// How key look-ups reach the DnsResolver: libopendkim asks its "query service" hooks for a TXT
// record and parses the DNS reply packet itself. The hooks are set once on the shared library
// handle and know nothing of the message, so the verifier publishes itself in a thread-local
// pointer for the duration of each libopendkim call that may look up keys (libopendkim resolves
// synchronously, on the calling thread). The hook asks that verifier's resolver and writes a DNS
// response packet - header, question, TXT answers - into libopendkim's buffer
// (auth/dns_txt_reply.h).
#include "auth/dkim.h"

#include <arpa/nameser.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "auth/crlf_text.h"
#include "auth/dkim_body_hash.h"
#include "auth/dkim_signature_check.h"
#include "auth/dns_txt_reply.h"
#include "auth/libopendkim.h"
#include "util/ascii.h"

namespace ecomm {

std::string_view to_string(DkimSignatureResult::Code code)
{
    using Code = DkimSignatureResult::Code;
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

using Code = DkimSignatureResult::Code;

// Body bytes are staged (after LF -> CRLF) and handed to libopendkim in pieces of this size,
// so memory stays flat whatever the chunk or message size.
constexpr std::size_t kBodyStageBytes = 16 * 1024;

constexpr unsigned char kJobId[] = "ecomm-milter";

// RFC 5322 section 3.6 fields that may appear at most once. A second copy lets a message show
// one value while a signature covers another (RFC 6376 section 8.15). libopendkim has the same
// check (DKIM_LIBFLAGS_STRICTHDRS), but it leaks memory on one of its failure paths and also
// insists on a Date: field, so the verifier counts them itself.
constexpr std::string_view kSingletonFields[] = {"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
                                                 "Message-ID", "In-Reply-To", "References", "Subject", "Date"};
constexpr std::size_t kSingletonCount = std::size(kSingletonFields);

std::string text(const unsigned char* value)
{
    return value ? std::string(reinterpret_cast<const char*>(value)) : std::string();
}

// A tag of a parsed signature ("a", "i"); libopendkim only reads the name, its prototype just
// lacks the const.
std::string signature_tag(DKIM_SIGINFO* sig, const char* name)
{
    return text(dkim_sig_gettagvalue(sig, false, reinterpret_cast<unsigned char*>(const_cast<char*>(name))));
}

}  // namespace

// ---- per-message state ----------------------------------------------------------------------

namespace detail {

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
    std::string header_error;  // why the header block is refused (strict_headers)
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

    void header(std::string_view name, std::string_view value);
    void end_of_headers();
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

}  // namespace detail

namespace {

// The verifier whose libopendkim call is running on this thread (see the file comment).
thread_local detail::DkimMessage* t_active_verifier = nullptr;

class ActiveVerifier {
public:
    explicit ActiveVerifier(detail::DkimMessage* impl) : previous_(t_active_verifier) { t_active_verifier = impl; }
    ~ActiveVerifier() { t_active_verifier = previous_; }
    ActiveVerifier(const ActiveVerifier&) = delete;
    ActiveVerifier& operator=(const ActiveVerifier&) = delete;

private:
    detail::DkimMessage* previous_;
};

// libopendkim DNS hooks. C callbacks: nothing may throw out of them.
int dns_query_start(void* /*service*/, int type, unsigned char* query, unsigned char* buffer,
                    std::size_t capacity, void** query_handle) noexcept
{
    detail::DkimMessage* impl = t_active_verifier;
    if (!impl || type != ns_t_txt || !query || !buffer || !query_handle) return DKIM_DNS_ERROR;
    impl->answer_query(reinterpret_cast<const char*>(query), buffer, capacity);
    *query_handle = &impl->pending;
    return DKIM_DNS_SUCCESS;
}

int dns_query_cancel(void* /*service*/, void* /*query_handle*/) noexcept
{
    return DKIM_DNS_SUCCESS;  // the answer lives in the verifier; nothing to release
}

int dns_query_waitreply(void* /*service*/, void* query_handle, struct timeval* /*timeout*/,
                        std::size_t* bytes, int* error, int* dnssec) noexcept
{
    const auto* pending = static_cast<const detail::DkimMessage::PendingQuery*>(query_handle);
    if (!pending) return DKIM_DNS_ERROR;
    if (bytes) *bytes = pending->length;
    if (error) *error = 0;
    if (dnssec) *dnssec = DKIM_DNSSEC_UNKNOWN;
    return pending->status;
}

// A d= or s= value usable as DNS labels: letters, digits, '-' and '_' (seen in real selectors),
// no empty or over-long label. Anything else - "legitimate.com(.attacker.com" - could pass for
// another domain once written into an Authentication-Results header, so it never verifies.
bool valid_dns_name(std::string_view name)
{
    if (name.empty() || name.size() > 253) return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t dot = std::min(name.find('.', start), name.size());
        const std::string_view label = name.substr(start, dot - start);
        if (label.empty() || label.size() > NS_MAXLABEL || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        start = dot + 1;
    }
    return true;
}

// Prescreen hook, after libopendkim parsed the signatures and before any key look-up: signatures
// past the cap are ignored, so they cost neither DNS nor crypto, signatures naming no valid
// DNS domain or selector are failed without a query, and the ones the verifier checks itself
// (DkimMessage::claim) are ignored by libopendkim.
DKIM_CBSTAT prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int nsigs) noexcept
{
    auto* impl = static_cast<detail::DkimMessage*>(dkim_get_user_context(dkim));
    const int cap = std::clamp(impl ? impl->library->options().max_signatures : nsigs, 0, nsigs);
    for (int i = cap; i < nsigs; ++i) dkim_sig_ignore(sigs[i]);
    for (int i = 0; i < cap; ++i) {
        DKIM_SIGINFO* sig = sigs[i];
        if (dkim_sig_geterror(sig) != DKIM_SIGERROR_UNKNOWN) continue;
        if (valid_dns_name(text(dkim_sig_getdomain(sig))) && valid_dns_name(text(dkim_sig_getselector(sig)))) {
            if (impl && impl->claim(sig, static_cast<std::size_t>(i))) dkim_sig_ignore(sig);
            continue;
        }
        dkim_sig_seterror(sig, DKIM_SIGERROR_DOMAIN);
        if (!impl) continue;
        try {
            impl->bad_names.push_back(sig);
        } catch (...) {
            // Out of memory: still a permerror, only with libopendkim's wording.
        }
    }
    return DKIM_CBSTAT_CONTINUE;
}

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

// Whether text is tag once its whitespace is dropped.
bool names_tag(std::string_view text, std::string_view tag)
{
    std::size_t matched = 0;
    for (const char c : text) {
        if (is_ascii_space(c)) continue;
        if (matched == tag.size() || c != tag[matched]) return false;
        ++matched;
    }
    return matched == tag.size();
}

// Value of tag in a DKIM-Signature field ("d", "s", ...), folding whitespace removed. Only the
// wanted tag's value is copied: b= alone is a few hundred characters.
std::string tag_value(std::string_view field, std::string_view tag)
{
    std::size_t start = 0;
    while (start <= field.size()) {
        const std::size_t end = std::min(field.find(';', start), field.size());
        const std::string_view item = field.substr(start, end - start);
        const std::size_t equals = item.find('=');
        if (equals != std::string_view::npos && names_tag(item.substr(0, equals), tag)) {
            std::string value;
            value.reserve(item.size() - equals);
            for (const char c : item.substr(equals + 1))
                if (!is_ascii_space(c)) value += c;
            return value;
        }
        start = end + 1;
    }
    return {};
}

}  // namespace

detail::DkimMessage::DkimMessage(std::shared_ptr<const DkimLibrary> lib, DnsResolver& dns)
    : library(std::move(lib)), resolver(&dns)
{
    if (!library) throw std::invalid_argument("DkimVerifier needs a DkimLibrary");
    pending_fields.reserve(32);  // a typical header block without regrowing
}

namespace {

// Whether field may be one libopendkim takes for a signature: the text before the first colon,
// trailing white space dropped, is DKIM-Signature in any case. At least as wide as libopendkim's
// own test (it takes a space before the colon, not a tab: tests/unit/test_dkim.cpp), so that no
// field it would verify is missed; a field it then does not take costs a handle, no more.
bool may_be_signature_field(std::string_view field)
{
    std::string_view name = field.substr(0, field.find(':'));
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);
    return iequals(name, DKIM_SIGNHEADER);
}

}  // namespace

void detail::DkimMessage::header(std::string_view name, std::string_view value)
{
    if (stage != Stage::headers) return;
    std::string field;
    field.reserve(name.size() + 2 + value.size());
    field.assign(name);
    field += ": ";
    bool last_was_cr_in_header = false;
    append_crlf(field, value, last_was_cr_in_header);
    if (may_be_signature_field(field)) maybe_signed = true;
    pending_fields.push_back({std::move(field), iequals(name, DKIM_SIGNHEADER)});
    remember_signature(name, value);
    count_singleton(name);
}

// Most mail is unsigned: the libopendkim handle, and its copy of every header, only for the rest.
void detail::DkimMessage::open_handle()
{
    DKIM_STAT status = DKIM_STAT_OK;
    handle.reset(dkim_verify(library->handle(), kJobId, nullptr, &status));
    if (!handle) throw std::runtime_error("libopendkim: cannot create a verifying handle");
    dkim_set_user_context(handle.get(), this);
    fields.reserve(pending_fields.size());
    for (PendingField& pending_field : pending_fields) {
        std::string& text = pending_field.text;
        // A header libopendkim refuses (no colon, too long) is left out of the hashes, as
        // OpenDKIM does; signatures covering it will fail on their own.
        const DKIM_STAT header_status =
            dkim_header(handle.get(), reinterpret_cast<unsigned char*>(text.data()), text.size());
        // The fields libopendkim keeps, for the signatures checked here: it keeps a
        // DKIM-Signature whose tags do not parse too (it reports that signature as malformed,
        // and other signatures may cover the field).
        if (header_status == DKIM_STAT_OK || (pending_field.signature && header_status == DKIM_STAT_SYNTAX)) {
            if (pending_field.signature) signature_fields.push_back(fields.size());
            fields.push_back(std::move(text));
        }
    }
    pending_fields = {};
}

void detail::DkimMessage::count_singleton(std::string_view name)
{
    for (std::size_t i = 0; i < kSingletonCount; ++i) {
        if (!iequals(name, kSingletonFields[i])) continue;
        if (singleton_seen[i] < 2) ++singleton_seen[i];
        return;
    }
}

// Empty when the header block is acceptable; else libopendkim's wording for the problem.
std::string detail::DkimMessage::header_block_error() const
{
    for (std::size_t i = 0; i < kSingletonCount; ++i)
        if (singleton_seen[i] > 1) return "multiple " + std::string(kSingletonFields[i]) + ": header fields present";
    if (singleton_seen[0] == 0) return "From: header field absent";
    return {};
}

// Keeps what malformed_results needs should the header block be refused before libopendkim
// parses the signatures.
void detail::DkimMessage::remember_signature(std::string_view name, std::string_view value)
{
    const int cap = library->options().max_signatures;
    if (!iequals(name, DKIM_SIGNHEADER) || static_cast<int>(signature_tags.size()) >= cap) return;
    DkimSignatureResult tags;
    const std::string domain = tag_value(value, "d");
    const std::string selector = tag_value(value, "s");
    if (valid_dns_name(domain) && valid_dns_name(selector)) {
        tags.domain = to_lower(domain);
        tags.selector = selector;
    }
    tags.identity = tag_value(value, "i");
    tags.algorithm = tag_value(value, "a");
    signature_tags.push_back(std::move(tags));
}

void detail::DkimMessage::end_of_headers()
{
    if (stage != Stage::headers) return;
    if (library->options().strict_headers) header_error = header_block_error();
    if (!header_error.empty()) {
        // No point hashing anything: every signature on this message is a permerror.
        stage = signature_tags.empty() ? Stage::unsigned_message : Stage::malformed;
        pending_fields = {};
        return;
    }
    if (!maybe_signed) {  // libopendkim would answer DKIM_STAT_NOSIG
        stage = Stage::unsigned_message;
        pending_fields = {};
        return;
    }
    open_handle();
    DKIM_STAT status;
    {
        ActiveVerifier active(this);  // keys are looked up here
        status = dkim_eoh(handle.get());
    }
    run_own_checks();
    if (status == DKIM_STAT_NOSIG && own_checks.empty()) {
        stage = Stage::unsigned_message;
        return;
    }
    // OK, or a resource failure that the per-signature states will show.
    stage = Stage::body;
    plan_body_hashes();
}

// Signatures libopendkim parsed without error, that name a usable domain and selector and that
// this verifier knows how to check completely: rsa-sha256, rsa-sha1 or ed25519-sha256, simple or
// relaxed canonicalisation, no l=, keys in DNS. Their key look-up and header hash are done by
// run_own_checks, and libopendkim ignores them. position: the signature's place among the
// message's signatures, which libopendkim lists in header order; its b= must match the field's.
bool detail::DkimMessage::claim(DKIM_SIGINFO* sig, std::size_t position)
{
    if (!library->options().own_key_checks || position >= signature_fields.size()) return false;
    dkim_canon_t header_canon = DKIM_CANON_UNKNOWN, body_canon = DKIM_CANON_UNKNOWN;
    dkim_alg_t algorithm = DKIM_SIGN_UNKNOWN;
    if (dkim_sig_getcanons(sig, &header_canon, &body_canon) != DKIM_STAT_OK ||
        dkim_sig_getsignalg(sig, &algorithm) != DKIM_STAT_OK)
        return false;
    const auto known_canon = [](dkim_canon_t canon) { return canon == DKIM_CANON_SIMPLE || canon == DKIM_CANON_RELAXED; };
    if (!known_canon(header_canon) || !known_canon(body_canon)) return false;
    DkimSignatureFacts facts;
    switch (algorithm) {
    case DKIM_SIGN_RSASHA1: facts.algorithm = DkimAlgorithm::rsa_sha1; break;
    case DKIM_SIGN_RSASHA256: facts.algorithm = DkimAlgorithm::rsa_sha256; break;
    case DKIM_SIGN_ED25519SHA256: facts.algorithm = DkimAlgorithm::ed25519_sha256; break;
    default: return false;
    }
    const std::string query = signature_tag(sig, "q");
    if (!signature_tag(sig, "l").empty() || (!query.empty() && query != "dns/txt")) return false;
    const std::string& field = fields[signature_fields[position]];
    facts.b_tag = signature_tag(sig, "b");
    if (facts.b_tag.empty() || tag_value(field, "b") != facts.b_tag) return false;
    facts.header_canon = header_canon == DKIM_CANON_RELAXED ? DkimHeaderCanon::relaxed : DkimHeaderCanon::simple;
    facts.domain = text(dkim_sig_getdomain(sig));
    facts.selector = text(dkim_sig_getselector(sig));
    facts.identity = signature_tag(sig, "i");
    facts.h_tag = signature_tag(sig, "h");
    facts.signature_field = field;
    own_checks.push_back({sig, std::move(facts), body_canon, algorithm, {}});
    return true;
}

void detail::DkimMessage::run_own_checks()
{
    for (OwnCheck& own : own_checks) {
        own.result = check_dkim_signature_header(own.facts, fields, *resolver, library->keys());
        if (own.result.error == DKIM_SIGERROR_KEYFAIL)  // for lookup_failure's wording
            lookups.push_back({to_lower(own.facts.selector + "._domainkey." + own.facts.domain), own.result.lookup});
    }
}

const detail::DkimMessage::OwnCheck* detail::DkimMessage::own_check_of(const DKIM_SIGINFO* sig) const
{
    for (const OwnCheck& own : own_checks)
        if (own.sig == sig) return &own;
    return nullptr;
}

detail::DkimMessage::SignatureState detail::DkimMessage::state_of(DKIM_SIGINFO* sig) const
{
    SignatureState state;
    if (const OwnCheck* own = own_check_of(sig)) {
        // As libopendkim would have left it.
        state.flags = (own->result.processed ? DKIM_SIGFLAG_PROCESSED : 0u) |
                      (own->result.passed ? DKIM_SIGFLAG_PASSED : 0u);
        state.error = own->result.error;
        state.has_key = own->result.has_key_size;
        state.key_bits = own->result.key_bits;
        return state;
    }
    state.flags = dkim_sig_getflags(sig);
    state.error = dkim_sig_geterror(sig);
    state.has_key = dkim_sig_getkeysize(sig, &state.key_bits) == DKIM_STAT_OK;
    return state;
}

// Once the header hashes are checked, only the signatures that passed without an error still
// depend on the body. Their body hashes are computed here, one DkimBodyHash per canonicalisation
// and digest in use. Among the signatures libopendkim checks, one with l= (a body length limit)
// or anything unexpected leaves the body of all of them to libopendkim.
void detail::DkimMessage::plan_body_hashes()
{
    for (const OwnCheck& own : own_checks)
        if (own.result.error == DKIM_SIGERROR_OK)
            add_body_check(own.sig, own.body_canon, own.algorithm, own.result.has_key_size, own.result.key_bits);
    const std::size_t own_count = body_checks.size();
    DKIM_SIGINFO** sigs = nullptr;
    int count = 0;
    if (dkim_getsiglist(handle.get(), &sigs, &count) != DKIM_STAT_OK || !sigs) {
        library_hashes_body = true;
        return;
    }
    const int limit = std::min(count, std::max(library->options().max_signatures, 0));
    for (int i = 0; i < limit; ++i) {
        DKIM_SIGINFO* sig = sigs[i];
        const unsigned flags = dkim_sig_getflags(sig);
        const int error = dkim_sig_geterror(sig);
        if (!(flags & DKIM_SIGFLAG_IGNORE) && !signature_tag(sig, "l").empty()) {
            // libopendkim fails any l= signature that did not get its l= bytes of body, so an
            // l= signature it checks - passed or not - needs the body fed to it.
            library_hashes_body = true;
            body_checks.resize(own_count);
            if (own_count == 0) body_hashes.clear();
            return;
        }
        if (!(flags & DKIM_SIGFLAG_PASSED) || (flags & DKIM_SIGFLAG_IGNORE)) continue;
        if (error != DKIM_SIGERROR_UNKNOWN && error != DKIM_SIGERROR_OK) continue;  // e.g. key too small
        dkim_canon_t header_canon = DKIM_CANON_UNKNOWN, body_canon = DKIM_CANON_UNKNOWN;
        dkim_alg_t algorithm = DKIM_SIGN_UNKNOWN;
        const bool known = dkim_sig_getcanons(sig, &header_canon, &body_canon) == DKIM_STAT_OK &&
                           dkim_sig_getsignalg(sig, &algorithm) == DKIM_STAT_OK &&
                           (body_canon == DKIM_CANON_SIMPLE || body_canon == DKIM_CANON_RELAXED) &&
                           (algorithm == DKIM_SIGN_RSASHA1 || algorithm == DKIM_SIGN_RSASHA256 ||
                            algorithm == DKIM_SIGN_ED25519SHA256);
        if (!known) {
            library_hashes_body = true;
            body_checks.resize(own_count);
            if (own_count == 0) body_hashes.clear();
            return;
        }
        unsigned bits = 0;
        const bool has_key_size = dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK;
        add_body_check(sig, body_canon, algorithm, has_key_size, bits);
    }
}

void detail::DkimMessage::add_body_check(const DKIM_SIGINFO* sig, dkim_canon_t body_canon, dkim_alg_t algorithm,
                                         bool has_key_size, unsigned bits)
{
    const DkimBodyCanon canon = body_canon == DKIM_CANON_RELAXED ? DkimBodyCanon::relaxed : DkimBodyCanon::simple;
    const DkimBodyDigest digest = algorithm == DKIM_SIGN_RSASHA1 ? DkimBodyDigest::sha1 : DkimBodyDigest::sha256;
    const auto same = std::find_if(body_hashes.begin(), body_hashes.end(), [&](const DkimBodyHash& hash) {
        return hash.canon() == canon && hash.digest() == digest;
    });
    const std::size_t index = static_cast<std::size_t>(same - body_hashes.begin());
    if (same == body_hashes.end()) body_hashes.emplace_back(canon, digest);
    const bool small_rsa_key =
        algorithm != DKIM_SIGN_ED25519SHA256 && has_key_size && bits < library->options().min_key_bits;
    body_checks.push_back({sig, index, small_rsa_key});
}

bool detail::DkimMessage::needs_body() const
{
    return stage == Stage::headers || (stage == Stage::body && (library_hashes_body || !body_hashes.empty()));
}

void detail::DkimMessage::check_body_hashes()
{
    if (body_checks.empty()) return;
    std::vector<std::string> digests;
    digests.reserve(body_hashes.size());
    for (DkimBodyHash& hash : body_hashes) digests.push_back(hash.finish());
    for (BodyCheck& check : body_checks) {
        auto* sig = const_cast<DKIM_SIGINFO*>(check.sig);
        check.outcome = dkim_body_hash_matches(signature_tag(sig, "bh"), digests[check.hash]) ? DKIM_SIGBH_MATCH
                                                                                             : DKIM_SIGBH_MISMATCH;
    }
}

const detail::DkimMessage::BodyCheck* detail::DkimMessage::body_check_of(const DKIM_SIGINFO* sig) const
{
    for (const BodyCheck& check : body_checks)
        if (check.sig == sig) return &check;
    return nullptr;
}

// Ours for the signatures hashed here, libopendkim's for the rest.
int detail::DkimMessage::body_hash_outcome(DKIM_SIGINFO* sig) const
{
    const BodyCheck* check = body_check_of(sig);
    return check ? check->outcome : dkim_sig_getbh(sig);
}

bool detail::DkimMessage::small_rsa_key(DKIM_SIGINFO* sig) const
{
    const BodyCheck* check = body_check_of(sig);
    return check && check->small_rsa_key;
}

void detail::DkimMessage::body(std::string_view chunk)
{
    if (stage == Stage::headers) end_of_headers();
    if (!needs_body()) return;
    if (!chunk.empty() && every_lf_follows_cr(chunk, last_was_cr)) {
        // The common case, without a copy.
        flush_body();
        consume(chunk);
        last_was_cr = chunk.back() == '\r';
        return;
    }
    // Only a body with bare LFs needs the buffer: most messages never allocate it.
    stage_buffer.reserve(kBodyStageBytes);
    while (!chunk.empty()) {
        // Leave room for the worst case: every byte a bare LF growing into CRLF.
        const std::size_t room = kBodyStageBytes - std::min(stage_buffer.size(), kBodyStageBytes);
        const std::size_t take = std::max<std::size_t>(room / 2, 1);
        append_crlf(stage_buffer, chunk.substr(0, take), last_was_cr);
        chunk.remove_prefix(std::min(take, chunk.size()));
        if (stage_buffer.size() >= kBodyStageBytes / 2) flush_body();
    }
}

void detail::DkimMessage::flush_body()
{
    if (stage_buffer.empty()) return;
    consume(stage_buffer);
    stage_buffer.clear();
}

void detail::DkimMessage::consume(std::string_view crlf_text)
{
    if (library_hashes_body) {
        // libopendkim only reads the buffer it is given.
        dkim_body(handle.get(), reinterpret_cast<unsigned char*>(const_cast<char*>(crlf_text.data())), crlf_text.size());
    }
    for (DkimBodyHash& hash : body_hashes) hash.update(crlf_text);
}

std::vector<DkimSignatureResult> detail::DkimMessage::finish()
{
    if (stage == Stage::headers) end_of_headers();
    switch (stage) {
    case Stage::body: {
        flush_body();
        {
            ActiveVerifier active(this);  // with delayed processing, keys could be fetched here
            dkim_eom(handle.get(), nullptr);
        }
        check_body_hashes();
        results = collect_results();
        break;
    }
    case Stage::malformed:
        results = malformed_results();
        break;
    case Stage::unsigned_message:
    case Stage::headers:
    case Stage::finished:
        break;
    }
    stage = Stage::finished;
    return results;
}

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
    result.domain = to_lower(text(dkim_sig_getdomain(sig)));
    result.selector = text(dkim_sig_getselector(sig));
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

void detail::DkimMessage::answer_query(std::string_view name, unsigned char* buffer, std::size_t capacity) noexcept
{
    DnsAnswer answer;
    try {
        answer = resolver->query(name, DnsType::TXT);
    } catch (...) {
        answer = DnsAnswer{};  // a resolver that throws counts as a DNS error
        answer.status = DnsAnswer::Status::error;
    }
    if (lookups.size() < static_cast<std::size_t>(std::max(library->options().max_signatures, 1)) * 2) {
        try {
            lookups.push_back({to_lower(name), answer.status});
        } catch (...) {
            // Out of memory: the reason text falls back to "key lookup failed".
        }
    }

    pending = PendingQuery{};
    switch (answer.status) {
    case DnsAnswer::Status::ok:
    case DnsAnswer::Status::nodata:
    case DnsAnswer::Status::nxdomain:
        pending.length = build_txt_reply(name, answer, buffer, capacity);
        pending.status = pending.length > 0 ? DKIM_DNS_SUCCESS : DKIM_DNS_ERROR;
        break;
    case DnsAnswer::Status::timeout:
        pending.status = DKIM_DNS_EXPIRED;
        break;
    case DnsAnswer::Status::error:
        pending.status = DKIM_DNS_ERROR;
        break;
    }
}

// ---- DkimLibrary ----------------------------------------------------------------------------

void DkimLibrary::Close::operator()(dkim_lib* lib) const noexcept
{
    dkim_close(lib);
}

DkimLibrary::DkimLibrary(Key, std::unique_ptr<dkim_lib, Close> handle, const DkimOptions& options)
    : handle_(std::move(handle)), options_(options)
{
}

DkimLibrary::~DkimLibrary() = default;

namespace {

void set_option(DKIM_LIB* lib, int option, void* value, std::size_t size, const char* what)
{
    if (dkim_options(lib, DKIM_OP_SETOPT, option, value, size) != DKIM_STAT_OK)
        throw std::runtime_error(std::string("libopendkim: cannot set ") + what);
}

void configure(DKIM_LIB* lib, const DkimOptions& options, void* service)
{
    // Report signatures that fail to parse instead of dropping them: every signature counts.
    // (strict_headers is checked by the verifier itself, see kSingletonFields.)
    unsigned flags = DKIM_LIBFLAGS_BADSIGHANDLES;
    set_option(lib, DKIM_OPTS_FLAGS, &flags, sizeof flags, "flags");

    unsigned timeout = static_cast<unsigned>(std::max<long long>(options.dns_timeout.count(), 1));
    set_option(lib, DKIM_OPTS_TIMEOUT, &timeout, sizeof timeout, "DNS timeout");

    unsigned min_bits = options.min_key_bits;
    set_option(lib, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof min_bits, "minimum key size");

    dkim_set_prescreen(lib, prescreen);
    // A non-null service handle, or libopendkim would call its own resolver's init hook.
    dkim_dns_set_query_service(lib, service);
    dkim_dns_set_query_start(lib, dns_query_start);
    dkim_dns_set_query_cancel(lib, dns_query_cancel);
    dkim_dns_set_query_waitreply(lib, dns_query_waitreply);
    dkim_dns_set_init(lib, nullptr);
    dkim_dns_set_close(lib, nullptr);
}

}  // namespace

std::shared_ptr<DkimLibrary> DkimLibrary::create(const DkimOptions& options)
{
    std::unique_ptr<dkim_lib, Close> lib(dkim_init(nullptr, nullptr));
    if (!lib) throw std::runtime_error("libopendkim: dkim_init failed");
    auto library = std::make_shared<DkimLibrary>(Key{}, std::move(lib), options);
    configure(library->handle(), options, library.get());
    return library;
}

// ---- DkimVerifier ---------------------------------------------------------------------------

DkimVerifier::DkimVerifier(std::shared_ptr<const DkimLibrary> library, DnsResolver& resolver)
    : impl_(std::make_unique<detail::DkimMessage>(std::move(library), resolver))
{
}

DkimVerifier::~DkimVerifier() = default;
DkimVerifier::DkimVerifier(DkimVerifier&&) noexcept = default;
DkimVerifier& DkimVerifier::operator=(DkimVerifier&&) noexcept = default;

void DkimVerifier::header(std::string_view name, std::string_view value) { impl_->header(name, value); }
void DkimVerifier::end_of_headers() { impl_->end_of_headers(); }
void DkimVerifier::body(std::string_view chunk) { impl_->body(chunk); }

bool DkimVerifier::wants_body() const { return impl_->needs_body(); }

std::vector<std::string> DkimVerifier::signing_domains() const
{
    std::vector<std::string> domains;
    for (const DkimSignatureResult& tags : impl_->signature_tags)
        if (!tags.domain.empty()) domains.push_back(tags.domain);
    return domains;
}

std::vector<DkimSignatureResult> DkimVerifier::finish()
{
    if (impl_->stage == detail::DkimMessage::Stage::finished) return impl_->results;
    return impl_->finish();
}

}  // namespace ecomm

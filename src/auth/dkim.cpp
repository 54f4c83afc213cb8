// DKIM verification of one message (auth/dkim.h): the headers are held until the end of the
// header block, signed mail gets a libopendkim handle that parses its signatures, the common
// signatures have their key and header hash checked here (auth/dkim_signature_check.h) and their
// body hashed here (auth/dkim_body_hash.h), and libopendkim checks the rest. The state lives in
// detail::DkimMessage (auth/dkim_message.h); the results are made in dkim_results.cpp and the
// library handle and its DNS hooks are in dkim_library.cpp.
#include "auth/dkim.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "auth/crlf_text.h"
#include "auth/dkim_body_hash.h"
#include "auth/dkim_header_hash.h"
#include "auth/dkim_message.h"
#include "auth/dkim_signature_check.h"
#include "auth/libopendkim.h"
#include "util/ascii.h"

namespace ecomm {

namespace {

// Body bytes are staged (after LF -> CRLF) and handed to libopendkim in pieces of this size,
// so memory stays flat whatever the chunk or message size.
constexpr std::size_t kBodyStageBytes = 16 * 1024;

constexpr unsigned char kJobId[] = "ecomm-milter";

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

void detail::DkimMessage::header(std::string_view name, std::string_view value, bool space_removed)
{
    if (stage != Stage::headers) return;
    // The field as written: c=simple hashes "Subject:x" and "Subject: x" differently.
    std::string field;
    field.reserve(name.size() + 2 + value.size());
    field.assign(name);
    field += space_removed ? ": " : ":";
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

// The name as the header hash sees it: "From " (a blank before the colon) is a From: the
// signature may cover, so it counts as one.
void detail::DkimMessage::count_singleton(std::string_view name)
{
    const std::string_view hashed_name = dkim_field_name(name);
    for (std::size_t i = 0; i < kSingletonCount; ++i) {
        if (!iequals(hashed_name, kSingletonFields[i])) continue;
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

// A verdict on part of the header block would be no verdict: a field past the caller's bound (a
// second From:, the bottom-most instance of a signed field) could change it, and the strict
// header check would not have counted it. Every signature is then a permerror.
void detail::DkimMessage::header_block_incomplete()
{
    if (stage == Stage::headers) header_error = "header block too large to check whole";
}

void detail::DkimMessage::end_of_headers()
{
    if (stage != Stage::headers) return;
    if (header_error.empty() && library->options().strict_headers) header_error = header_block_error();
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
    facts.domain = libopendkim_text(dkim_sig_getdomain(sig));
    facts.selector = libopendkim_text(dkim_sig_getselector(sig));
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
                      (own->result.passed ? DKIM_SIGFLAG_PASSED : 0u) |
                      (own->result.testing_key ? DKIM_SIGFLAG_TESTKEY : 0u);
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

// ---- DkimVerifier ---------------------------------------------------------------------------

DkimVerifier::DkimVerifier(std::shared_ptr<const DkimLibrary> library, DnsResolver& resolver)
    : impl_(std::make_unique<detail::DkimMessage>(std::move(library), resolver))
{
}

DkimVerifier::~DkimVerifier() = default;
DkimVerifier::DkimVerifier(DkimVerifier&&) noexcept = default;
DkimVerifier& DkimVerifier::operator=(DkimVerifier&&) noexcept = default;

void DkimVerifier::header(std::string_view name, std::string_view value, bool space_removed)
{
    impl_->header(name, value, space_removed);
}
void DkimVerifier::end_of_headers() { impl_->end_of_headers(); }
void DkimVerifier::header_block_incomplete() { impl_->header_block_incomplete(); }
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

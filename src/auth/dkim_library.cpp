// The libopendkim library handle (DkimLibrary) and the hooks it calls back: the prescreen that
// decides which signatures libopendkim checks itself, and the DNS query service.
//
// How key look-ups reach the DnsResolver: libopendkim asks its "query service" hooks for a TXT
// record and parses the DNS reply packet itself. The hooks are set once on the shared library
// handle and know nothing of the message, so the verifier publishes itself in a thread-local
// pointer for the duration of each libopendkim call that may look up keys (libopendkim resolves
// synchronously, on the calling thread). The hook asks that verifier's resolver and writes a DNS
// response packet - header, question, TXT answers - into libopendkim's buffer
// (auth/dns_txt_reply.h).
#include <arpa/nameser.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <utility>

#include "auth/dkim.h"
#include "auth/dkim_message.h"
#include "auth/dns_txt_reply.h"
#include "auth/libopendkim.h"
#include "util/ascii.h"

namespace ecomm {

namespace {

// The verifier whose libopendkim call is running on this thread (see the file comment).
thread_local detail::DkimMessage* t_active_verifier = nullptr;

}  // namespace

detail::ActiveVerifier::ActiveVerifier(DkimMessage* message) : previous_(t_active_verifier)
{
    t_active_verifier = message;
}

detail::ActiveVerifier::~ActiveVerifier() { t_active_verifier = previous_; }

// A d= or s= value usable as DNS labels: letters, digits, '-' and '_' (seen in real selectors),
// no empty or over-long label. Anything else - "legitimate.com(.attacker.com" - could pass for
// another domain once written into an Authentication-Results header, so it never verifies.
bool detail::valid_dns_name(std::string_view name)
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

namespace {

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
        try {
            const std::string domain = detail::libopendkim_text(dkim_sig_getdomain(sig));
            const std::string selector = detail::libopendkim_text(dkim_sig_getselector(sig));
            if (detail::valid_dns_name(domain) && detail::valid_dns_name(selector)) {
                if (impl && impl->claim(sig, static_cast<std::size_t>(i))) dkim_sig_ignore(sig);
                continue;
            }
        } catch (...) {
            continue;  // out of memory: libopendkim checks the signature itself
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

}  // namespace

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

}  // namespace ecomm

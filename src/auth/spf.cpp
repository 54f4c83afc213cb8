// SPF with libspf2 over our DnsResolver: a custom libspf2 DNS layer (an SPF_dns_server_t whose
// lookup asks DnsResolver::query and builds SPF_dns_rr_t answers, as libspf2's own zone and
// resolv layers do), one libspf2 server per thread, RAII for every libspf2 handle, and the
// mapping from libspf2's results and error codes to RFC 7208 results.
#include "auth/spf.h"

extern "C" {
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spf2/spf.h>
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "util/ascii.h"
#include "util/idle_pool.h"
#include "util/no_destructor.h"

namespace ecomm {

namespace {

// Bounds on what is handed to libspf2 and back: an answer with more records than this is cut
// (libspf2 itself stops after 10 MX names), text for logs and replies is cut too.
constexpr std::size_t kMaxRecordsPerAnswer = 100;
constexpr std::size_t kMaxIdentityLength = 512;  // RFC 5321 paths are at most 256 octets
constexpr std::size_t kMaxTextLength = 512;
// RFC 7208 4.6.4's limits, counted across the whole check: 10 DNS-querying terms (include, a,
// mx, ptr, exists, redirect), 2 of them void (no such name, or no records), and the first 10
// names of a PTR answer (the rest are ignored, where libspf2 makes more than 10 a permerror).
// Each term looks up at most 10 MX or PTR names, so with the record itself and an explanation
// no legitimate check needs more look-ups than kMaxLookups: a last bound, whatever libspf2 does.
constexpr int kMaxTerms = 10;
constexpr int kMaxVoidTerms = 2;
constexpr int kMaxPtrNames = 10;
constexpr int kMaxLookups = 1 + kMaxTerms * (1 + 10) + 1;

// Used for "fail" when the domain gives no usable exp= of its own (libspf2's default points at
// openspf.org, which no longer belongs to the SPF project). "%_" is a space: see
// explanation_rr() for why not a plain one.
constexpr const char* kDefaultExplanation = "%{i}%_is%_not%_a%_permitted%_sender%_for%_%{d}";

// ---- RAII for libspf2 handles ----

struct ServerDeleter {
    void operator()(SPF_server_t* server) const { SPF_server_free(server); }
};
struct RequestDeleter {
    void operator()(SPF_request_t* request) const { SPF_request_free(request); }
};
struct ResponseDeleter {
    void operator()(SPF_response_t* response) const { SPF_response_free(response); }
};
using LayerPtr = std::unique_ptr<SPF_dns_server_t>;  // a plain struct we fill in ourselves
using ServerPtr = std::unique_ptr<SPF_server_t, ServerDeleter>;
using RequestPtr = std::unique_ptr<SPF_request_t, RequestDeleter>;
using ResponsePtr = std::unique_ptr<SPF_response_t, ResponseDeleter>;

// ---- The DNS layer ----

// What one check_spf call lends the DNS layer (hook), and what the layer saw meanwhile.
struct LookupContext {
    enum class Limit { none, terms, void_terms, lookups };

    DnsResolver* resolver = nullptr;
    bool temporary_failure = false;  // a timeout, server failure or exception in a look-up
    // RFC 7208 4.6.4 across the whole check, which libspf2 counts per include level only (a tree
    // of includes made thousands of look-ups for one message) and without void look-ups. Past a
    // limit no more look-ups are made and the result is permerror.
    int records_fetched = 0;  // the domain's own record, then one for each include: and redirect=
    int terms = 0;
    int void_terms = 0;
    int lookups = 0;
    Limit exceeded = Limit::none;
    // The names of the last MX or PTR answer not yet looked up: libspf2 asks for their
    // addresses next, as part of the same mx or ptr term.
    std::vector<std::string> pending_hosts;

    bool over_limit() const { return exceeded != Limit::none; }
    void exceed(Limit limit)
    {
        if (exceeded == Limit::none) exceeded = limit;
    }

    // Counts one look-up; false once the check has made too many (or passed another limit).
    bool may_look_up()
    {
        if (++lookups > kMaxLookups) exceed(Limit::lookups);
        return !over_limit();
    }

    // Counts the term an include:/redirect= record fetch or an address, MX or PTR look-up
    // belongs to; false for the address look-ups of an mx or ptr term's names.
    bool begins_term(std::string_view name, ns_type type)
    {
        if (type == ns_t_a || type == ns_t_aaaa) {
            const auto pending = std::find_if(pending_hosts.begin(), pending_hosts.end(),
                                              [&](const std::string& host) { return iequals(host, name); });
            if (pending != pending_hosts.end()) {
                pending_hosts.erase(pending);
                return false;
            }
        }
        pending_hosts.clear();
        if (++terms > kMaxTerms) exceed(Limit::terms);
        return true;
    }

    // What a term's own look-up answered: a void answer counts against the limit, and the
    // names of an MX or PTR answer are the term's to look up next.
    void term_answered(ns_type type, const SPF_dns_rr_t* rr)
    {
        if (!rr || rr->herrno == TRY_AGAIN) return;
        if (rr->herrno != NETDB_SUCCESS || rr->num_rr == 0) {
            if (++void_terms > kMaxVoidTerms) exceed(Limit::void_terms);
            return;
        }
        if (type != ns_t_mx && type != ns_t_ptr) return;
        for (int i = 0; i < rr->num_rr; ++i) pending_hosts.emplace_back(rr->rr[i]->mx);
    }
};

std::optional<DnsType> dns_type_for(ns_type type)
{
    switch (type) {
    case ns_t_a: return DnsType::A;
    case ns_t_aaaa: return DnsType::AAAA;
    case ns_t_mx: return DnsType::MX;
    case ns_t_ptr: return DnsType::PTR;
    case ns_t_txt: return DnsType::TXT;
    default: return std::nullopt;  // notably type SPF (99), which RFC 7208 retired
    }
}

// RFC 7208 5: a server failure is a temperror like a timeout, so both become TRY_AGAIN, the
// one h_errno libspf2 turns into temperror.
SPF_dns_stat_t herrno_for(DnsAnswer::Status status)
{
    switch (status) {
    case DnsAnswer::Status::ok: return NETDB_SUCCESS;
    case DnsAnswer::Status::nxdomain: return HOST_NOT_FOUND;
    case DnsAnswer::Status::nodata: return NO_DATA;
    case DnsAnswer::Status::timeout:
    case DnsAnswer::Status::error: return TRY_AGAIN;
    }
    return TRY_AGAIN;
}

bool append_rr_bytes(SPF_dns_rr_t* rr, const void* data, std::size_t size)
{
    const int index = rr->num_rr;
    if (SPF_dns_rr_buf_realloc(rr, index, size) != SPF_E_SUCCESS) return false;
    std::memcpy(rr->rr[index], data, size);
    rr->num_rr = index + 1;
    return true;
}

bool append_rr_text(SPF_dns_rr_t* rr, std::string_view text)
{
    std::string terminated(text);
    return append_rr_bytes(rr, terminated.c_str(), terminated.size() + 1);
}

std::string_view without_trailing_dot(std::string_view name)
{
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    return name;
}

// One record of DnsAnswer text in libspf2's binary form. Data that does not parse is skipped
// (false only when memory ran out).
bool append_record(SPF_dns_rr_t* rr, ns_type type, const std::string& text)
{
    switch (type) {
    case ns_t_a: {
        in_addr address{};
        return inet_pton(AF_INET, text.c_str(), &address) != 1 || append_rr_bytes(rr, &address, sizeof address);
    }
    case ns_t_aaaa: {
        in6_addr address{};
        return inet_pton(AF_INET6, text.c_str(), &address) != 1 || append_rr_bytes(rr, &address, sizeof address);
    }
    case ns_t_mx: {
        const std::size_t space = text.find(' ');  // "PREF HOST": libspf2 keeps only the host
        if (space == std::string::npos) return true;
        return append_rr_text(rr, without_trailing_dot(std::string_view(text).substr(space + 1)));
    }
    case ns_t_ptr: return append_rr_text(rr, without_trailing_dot(text));
    default: return append_rr_text(rr, text);  // TXT
    }
}

SPF_dns_rr_t* make_rr(SPF_dns_server_t* layer, const char* domain, ns_type type, SPF_dns_stat_t herrno)
{
    return SPF_dns_rr_new_init(layer, domain, type, 0, herrno);
}

SPF_dns_rr_t* rr_from_answer(SPF_dns_server_t* layer, const char* domain, ns_type type, const DnsAnswer& answer)
{
    SPF_dns_rr_t* rr = make_rr(layer, domain, type, herrno_for(answer.status));
    if (!rr || answer.status != DnsAnswer::Status::ok) return rr;
    const std::size_t most = type == ns_t_ptr ? kMaxPtrNames : kMaxRecordsPerAnswer;
    for (std::size_t i = 0; i < answer.records.size() && i < most; ++i) {
        if (!append_record(rr, type, answer.records[i])) {
            rr->herrno = TRY_AGAIN;  // out of memory: a temporary failure, not an empty answer
            return rr;
        }
    }
    if (rr->num_rr == 0) rr->herrno = NO_DATA;
    return rr;
}

// RFC 7208 4.8: a macro-expanded name longer than 253 octets loses labels from the left until
// it fits. Names from DNS data are never that long, so only expansions are affected.
std::string_view truncated_name(std::string_view name)
{
    while (name.size() > kMaxDnsNameLength) {
        const std::size_t dot = name.find('.');
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    return name;
}

// With get_spf answered by the layer (below), libspf2 asks lookup() for TXT only to fetch an
// explanation (SPF_request_get_exp). RFC 7208 6.2 wants the default explanation unless there is
// exactly one record of visible ASCII, and libspf2 1.2.10's macro compiler turns each space in
// an explanation into '%' (it ends literal runs at a space, then reads the space as '%'). So
// the record is handed over with its spaces written as "%_", the macro for a space, or
// withheld (nodata) so that libspf2 falls back to the default explanation.
SPF_dns_rr_t* explanation_rr(SPF_dns_server_t* layer, const char* domain, const DnsAnswer& answer)
{
    if (answer.status != DnsAnswer::Status::ok || answer.records.size() != 1)
        return make_rr(layer, domain, ns_t_txt, answer.status == DnsAnswer::Status::ok ? NO_DATA : herrno_for(answer.status));
    std::string text;
    for (const char c : answer.records.front()) {
        if (c < 0x20 || c > 0x7e) return make_rr(layer, domain, ns_t_txt, NO_DATA);
        text += c == ' ' ? std::string("%_") : std::string(1, c);
    }
    SPF_dns_rr_t* rr = make_rr(layer, domain, ns_t_txt, NETDB_SUCCESS);
    if (rr && !append_rr_text(rr, text)) rr->herrno = TRY_AGAIN;
    return rr;
}

// The layer's lookup. libspf2 aborts the process if it gets NULL, so every path returns an
// answer (only a failed allocation inside libspf2 itself can still yield NULL), and no C++
// exception may cross back into C.
SPF_dns_rr_t* layer_lookup(SPF_dns_server_t* layer, const char* domain, ns_type type, int /*should_cache*/) noexcept
{
    const char* name = domain ? domain : "";
    auto* context = static_cast<LookupContext*>(layer->hook);
    try {
        const std::optional<DnsType> dns_type = dns_type_for(type);
        if (!context || !context->resolver || !dns_type) return make_rr(layer, name, type, NO_DATA);
        const std::string_view query_name = truncated_name(name);
        // With get_spf answered by the layer, a TXT look-up is an explanation: no term of its own.
        const bool term = type != ns_t_txt && context->begins_term(query_name, type);
        if (context->over_limit()) return make_rr(layer, name, type, HOST_NOT_FOUND);
        SPF_dns_rr_t* rr = nullptr;
        // RFC 7208 4.3: names that cannot exist (an empty or over-long label) are not asked for.
        if (!is_valid_dns_name(query_name)) {
            rr = make_rr(layer, name, type, HOST_NOT_FOUND);
        } else {
            if (!context->may_look_up()) return make_rr(layer, name, type, HOST_NOT_FOUND);
            const DnsAnswer answer = context->resolver->query(query_name, *dns_type);
            if (answer.status == DnsAnswer::Status::timeout || answer.status == DnsAnswer::Status::error)
                context->temporary_failure = true;
            if (type == ns_t_txt) return explanation_rr(layer, name, answer);
            rr = rr_from_answer(layer, name, type, answer);
        }
        if (term) context->term_answered(type, rr);
        return rr;
    } catch (...) {
        if (context) context->temporary_failure = true;
        return make_rr(layer, name, type, TRY_AGAIN);
    }
}

// ---- The layer's record fetch (get_spf) ----

// libspf2's own record fetch (SPF_server_get_record) follows RFC 4408: it asks for type SPF
// first, wants "v=spf1 " with a space (so the empty record "v=spf1" is missed) and passes a
// record with a NUL byte on cut short at the NUL. The layer's get_spf hook does RFC 7208 4.4-4.5
// instead and hands the one record it selects to libspf2's compiler.
enum class RecordFetch { none, temporary, multiple, found };

bool is_spf_record(std::string_view text)
{
    constexpr std::string_view kVersion = "v=spf1";
    if (!istarts_with(text, kVersion)) return false;
    return text.size() == kVersion.size() || text[kVersion.size()] == ' ';
}

RecordFetch fetch_spf_record(LookupContext& context, const char* domain, std::string& record)
{
    if (!is_valid_dns_name(domain)) return RecordFetch::none;  // RFC 7208 4.3
    const DnsAnswer answer = context.resolver->query(domain, DnsType::TXT);
    if (answer.status == DnsAnswer::Status::timeout || answer.status == DnsAnswer::Status::error) {
        context.temporary_failure = true;
        return RecordFetch::temporary;
    }
    if (answer.status != DnsAnswer::Status::ok) return RecordFetch::none;
    int found = 0;
    for (const std::string& text : answer.records) {
        if (!is_spf_record(text)) continue;
        if (++found == 1) record = text;
    }
    return found == 0 ? RecordFetch::none : found == 1 ? RecordFetch::found : RecordFetch::multiple;
}

// Sets what SPF_server_get_record would for the same outcome: the response's result for
// "none" and "multiple", an error code for the caller (the include/redirect code makes
// SPF_E_DNS_ERROR a temperror and any other error a permerror).
SPF_errcode_t layer_get_spf(SPF_server_t* server, SPF_request_t* request, SPF_response_t* response,
                            SPF_record_t** recordp) noexcept
{
    *recordp = nullptr;
    const char* domain = request->cur_dom ? request->cur_dom : "";
    auto* context = static_cast<LookupContext*>(server->resolver->hook);
    try {
        if (!context || !context->resolver)
            return SPF_response_add_error(response, SPF_E_DNS_ERROR, "No resolver for '%s'", domain);
        if (++context->records_fetched > 1) context->begins_term(domain, ns_t_txt);
        if (context->over_limit() || !context->may_look_up())
            return SPF_response_add_error(response, SPF_E_BIG_DNS, "Too many DNS look-ups at '%s'", domain);
        std::string record;
        switch (fetch_spf_record(*context, domain, record)) {
        case RecordFetch::none:
            response->result = SPF_RESULT_NONE;
            response->reason = SPF_REASON_FAILURE;
            return SPF_response_add_error(response, SPF_E_NOT_SPF, "No SPF record for '%s'", domain);
        case RecordFetch::temporary:
            return SPF_response_add_error(response, SPF_E_DNS_ERROR, "Temporary DNS failure for '%s'", domain);
        case RecordFetch::multiple:
            response->result = SPF_RESULT_PERMERROR;
            response->reason = SPF_REASON_FAILURE;
            response->err = SPF_E_MULTIPLE_RECORDS;
            return SPF_response_add_error(response, SPF_E_MULTIPLE_RECORDS, "Multiple SPF records for '%s'", domain);
        case RecordFetch::found: break;
        }
        if (record.find('\0') != std::string::npos)
            return SPF_response_add_error(response, SPF_E_INVALID_CHAR, "NUL byte in the SPF record of '%s'", domain);
        // On failure the compiler has added its error; the caller frees *recordp.
        return SPF_record_compile(server, response, recordp, record.c_str());
    } catch (...) {
        if (context) context->temporary_failure = true;
        return SPF_response_add_error(response, SPF_E_DNS_ERROR, "Internal error fetching the record of '%s'", domain);
    }
}

// ---- One libspf2 server (and its DNS layer) per thread ----

// libspf2 prints info and debug lines to stdout/stderr by default, which would corrupt -t's
// JSON output and the daemon's terminal; what matters reaches us through the response.
void silence_libspf2_logging()
{
    static std::once_flag once;
    std::call_once(once, [] {
        SPF_info_handler = nullptr;
        SPF_debug_handler = nullptr;
        SPF_warning_handler = nullptr;
    });
}

class Engine {
public:
    // nullptr when libspf2 could not be set up (out of memory).
    static std::unique_ptr<Engine> create()
    {
        silence_libspf2_logging();
        std::unique_ptr<Engine> engine;
        try {
            engine = std::make_unique<Engine>();
            engine->layer_ = std::make_unique<SPF_dns_server_t>();
        } catch (const std::bad_alloc&) {
            return nullptr;
        }
        SPF_dns_server_t& layer = *engine->layer_;
        layer.destroy = nullptr;  // ours to free (after the server): SPF_server_free leaves it alone
        layer.lookup = layer_lookup;
        layer.get_spf = layer_get_spf;
        layer.name = "ecomm";
        engine->server_.reset(SPF_server_new_dns(engine->layer_.get(), 0));
        if (!engine->server_) return nullptr;
        SPF_response_t* messages = nullptr;
        SPF_server_set_explanation(engine->server_.get(), kDefaultExplanation, &messages);
        ResponsePtr discard(messages);  // a failure just keeps libspf2's default
        return engine;
    }

    SPF_server_t* server() { return server_.get(); }
    SPF_dns_server_t* layer() { return layer_.get(); }

    Engine() = default;

private:
    LayerPtr layer_;    // declared first so that it outlives server_, which points to it
    ServerPtr server_;
};

// Idle engines, shared by all threads. libmilter runs each connection on a thread of its own,
// so an engine per thread was built again for nearly every message (1% of the CPU on 5 KB
// mail). An engine is used by one evaluation at a time: a lease takes it out of the pool.
using EnginePool = IdlePool<Engine, 64>;

EnginePool& engine_pool()
{
    static NoDestructor<EnginePool> pool;  // session threads may still check SPF at exit
    return pool.get();
}

// An engine from the pool for one evaluation, returned when done.
class EngineLease {
public:
    EngineLease() : engine_(engine_pool().take())
    {
        if (!engine_) engine_ = Engine::create();  // nullptr when libspf2 cannot be set up
    }
    ~EngineLease()
    {
        if (engine_) engine_pool().give_back(std::move(engine_));
    }
    EngineLease(const EngineLease&) = delete;
    EngineLease& operator=(const EngineLease&) = delete;

    Engine* get() const { return engine_.get(); }

private:
    std::unique_ptr<Engine> engine_;
};

// Lends the caller's resolver to the engine's DNS layer for one evaluation.
class Binding {
public:
    Binding(Engine& engine, LookupContext& context) : engine_(engine)
    {
        engine_.layer()->hook = &context;
    }
    ~Binding()
    {
        engine_.layer()->hook = nullptr;
    }
    Binding(const Binding&) = delete;
    Binding& operator=(const Binding&) = delete;

private:
    Engine& engine_;
};

// ---- Identity and result helpers ----

std::string printable(const char* text)
{
    std::string out;
    for (const char* p = text; p && *p && out.size() < kMaxTextLength; ++p) {
        const unsigned char c = static_cast<unsigned char>(*p);
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    return out;
}

std::string_view trimmed(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::string_view without_brackets(std::string_view address)
{
    address = trimmed(address);
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
        address = address.substr(1, address.size() - 2);
    return address;
}

// RFC 7208 4.3: only a multi-label name with valid labels can have an SPF record.
bool is_checkable_domain(std::string_view domain)
{
    if (!is_valid_dns_name(domain) || domain.find_first_of("[]") != std::string_view::npos) return false;
    return without_trailing_dot(domain).find('.') != std::string_view::npos;
}

std::string domain_part(std::string_view address)
{
    const std::size_t at = address.rfind('@');
    return std::string(at == std::string_view::npos ? address : address.substr(at + 1));
}

SpfResult with(SpfResult result, SpfResult::Code code, std::string comment)
{
    result.code = code;
    result.comment = std::move(comment);
    return result;
}

// True when libspf2 reported an error other than "no SPF record", i.e. a record was found but
// did not compile. libspf2 returns SPF_E_NOT_SPF for both.
bool has_compile_errors(SPF_response_t* response)
{
    const int count = SPF_response_messages(response);
    for (int i = 0; i < count; ++i) {
        SPF_error_t* message = SPF_response_message(response, i);
        if (message && SPF_error_errorp(message) && SPF_error_code(message) != SPF_E_NOT_SPF) return true;
    }
    return false;
}

std::string first_error(SPF_response_t* response)
{
    const int count = SPF_response_messages(response);
    for (int i = 0; i < count; ++i) {
        SPF_error_t* message = SPF_response_message(response, i);
        if (message && SPF_error_errorp(message)) return printable(SPF_error_message(message));
    }
    return {};
}

// libspf2 leaves the result unset (SPF_RESULT_INVALID) when the domain's own record could not
// be fetched or compiled; the error code then says which.
SpfResult::Code unset_result_code(SPF_errcode_t error, const LookupContext& context, SPF_response_t* response)
{
    if (error == SPF_E_DNS_ERROR || error == SPF_E_NO_MEMORY || context.temporary_failure)
        return SpfResult::Code::temperror;
    if ((error == SPF_E_NOT_SPF || error == SPF_E_SUCCESS) && !has_compile_errors(response))
        return SpfResult::Code::none;
    return SpfResult::Code::permerror;
}

SpfResult::Code code_for(SPF_result_t result)
{
    switch (result) {
    case SPF_RESULT_PASS: return SpfResult::Code::pass;
    case SPF_RESULT_FAIL: return SpfResult::Code::fail;
    case SPF_RESULT_SOFTFAIL: return SpfResult::Code::softfail;
    case SPF_RESULT_NEUTRAL: return SpfResult::Code::neutral;
    case SPF_RESULT_NONE: return SpfResult::Code::none;
    case SPF_RESULT_TEMPERROR: return SpfResult::Code::temperror;
    case SPF_RESULT_PERMERROR: return SpfResult::Code::permerror;
    default: return SpfResult::Code::permerror;
    }
}

std::string comment_for_unset(SpfResult::Code code, const std::string& domain, SPF_response_t* response)
{
    switch (code) {
    case SpfResult::Code::temperror: return "temporary DNS failure looking up the SPF record of " + domain;
    case SpfResult::Code::none: return domain + " does not publish an SPF record";
    default: {
        const std::string why = first_error(response);
        return "the SPF record of " + domain + " is invalid" + (why.empty() ? "" : ": " + why);
    }
    }
}

void set_client(SPF_request_t* request, const IpAddress& client)
{
    const auto& bytes = client.bytes();
    if (client.is_v4()) {
        in_addr address{};
        std::memcpy(&address, bytes.data() + 12, 4);
        SPF_request_set_ipv4(request, address);
    } else {
        in6_addr address{};
        std::memcpy(&address, bytes.data(), 16);
        SPF_request_set_ipv6(request, address);
    }
}

std::string over_limit_comment(LookupContext::Limit limit)
{
    switch (limit) {
    case LookupContext::Limit::terms:
        return "more than " + std::to_string(kMaxTerms) + " DNS-querying terms (RFC 7208 4.6.4)";
    case LookupContext::Limit::void_terms:
        return "more than " + std::to_string(kMaxVoidTerms) + " void look-ups (RFC 7208 4.6.4)";
    default: return "more than " + std::to_string(kMaxLookups) + " DNS look-ups (RFC 7208 4.6.4)";
    }
}

// Runs libspf2 for a checkable identity on a bound engine.
SpfResult evaluate(Engine& engine, LookupContext& context, const IpAddress& client, const std::string& helo,
                   const std::string& sender, SpfResult result)
{
    RequestPtr request(SPF_request_new(engine.server()));
    if (!request) return with(std::move(result), SpfResult::Code::temperror, "cannot create an SPF request");
    set_client(request.get(), client);
    // HELO first: with no MAIL FROM set yet, libspf2 makes the sender postmaster@HELO.
    if ((!helo.empty() && SPF_request_set_helo_dom(request.get(), helo.c_str()) != SPF_E_SUCCESS) ||
        (!sender.empty() && SPF_request_set_env_from(request.get(), sender.c_str()) != SPF_E_SUCCESS))
        return with(std::move(result), SpfResult::Code::temperror, "out of memory");

    SPF_response_t* raw = nullptr;
    const SPF_errcode_t error = SPF_request_query_mailfrom(request.get(), &raw);
    ResponsePtr response(raw);
    if (!response) return with(std::move(result), SpfResult::Code::temperror, "out of memory");

    if (context.over_limit())
        return with(std::move(result), SpfResult::Code::permerror, over_limit_comment(context.exceeded));
    const SPF_result_t spf_result = SPF_response_result(response.get());
    if (spf_result == SPF_RESULT_INVALID) {
        result.code = unset_result_code(error, context, response.get());
        result.comment = comment_for_unset(result.code, result.domain, response.get());
        return result;
    }
    result.code = code_for(spf_result);
    result.comment = printable(SPF_response_get_header_comment(response.get()));
    if (result.code == SpfResult::Code::fail)
        result.explanation = printable(SPF_response_get_explanation(response.get()));
    return result;
}

}  // namespace

const char* to_string(SpfResult::Code code)
{
    switch (code) {
    case SpfResult::Code::none: return "none";
    case SpfResult::Code::neutral: return "neutral";
    case SpfResult::Code::pass: return "pass";
    case SpfResult::Code::fail: return "fail";
    case SpfResult::Code::softfail: return "softfail";
    case SpfResult::Code::temperror: return "temperror";
    case SpfResult::Code::permerror: return "permerror";
    }
    return "permerror";
}

SpfResult check_spf(DnsResolver& resolver, const IpAddress& client, std::string_view helo,
                    std::string_view mail_from)
{
    try {
        SpfResult result;
        const std::string helo_name(trimmed(helo));
        const std::string_view sender = without_brackets(mail_from);
        result.helo_identity = sender.empty();
        const std::string domain = result.helo_identity ? helo_name : domain_part(sender);
        result.domain = printable(domain.c_str());
        if (helo_name.size() > kMaxIdentityLength || sender.size() > kMaxIdentityLength)
            return with(std::move(result), SpfResult::Code::none, "identity too long to check");
        if (!is_checkable_domain(domain)) {
            std::string why = "'" + result.domain + "' is not a domain that can publish SPF";
            return with(std::move(result), SpfResult::Code::none, std::move(why));
        }

        const EngineLease lease;
        Engine* engine = lease.get();
        if (!engine) return with(std::move(result), SpfResult::Code::temperror, "cannot set up libspf2");

        LookupContext context;
        context.resolver = &resolver;
        const Binding binding(*engine, context);
        return evaluate(*engine, context, client, helo_name, std::string(sender), std::move(result));
    } catch (...) {
        SpfResult failed;
        failed.code = SpfResult::Code::temperror;
        failed.comment = "internal error evaluating SPF";
        return failed;
    }
}

}  // namespace ecomm

// libmilter callbacks as trampolines into Session; see glue.h for the contract.
#include "milter/glue.h"

#include <libmilter/mfapi.h>

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/decision_log.h"
#include "core/logger.h"
#include "core/session.h"
#include "milter/apply.h"
#include "milter/context.h"
#include "policy/reply.h"

namespace ecomm {

namespace {

// Set once by register_milter() before smfi_main() starts any thread; only read afterwards.
SnapshotHolder* g_holder = nullptr;

// libmilter's API takes char* for strings it only reads.
char* c_arg(const std::string& text) { return const_cast<char*>(text.c_str()); }
char* c_arg(const char* text) { return const_cast<char*>(text); }

// The MilterContext seam over the real smfi_* calls of one message.
class SmfiContext final : public MilterContext {
public:
    explicit SmfiContext(SMFICTX* ctx) : ctx_(ctx) {}

    bool add_header(const std::string& name, const std::string& value) override
    {
        return smfi_addheader(ctx_, c_arg(name), c_arg(value)) == MI_SUCCESS;
    }
    bool change_header(const std::string& name, int index, const std::string& value) override
    {
        return smfi_chgheader(ctx_, c_arg(name), index, c_arg(value)) == MI_SUCCESS;
    }
    bool insert_header(int index, const std::string& name, const std::string& value) override
    {
        return smfi_insheader(ctx_, index, c_arg(name), c_arg(value)) == MI_SUCCESS;
    }
    bool remove_header(const std::string& name, int index) override
    {
        return smfi_chgheader(ctx_, c_arg(name), index, nullptr) == MI_SUCCESS;
    }
    bool set_reply(const std::string& code, const std::string& enhanced, const std::string& text) override
    {
        return smfi_setreply(ctx_, c_arg(code), enhanced.empty() ? nullptr : c_arg(enhanced), c_arg(text)) ==
               MI_SUCCESS;
    }
    bool quarantine(const std::string& reason) override
    {
        return smfi_quarantine(ctx_, c_arg(reason)) == MI_SUCCESS;
    }

private:
    SMFICTX* ctx_;
};

// What libmilter keeps for one connection. In stages negotiated without a reply (SMFIP_NR_*)
// an internal error cannot be answered where it happens: it is remembered here and answered at
// end of message with the on_error action.
struct Connection {
    std::unique_ptr<Session> session;
    bool connection_failed = false;  // HELO: every message of the connection fails
    bool message_failed = false;     // a stage of the current message; cleared at MAIL FROM
    // libmilter allows smfi_progress in xxfi_eom only: an MTA reading another stage's reply
    // need not expect the packet (Sendmail's milter.c takes an unknown reply for an error and
    // fails the message). DKIM keys looked up as the headers end, in the body stage, go without
    // it, each within dns_timeout.
    bool at_end_of_message = false;
    // As negotiated with the MTA (SMFIP_HDR_LEADSPC), for as long as libmilter keeps the context.
    HeaderValueForm header_values = HeaderValueForm::space_removed;
};

// Sets flag for the scope, clears it on the way out, exception or not.
class ScopedFlag {
public:
    explicit ScopedFlag(bool& flag) : flag_(flag) { flag_ = true; }
    ~ScopedFlag() { flag_ = false; }
    ScopedFlag(const ScopedFlag&) = delete;
    ScopedFlag& operator=(const ScopedFlag&) = delete;

private:
    bool& flag_;
};

// Set by register_milter() before smfi_main(): the stages negotiated without a reply (SMFIP_NR_*).
unsigned long g_quiet_stages = 0;

Connection* connection_of(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

Session* session_of(SMFICTX* ctx)
{
    Connection* connection = connection_of(ctx);
    return connection != nullptr ? connection->session.get() : nullptr;
}

// Every event after connect needs the session; its absence (connect failed and the MTA went on
// anyway) is an internal error like any other.
Session& require_session(SMFICTX* ctx)
{
    Session* session = session_of(ctx);
    if (session == nullptr) throw std::runtime_error("no session for this connection");
    return *session;
}

// Takes the connection back from libmilter's context: the returned pointer owns it again.
std::unique_ptr<Connection> take_connection(SMFICTX* ctx)
{
    std::unique_ptr<Connection> connection(connection_of(ctx));
    if (connection) smfi_setpriv(ctx, nullptr);
    return connection;
}

// The connection's own snapshot decides; before a session exists, the current one does.
Action on_error_action(SMFICTX* ctx) noexcept
{
    if (const Session* session = session_of(ctx)) return session->snapshot().config.on_error;
    if (g_holder != nullptr)
        if (const auto snapshot = g_holder->current()) return snapshot->config.on_error;
    return Action::tempfail;
}

void log_internal_error(const char* callback, const char* what) noexcept
{
    try {
        log::error(std::string("internal error in ") + callback + ": " + what);
    } catch (...) {
        // Out of memory while logging: the status returned below still tells the MTA.
    }
}

// The configured failure answer: fail closed (tempfail) by default, or open (accept), or reject.
sfsistat error_answer(SMFICTX* ctx) noexcept
{
    const Action action = on_error_action(ctx);
    if (action != Action::reject && action != Action::tempfail) return SMFIS_ACCEPT;
    const Reply reply = internal_error_reply(action);
    smfi_setreply(ctx, c_arg(reply.code), c_arg(reply.enhanced), c_arg(reply.text));
    return action == Action::reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

sfsistat internal_error(SMFICTX* ctx, const char* callback, const char* what) noexcept
{
    log_internal_error(callback, what);
    return error_answer(ctx);
}

// Runs body and turns any exception into the on_error answer: nothing crosses into libmilter.
template <typename Body>
sfsistat guarded(SMFICTX* ctx, const char* callback, Body&& body) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        return internal_error(ctx, callback, e.what());
    } catch (...) {
        return internal_error(ctx, callback, "unknown exception");
    }
}

// For the stages before end of message, which only ever continue. Negotiated without a reply
// (stage, an SMFIP_NR_* bit, in g_quiet_stages) they send none at all: a failure is logged and
// remembered, and end of message answers it.
template <typename Body>
sfsistat quiet_stage(SMFICTX* ctx, const char* callback, unsigned long stage, bool whole_connection, Body&& body) noexcept
{
    if ((g_quiet_stages & stage) == 0) {
        return guarded(ctx, callback, [&] {
            body();
            return SMFIS_CONTINUE;
        });
    }
    try {
        body();
        return SMFIS_NOREPLY;
    } catch (const std::exception& e) {
        log_internal_error(callback, e.what());
    } catch (...) {
        log_internal_error(callback, "unknown exception");
    }
    if (Connection* connection = connection_of(ctx))
        (whole_connection ? connection->connection_failed : connection->message_failed) = true;
    return SMFIS_NOREPLY;  // without a connection, end of message finds no session and fails
}

// For abort and close: the MTA ignores their status, so a failure is only logged.
template <typename Body>
sfsistat logged(const char* callback, Body&& body) noexcept
{
    try {
        body();
    } catch (const std::exception& e) {
        log_internal_error(callback, e.what());
    } catch (...) {
        log_internal_error(callback, "unknown exception");
    }
    return SMFIS_CONTINUE;
}

std::string symbol(SMFICTX* ctx, const char* name)
{
    const char* value = smfi_getsymval(ctx, c_arg(name));
    return value != nullptr ? value : "";
}

sfsistat to_sfsistat(MilterStatus status)
{
    switch (status) {
    case MilterStatus::continue_: return SMFIS_CONTINUE;
    case MilterStatus::accept: return SMFIS_ACCEPT;
    case MilterStatus::reject: return SMFIS_REJECT;
    case MilterStatus::tempfail: return SMFIS_TEMPFAIL;
    case MilterStatus::discard: return SMFIS_DISCARD;
    }
    return SMFIS_TEMPFAIL;
}

// One line per decision; accepts are quiet when log_accepts is off, but a monitor-mode message
// that would have been refused is never quiet.
void log_decision(const Verdict& verdict, const Session& session)
{
    const MainConfig& config = session.snapshot().config;
    const bool plain_accept = verdict.action == Action::accept && verdict.would_be == Action::accept;
    if (plain_accept && !config.log_accepts) return;
    const std::string line = format_decision(verdict, session.facts(), config.monitor);
    if (plain_accept)
        log::info(line);
    else
        log::notice(line);
    const MessageFacts& facts = session.facts();
    if (facts.audience && facts.audience->first_crossing)
        log::warning(format_campaign_crossing(verdict, facts, config.bulk_threshold));
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* address)
{
    // Connect always replies: the MTA waits for it, so the connection's snapshot is the one
    // current when the SMTP client connected, not when the MTA got round to its first message.
    return guarded(ctx, "connect", [&] {
        // What negotiation left, or nothing: a context reused after QUIT_NC has had close called,
        // and its header form, lost with it, falls back to the default (as OpenDKIM's does).
        const std::unique_ptr<Connection> negotiated = take_connection(ctx);
        auto connection = std::make_unique<Connection>();
        if (negotiated) connection->header_values = negotiated->header_values;
        auto snapshot = g_holder != nullptr ? g_holder->current() : nullptr;
        if (!snapshot) throw std::runtime_error("no configuration loaded");
        connection->session = std::make_unique<Session>(std::move(snapshot));
        Session& session = *connection->session;
        // Slow DNS (SPF, DKIM keys) must not make the MTA give up on us: tell it we are alive.
        session.set_dns_progress([ctx, self = connection.get()] {
            if (self->at_end_of_message) smfi_progress(ctx);
        });
        session.connect(hostname != nullptr ? hostname : "unknown",
                        address != nullptr ? IpAddress::from_sockaddr(address) : std::nullopt);
        if (smfi_setpriv(ctx, connection.get()) != MI_SUCCESS) throw std::runtime_error("smfi_setpriv failed");
        connection.release();  // owned through the context now; on_close takes it back
        return SMFIS_CONTINUE;
    });
}

sfsistat on_helo(SMFICTX* ctx, char* name)
{
    return quiet_stage(ctx, "helo", SMFIP_NR_HELO, true, [&] { require_session(ctx).helo(name != nullptr ? name : ""); });
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv)
{
    if (Connection* connection = connection_of(ctx)) connection->message_failed = false;  // a new message
    return quiet_stage(ctx, "envfrom", SMFIP_NR_MAIL, false, [&] {
        Session& session = require_session(ctx);
        const char* argument = argv != nullptr && argv[0] != nullptr ? argv[0] : "";
        session.mail_from(argument, symbol(ctx, "{auth_authen}"));
    });
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv)
{
    return quiet_stage(ctx, "envrcpt", SMFIP_NR_RCPT, false, [&] {
        const char* argument = argv != nullptr && argv[0] != nullptr ? argv[0] : "";
        require_session(ctx).recipient(argument);
    });
}

sfsistat on_data(SMFICTX* ctx)
{
    return quiet_stage(ctx, "data", SMFIP_NR_DATA, false, [&] { require_session(ctx); });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value)
{
    return quiet_stage(ctx, "header", SMFIP_NR_HDR, false, [&] {
        Session& session = require_session(ctx);
        session.header(name != nullptr ? name : "", value != nullptr ? value : "", connection_of(ctx)->header_values);
    });
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t length)
{
    return quiet_stage(ctx, "body", SMFIP_NR_BODY, false, [&] {
        Session& session = require_session(ctx);
        if (chunk != nullptr) session.body(std::string_view(reinterpret_cast<const char*>(chunk), length));
    });
}

sfsistat on_eom(SMFICTX* ctx)
{
    if (Connection* connection = connection_of(ctx);
        connection != nullptr && (connection->connection_failed || connection->message_failed)) {
        connection->message_failed = false;
        return error_answer(ctx);  // the failure was logged by the stage it happened in
    }
    return guarded(ctx, "eom", [&] {
        Session& session = require_session(ctx);
        const ScopedFlag at_end_of_message(connection_of(ctx)->at_end_of_message);
        const Verdict verdict = session.end_of_message(symbol(ctx, "i"), std::chrono::system_clock::now());
        log_decision(verdict, session);
        SmfiContext context(ctx);
        const ApplyResult result = apply_verdict(verdict, context, connection_of(ctx)->header_values);
        if (!result.ok) return internal_error(ctx, "eom", result.error.c_str());
        return to_sfsistat(result.status);
    });
}

sfsistat on_abort(SMFICTX* ctx)
{
    return logged("abort", [&] {
        if (Connection* connection = connection_of(ctx)) connection->message_failed = false;
        if (Session* session = session_of(ctx)) session->abort_message();
    });
}

sfsistat on_close(SMFICTX* ctx)
{
    return logged("close", [&] { take_connection(ctx); });
}

// The stages after connect that only ever continue. Without a reply for them the MTA streams a
// message's commands and waits only at end of message, and at DATA over TCP (libmilter answers
// "continue" itself when the MTA lacks the feature). Connect keeps its reply: see on_connect.
constexpr unsigned long kNoReplyStages = SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                                         SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;

unsigned long quiet_stage_bits(QuietStages quiet)
{
    switch (quiet) {
    case QuietStages::none: return 0;
    case QuietStages::all: return kNoReplyStages;
    case QuietStages::all_but_data: return kNoReplyStages & ~static_cast<unsigned long>(SMFIP_NR_DATA);
    }
    return 0;
}

constexpr unsigned long kActions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;

// Keeps, until connect, that header values come as written. False when it cannot be kept: the
// milter then does without SMFIP_HDR_LEADSPC.
bool keep_values_as_written(SMFICTX* ctx) noexcept
{
    try {
        take_connection(ctx);  // none before negotiation; nothing leaks if there were
        auto connection = std::make_unique<Connection>();
        connection->header_values = HeaderValueForm::as_written;
        if (smfi_setpriv(ctx, connection.get()) != MI_SUCCESS) return false;
        connection.release();  // owned through the context; on_connect or on_close takes it
        return true;
    } catch (...) {
        return false;
    }
}

// *steps arrives holding libmilter's own choice (skip the stages without a callback). Header
// values are asked for as written whenever the MTA offers it (Postfix and Sendmail 8.14 and
// later), as OpenDKIM does: DKIM's simple canonicalisation needs "Subject:x" and "Subject:<TAB>x"
// as they are, and an MTA left to strip a SP cannot say whether there was one.
sfsistat on_negotiate(SMFICTX* ctx, unsigned long, unsigned long offered_steps, unsigned long, unsigned long,
                      unsigned long* actions, unsigned long* steps, unsigned long*, unsigned long*)
{
    *actions = kActions;
    *steps |= g_quiet_stages;
    if ((offered_steps & SMFIP_HDR_LEADSPC) != 0 && keep_values_as_written(ctx)) *steps |= SMFIP_HDR_LEADSPC;
    return SMFIS_CONTINUE;
}

}  // namespace

bool register_milter(SnapshotHolder& holder, QuietStages quiet)
{
    g_holder = &holder;
    g_quiet_stages = quiet_stage_bits(quiet);
    smfiDesc description{};
    description.xxfi_name = c_arg("ecomm-milter");
    description.xxfi_version = SMFI_VERSION;
    description.xxfi_flags = kActions;
    description.xxfi_connect = on_connect;
    description.xxfi_helo = on_helo;
    description.xxfi_envfrom = on_envfrom;
    description.xxfi_envrcpt = on_envrcpt;
    description.xxfi_header = on_header;
    description.xxfi_body = on_body;
    description.xxfi_eom = on_eom;
    description.xxfi_abort = on_abort;
    description.xxfi_close = on_close;
    description.xxfi_data = on_data;
    // xxfi_eoh and xxfi_unknown stay null: see glue.h.
    description.xxfi_negotiate = on_negotiate;
    return smfi_register(description) == MI_SUCCESS;
}

}  // namespace ecomm

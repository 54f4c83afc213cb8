// Applies a Verdict through the MilterContext seam; see apply.h.
#include "milter/apply.h"

namespace ecomm {

namespace {

ApplyResult failed(MilterStatus status, std::string what)
{
    return ApplyResult{status, false, std::move(what)};
}

// A header value as the MTA is to take it. With SMFIP_HDR_LEADSPC the MTA writes "Name:" and the
// value, with no space of its own between them. An empty change is left empty: the MTA reads it
// as a removal.
std::string outgoing_value(const std::string& value, HeaderValueForm form, bool change)
{
    if (form == HeaderValueForm::space_removed || (change && value.empty())) return value;
    return " " + value;
}

// The header edits, then the Subject change, in the order the pipeline queued them. Returns the
// failed call's description, or an empty string when every call succeeded.
std::string apply_edits(const Verdict& verdict, MilterContext& context, HeaderValueForm form)
{
    for (const HeaderEdit& edit : verdict.edits) {
        const std::string where = edit.name + "[" + std::to_string(edit.index) + "]";
        switch (edit.kind) {
        case HeaderEdit::Kind::add:
            if (!context.add_header(edit.name, outgoing_value(edit.value, form, false)))
                return "add header " + edit.name + " failed";
            break;
        case HeaderEdit::Kind::insert:
            if (!context.insert_header(edit.index, edit.name, outgoing_value(edit.value, form, false)))
                return "insert header " + where + " failed";
            break;
        case HeaderEdit::Kind::change:
            if (!context.change_header(edit.name, edit.index, outgoing_value(edit.value, form, true)))
                return "change header " + where + " failed";
            break;
        case HeaderEdit::Kind::remove:
            if (!context.remove_header(edit.name, edit.index)) return "remove header " + where + " failed";
            break;
        }
    }
    // Index 1 changes the first Subject; libmilter adds the header when there is none.
    if (verdict.new_subject && !context.change_header("Subject", 1, outgoing_value(*verdict.new_subject, form, true)))
        return "change header Subject failed";
    return {};
}

// smfi_quarantine refuses an empty reason; the MTA shows it to the postmaster in the queue.
std::string quarantine_reason(const Verdict& verdict)
{
    if (!verdict.quarantine_reason.empty()) return verdict.quarantine_reason;
    if (!verdict.deciding_rule.empty()) return "eComm policy: " + verdict.deciding_rule;
    return "eComm policy";
}

// A reject or tempfail: the reply (when the pipeline made one) and nothing else, since the
// message does not go on.
ApplyResult refuse(const Verdict& verdict, MilterContext& context, MilterStatus status)
{
    if (verdict.reply) {
        const Reply& reply = *verdict.reply;
        if (!context.set_reply(reply.code, reply.enhanced, escape_reply_text(reply.text)))
            return failed(status, "set reply \"" + reply.to_string() + "\" failed");
    }
    return ApplyResult{status, true, {}};
}

}  // namespace

std::string_view to_string(MilterStatus status)
{
    switch (status) {
    case MilterStatus::continue_: return "continue";
    case MilterStatus::accept: return "accept";
    case MilterStatus::reject: return "reject";
    case MilterStatus::tempfail: return "tempfail";
    case MilterStatus::discard: return "discard";
    }
    return "unknown";
}

std::string escape_reply_text(std::string_view text)
{
    std::string escaped;
    escaped.reserve(text.size() + 8);
    for (const char c : text) {
        escaped += c;
        if (c == '%') escaped += '%';
    }
    return escaped;
}

ApplyResult apply_verdict(const Verdict& verdict, MilterContext& context, HeaderValueForm form)
{
    switch (verdict.action) {
    case Action::reject:
        return refuse(verdict, context, MilterStatus::reject);
    case Action::tempfail:
        return refuse(verdict, context, MilterStatus::tempfail);
    case Action::discard:
        // The message is dropped silently: edits would be wasted on it.
        return ApplyResult{MilterStatus::discard, true, {}};
    case Action::quarantine: {
        // Edit first so that the held copy shows why it was held when a postmaster reviews it.
        if (std::string error = apply_edits(verdict, context, form); !error.empty())
            return failed(MilterStatus::accept, std::move(error));
        if (!context.quarantine(quarantine_reason(verdict)))
            return failed(MilterStatus::accept, "quarantine failed");
        return ApplyResult{MilterStatus::accept, true, {}};
    }
    case Action::accept:
    case Action::log:
    case Action::tag:
    case Action::junk:
        break;
    }
    if (std::string error = apply_edits(verdict, context, form); !error.empty())
        return failed(MilterStatus::accept, std::move(error));
    return ApplyResult{MilterStatus::accept, true, {}};
}

}  // namespace ecomm

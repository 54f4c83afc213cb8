// Turns a Verdict into what libmilter is told at end of message: the SMTP reply, the quarantine,
// the header edits, and which status the callback returns. It works through MilterContext only
// (no sfsistat here), so tests drive it with a recording fake and the glue maps the status to
// SMFIS_*. The '%' doubling that smfi_setreply needs happens here and nowhere else.
#pragma once
#include <string>
#include <string_view>

#include "mail/header_value.h"
#include "milter/context.h"
#include "policy/verdict.h"

namespace ecomm {

// What the end-of-message callback returns; the glue maps it one to one onto SMFIS_*.
enum class MilterStatus { continue_, accept, reject, tempfail, discard };

std::string_view to_string(MilterStatus status);

struct ApplyResult {
    MilterStatus status = MilterStatus::accept;
    bool ok = true;       // false: a context call failed; the configured on_error action applies
    std::string error;    // which call failed, for the log (empty when ok)
};

// Performs the verdict's reply, quarantine and edits on context, in order, and stops at the first
// call that fails. Never throws on a failed call (it reports it in the result). form: how the MTA
// takes header values (mail/header_value.h); as_written, each value sent starts with the space
// the MTA would otherwise insert after the colon, so the delivered fields read the same.
ApplyResult apply_verdict(const Verdict& verdict, MilterContext& context,
                          HeaderValueForm form = HeaderValueForm::space_removed);

// smfi_setreply reads the text as a printf-style format: every '%' must be doubled.
std::string escape_reply_text(std::string_view text);

}  // namespace ecomm

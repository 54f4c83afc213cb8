// The libmilter callbacks: thin trampolines from each xxfi_* event to the connection's Session.
//
// Each connection owns one Session (its private data), created at connect with the snapshot
// current at that moment and freed at close. Every callback catches every exception and answers
// with the configured on_error action (tempfail 451 4.3.0, reject 550 5.3.0, or accept), logging
// "internal error in <callback>: <what>". Header edits and the reply happen only at end of
// message, through apply_verdict().
//
// Every stage before end of message only continues. Those after connect can be negotiated
// without replies (SMFIP_NR_HELO ... SMFIP_NR_BODY, through xxfi_negotiate): the MTA streams a
// message's commands and waits once, at end of message, which saves a round trip per header and
// stage. Connect still replies, so that a connection's snapshot is the one current when the
// client connected. An internal error in a stage without a reply is logged where it happens and
// answered with the on_error action at end of message (an error at HELO fails every message of
// the connection). Without no-reply stages every stage replies. Over TCP DATA keeps its reply (QuietStages::all_but_data): Postfix sends the
// commands before the message in one write and the message in a second, which Nagle's
// algorithm holds until the first is acknowledged, and a milter host that has nothing to send
// delays that ACK by ~40 ms; the reply to DATA carries it (docs/BENCHMARKS.md, "Replies over
// TCP"). xxfi_data is registered so that DATA is a stage of its own; xxfi_unknown stays null,
// so libmilter asks the MTA to skip unknown commands, and so does xxfi_eoh: the MTA sends no
// end-of-headers command (Postfix not its macros either), and the session ends the headers at
// the first body chunk or at end of message. Two commands fewer a message for the milter to
// poll for and read.
//
// xxfi_negotiate also asks for header values as written (SMFIP_HDR_LEADSPC) when the MTA offers
// it, for DKIM (mail/header_value.h): the session is handed each value with the connection's
// HeaderValueForm and reads it as before, and the header edits carry their own leading space.
// An MTA that does not offer it strips one SP and inserts one, as before.
// A context reused after SMFIC_QUIT_NC starts from the default form (close dropped what was
// negotiated), as OpenDKIM's does. It is rare: Postfix never sends SMFIC_QUIT_NC, and libmilter
// 8.17 takes it only after an end of message answered "continue" or after an unknown command;
// after this milter's final answers (accept, reject, tempfail) it drops it, and the connect after
// it, without a reply (seen with a raw-protocol client under strace, 2026-12-08).
#pragma once
#include "config/snapshot.h"

namespace ecomm {

// The stages after connect negotiated without a reply.
enum class QuietStages {
    none,          // every stage replies
    all,           // HELO, MAIL FROM, RCPT TO, DATA, each header, end of headers, each body chunk
    all_but_data,  // the same but DATA, which replies (for TCP: see above)
};

// [milter] no_reply for the socket: the stages after connect go without replies on any socket
// (always), on a unix socket only (unix), or never; over TCP DATA still replies.
inline QuietStages quiet_stages(MainConfig::NoReply choice, bool unix_socket)
{
    const QuietStages quiet = unix_socket ? QuietStages::all : QuietStages::all_but_data;
    switch (choice) {
    case MainConfig::NoReply::unix_only: return unix_socket ? quiet : QuietStages::none;
    case MainConfig::NoReply::always: return quiet;
    case MainConfig::NoReply::never: return QuietStages::none;
    }
    return QuietStages::none;
}

// Registers the callbacks with libmilter (smfi_register). Connections take their snapshot from
// holder, which must outlive smfi_main(). Returns false when libmilter refuses.
bool register_milter(SnapshotHolder& holder, QuietStages quiet);

}  // namespace ecomm

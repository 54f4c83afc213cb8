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
// stage. [milter] no_reply chooses: always (the default), on a unix socket only, or never.
// Connect still replies, so that a connection's snapshot is the one current when the client
// connected. An internal error in a stage without a reply is logged where it happens and
// answered with the on_error action at end of message (an error at HELO fails every message of
// the connection). Without no-reply stages no xxfi_negotiate is registered and every stage
// replies. Over TCP, an MTA that writes several small commands without reading a reply between
// them (a macro packet, then its command) can meet the milter host's delayed ACK under Nagle
// and stall ~40 ms; replies do not prevent that, and fewer bursts make fewer stalls
// (docs/BENCHMARKS.md). xxfi_data is registered so that DATA is a stage of its own;
// xxfi_unknown stays null, so libmilter asks the MTA to skip unknown commands, and so does
// xxfi_eoh: the MTA sends no end-of-headers command (Postfix not its macros either), and the
// session ends the headers at the first body chunk or at end of message. Two commands fewer a
// message for the milter to poll for and read.
#pragma once
#include "config/snapshot.h"

namespace ecomm {

// Registers the callbacks with libmilter (smfi_register). Connections take their snapshot from
// holder, which must outlive smfi_main(). no_reply_stages: negotiate the stages after connect
// without replies. Returns false when libmilter refuses.
bool register_milter(SnapshotHolder& holder, bool no_reply_stages);

}  // namespace ecomm

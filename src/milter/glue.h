// The libmilter callbacks: thin trampolines from each xxfi_* event to the connection's Session.
//
// Each connection owns one Session (its private data), created at connect with the snapshot
// current at that moment and freed at close. Every callback catches every exception and answers
// with the configured on_error action (tempfail 451 4.3.0, reject 550 5.3.0, or accept), logging
// "internal error in <callback>: <what>". Header edits and the reply happen only at end of
// message, through apply_verdict().
//
// No xxfi_negotiate is registered: libmilter then asks the MTA to skip only the stages without a
// callback (unknown commands) and requests no "no reply" (SMFIP_NR_*) flags, so every stage can
// still answer with the on_error action, and on inet sockets the MTA never writes two commands in
// a row without reading a reply (that pattern meets delayed ACKs and stalls under Nagle).
// xxfi_data is registered and only continues: DATA stays an ordinary request/reply step, as in
// the setup the performance targets were measured with.
#pragma once
#include "config/snapshot.h"

namespace ecomm {

// Registers the callbacks with libmilter (smfi_register). Connections take their snapshot from
// holder, which must outlive smfi_main(). Returns false when libmilter refuses.
bool register_milter(SnapshotHolder& holder);

}  // namespace ecomm

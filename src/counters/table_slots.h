// Checks and plain edits of the counter table's header and slots (table_layout.h): checksums,
// validation, key storage and matching, clearing. No locking here: the caller holds the table's
// flock (header) or its mutex (slots).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "counters/table_layout.h"

namespace ecomm {

// Fills in a new header's fixed fields, boot id and checksum; the magic is written last, so a
// header cut short by a crash is never taken for a good one.
void seal_new_header(TableHeader& header, const TableGeometry& geometry, std::string_view boot_id);

// Why a header read from a file of file_size bytes cannot be used with this geometry ("has a
// damaged header", "has 64 rate slots and 8 campaign slots; the configuration asks for ..."),
// or "" when it can.
std::string header_problem(const TableHeader& header, std::uint64_t file_size, const TableGeometry& wanted);

// This boot's id (/proc/sys/kernel/random/boot_id), or "" when it cannot be read.
std::string current_boot_id();
bool boot_id_matches(const TableHeader& header, std::string_view boot_id);
void store_boot_id(TableHeader& header, std::string_view boot_id);

// A key's slot hash: stable_hash64, with 0 (the empty mark) moved to 1.
std::uint64_t slot_key_hash(std::string_view key);

// Copies text into a fixed field, truncated so that a NUL always follows, NUL-padded.
void store_text(char* field, std::size_t field_size, std::string_view text);
// Whether a field holds text as store_text would have stored it.
bool text_matches(const char* field, std::size_t field_size, std::string_view text);
std::string stored_text(const char* field, std::size_t field_size);

// Recomputes a slot's checksum after its fields were changed.
void seal(RateSlot& slot);
void seal(CampaignSlot& slot);

// Whether a slot is empty and clean, or in use and intact.
bool slot_valid(const RateSlot& slot);
bool slot_valid(const CampaignSlot& slot);

void clear(RateSlot& slot);
void clear(CampaignSlot& slot);

// Slots read or checked under one hold of the table lock when a whole table is gone through:
// all of a large table at once (a million rate slots and 65,536 campaigns took 1.6 s) would
// hold the lock past the milter's 250 ms lock timeout, and its messages would get the on_error
// answer.
constexpr std::size_t kRateSlotsPerLock = 8192;
constexpr std::size_t kCampaignSlotsPerLock = 256;

// Slots failing their check, counted or cleared (returning how many were).
std::size_t count_invalid_slots(const TableParts& parts);
std::size_t clear_invalid_slots(const TableParts& parts);

}  // namespace ecomm

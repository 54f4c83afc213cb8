// The counter table file's layout (counter_table.h): a header, the rate slots, the campaign slots,
// all fixed-size plain structs read and written in place through a shared mapping. Any change
// here is a format change: bump kTableFormatVersion, and old files are renamed aside and rebuilt.
//
// Every struct has a unique object representation (no padding bytes), so a checksum over its
// bytes sees exactly its fields. The file is only ever read on the host that wrote it (it holds a
// pthread mutex), so native byte order and the platform's pthread_mutex_t are fine.
#pragma once
#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "counters/hyperloglog.h"
#include "counters/sliding_window.h"

namespace ecomm {

inline constexpr char kTableMagic[8] = {'E', 'C', 'O', 'M', 'M', 'C', 'T', 'R'};
inline constexpr std::uint32_t kTableFormatVersion = 1;
inline constexpr std::size_t kHeaderBytes = 4096;  // the header's region: room to grow, page-aligned slots
inline constexpr std::size_t kRateKeyBytes = 64;
inline constexpr std::size_t kCampaignKeyBytes = 208;
inline constexpr std::size_t kSenderBytes = 64;
inline constexpr std::size_t kBootIdBytes = 48;

struct TableHeader {
    // Fixed when the file is built, covered by checksum.
    char magic[8];
    std::uint32_t version;
    std::uint32_t header_size;
    std::uint64_t rate_slot_count;
    std::uint64_t rate_slot_size;
    std::uint64_t campaign_slot_count;
    std::uint64_t campaign_slot_size;
    std::uint64_t file_size;
    std::uint64_t mutex_size;  // sizeof(pthread_mutex_t): another ABI's file is not ours
    std::uint64_t checksum;
    // Changed in use: under the flock (boot_id, at open) or the mutex (evictions).
    char boot_id[kBootIdBytes];  // the boot the mutex was initialised in
    std::uint64_t evictions;     // live entries evicted because their group was full
    pthread_mutex_t mutex;       // process-shared, robust
};

struct RateSlot {
    std::uint64_t key_hash;     // stable_hash64 of the whole key, never 0; 0: the slot is empty
    char key[kRateKeyBytes];    // the key, truncated, NUL-terminated and NUL-padded
    std::int64_t last_used_ms;  // Unix milliseconds of the last reserve or commit
    std::uint64_t total;        // messages committed since the entry was created
    WindowCounts window;
    std::uint64_t checksum;     // of the fields above; 0 in an empty slot
};

struct CampaignSlot {
    std::uint64_t key_hash;
    char key[kCampaignKeyBytes];
    char sender[kSenderBytes];
    std::int64_t first_seen_ms;
    std::int64_t last_seen_ms;
    std::int64_t window_seconds;  // the campaign's window when last updated: it expires after that
    std::uint64_t declared;       // the largest audience declared by its messages
    std::uint32_t crossed;        // 1 once its audience went over the threshold
    std::uint32_t unused;
    std::uint64_t checksum;       // of the fields above; 0 in an empty slot
    std::uint8_t registers[kHllRegisters];  // range-checked (hll_valid) instead
};

static_assert(std::is_trivially_copyable_v<TableHeader> && std::is_standard_layout_v<TableHeader>);
static_assert(sizeof(TableHeader) <= kHeaderBytes);
static_assert(offsetof(TableHeader, checksum) == 64 && offsetof(TableHeader, boot_id) == 72);
static_assert(alignof(TableHeader) <= 64);

static_assert(std::is_trivially_copyable_v<RateSlot> && std::is_standard_layout_v<RateSlot>);
static_assert(std::has_unique_object_representations_v<RateSlot>);
static_assert(sizeof(RateSlot) == 344 && offsetof(RateSlot, checksum) == 336);

static_assert(std::is_trivially_copyable_v<CampaignSlot> && std::is_standard_layout_v<CampaignSlot>);
static_assert(std::has_unique_object_representations_v<CampaignSlot>);
static_assert(offsetof(CampaignSlot, checksum) == 320 && offsetof(CampaignSlot, registers) == 328);
static_assert(sizeof(CampaignSlot) == 328 + kHllRegisters);

// Where the parts of a table with these slot counts lie in its file.
struct TableGeometry {
    std::size_t rate_slots = 0;
    std::size_t campaign_slots = 0;

    std::size_t rate_offset() const { return kHeaderBytes; }
    std::size_t campaign_offset() const
    {
        const std::size_t end_of_rates = rate_offset() + rate_slots * sizeof(RateSlot);
        return (end_of_rates + 63) / 64 * 64;
    }
    std::size_t file_size() const { return campaign_offset() + campaign_slots * sizeof(CampaignSlot); }
};

// A mapped table, seen as its parts.
struct TableParts {
    TableHeader* header = nullptr;
    std::span<RateSlot> rates;
    std::span<CampaignSlot> campaigns;
};

inline TableParts table_parts(unsigned char* base, const TableGeometry& geometry)
{
    return TableParts{reinterpret_cast<TableHeader*>(base),
                      {reinterpret_cast<RateSlot*>(base + geometry.rate_offset()), geometry.rate_slots},
                      {reinterpret_cast<CampaignSlot*>(base + geometry.campaign_offset()), geometry.campaign_slots}};
}

}  // namespace ecomm

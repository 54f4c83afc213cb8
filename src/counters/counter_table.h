// The counter table: a fixed-size file memory-mapped shared by every ecomm-milter process on the
// host and by ecomm-milter-stats (DESIGN.md "Counters"), implementing CounterStore.
//
// Layout: a header (magic, format version, slot counts and sizes, file size, a checksum of those,
// the boot id, a process-shared robust mutex, an eviction count), then the rate slots, then the
// campaign slots. Each slot carries a checksum of its own fields (a campaign slot, of its fields
// other than the HyperLogLog registers, which are range-checked instead).
//
// Opening takes an flock on the file, so that only one process creates, checks or rebuilds it at
// a time. A file whose header does not match (wrong magic, version, sizes or checksum), or in
// which any slot fails its check, is renamed aside to PATH.corrupt-UNIXTIME, logged, and rebuilt
// empty: it is never trusted. Other slot counts rebuild it only on this process's first open (its
// configuration changed); a mapping that follows a file another process replaced uses it with the
// counts it has, so two configurations never rebuild it in turn. The mutex is re-initialised
// when the boot id changed (a lock held when the machine went down would otherwise never be
// released).
//
// Every update takes the robust mutex with a timeout (pthread_mutex_timedlock): a holder that died
// mid-update hands it on with EOWNERDEAD, and the next holder re-checks every slot, clears the
// ones that fail their check, logs it and marks the mutex consistent. A timeout throws
// CounterError (the caller's on_error applies); nothing waits without bound.
//
// Slots are found by the key's stable_hash64 and the key text (truncated keys are told apart by
// the hash), probing a group of 32 slots from the hash's home slot. A full group takes an empty or
// expired slot, else evicts the least recently used one and logs it: a full table never blocks or
// fails mail. Rate entries expire 60 s after their last use, campaigns when their window has
// passed.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "counters/counter_store.h"

namespace ecomm {

struct CounterTableOptions {
    std::string path;                        // empty: an anonymous private mapping (nothing kept)
    std::size_t rate_slots = 4096;           // 64..1,000,000
    std::size_t campaign_slots = 128;        // 8..65,536; each holds 16 KiB of registers
    std::chrono::milliseconds lock_timeout{250};
    // Where problems go (rebuilt file, evictions, repaired slots); default: log::warning.
    std::function<void(const std::string&)> warn;
};

class CounterTable final : public CounterStore {
public:
    // Opens path, creating it (mode 0640) or rebuilding it as described above. Throws CounterError
    // when the file cannot be opened, created or mapped.
    static std::unique_ptr<CounterTable> open(const CounterTableOptions& options);

    ~CounterTable() override;
    CounterTable(const CounterTable&) = delete;
    CounterTable& operator=(const CounterTable&) = delete;

    RateDecision reserve(std::string_view key, const RateLimit& limit, SystemTime now) override;
    void commit(const RateReservation& reservation, SystemTime now) override;
    void release(const RateReservation& reservation, SystemTime now) override;
    CampaignUpdate add_to_campaign(std::string_view campaign, std::string_view sender,
                                   std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                   std::uint64_t threshold, std::chrono::seconds window, SystemTime now) override;
    CounterView view(SystemTime now) override;
    // A key as long as a slot keeps (63 bytes, a campaign's 207) that no entry has also names
    // every longer key listed cut to it: view() shows only what the slot keeps.
    bool reset(std::string_view key) override;

    const std::string& path() const;
    std::size_t file_size() const;

    // Tests only: takes the lock and never lets go (the caller is then killed), to show that a
    // holder's death does not wedge the table.
    void lock_forever_for_test();

private:
    struct Mapping;
    explicit CounterTable(std::unique_ptr<Mapping> mapping);
    std::unique_ptr<Mapping> mapping_;
};

}  // namespace ecomm

// A look at a file's header without mapping, locking, creating or rebuilding it: for
// ecomm-milter-stats, which must never rebuild a live table because its own [counters] differ
// from the milter's, nor rename aside a file that is not a counter table at all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ecomm {

// What a file's first bytes say it is, read without mapping or locking it.
struct TableProbe {
    enum class Kind { counter_table, other_version, not_a_table, unreadable } kind = Kind::not_a_table;
    std::string error;               // unreadable: why
    std::uint32_t version = 0;
    std::size_t rate_slots = 0;      // as the header says (counter_table only)
    std::size_t campaign_slots = 0;
};

TableProbe probe_table_file(const std::string& path);

// The table format this build reads and writes.
std::uint32_t supported_table_version();

// Whether the probed slot counts are ones a table can have (else it is damaged).
bool plausible_geometry(const TableProbe& probe);

}  // namespace ecomm

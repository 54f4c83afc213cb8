// Reading a counter table file's header without opening it as a table; see table_probe.h.
#include "counters/table_probe.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "counters/table_layout.h"

namespace ecomm {

TableProbe probe_table_file(const std::string& path)
{
    TableProbe result;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        result.kind = TableProbe::Kind::unreadable;
        result.error = std::strerror(errno);
        return result;
    }
    char bytes[sizeof(TableHeader)] = {};
    in.read(bytes, sizeof bytes);
    if (in.gcount() < static_cast<std::streamsize>(sizeof kTableMagic) ||
        std::memcmp(bytes, kTableMagic, sizeof kTableMagic) != 0)
        return result;
    TableHeader header;
    std::memcpy(&header, bytes, sizeof header);
    // A short file with our magic: a damaged table of ours, which opening rebuilds (as the milter
    // would); its counts mean nothing.
    if (in.gcount() < static_cast<std::streamsize>(sizeof header)) {
        result.kind = TableProbe::Kind::counter_table;
        return result;
    }
    result.version = header.version;
    result.kind = header.version == kTableFormatVersion ? TableProbe::Kind::counter_table
                                                               : TableProbe::Kind::other_version;
    result.rate_slots = static_cast<std::size_t>(header.rate_slot_count);
    result.campaign_slots = static_cast<std::size_t>(header.campaign_slot_count);
    return result;
}

bool plausible_geometry(const TableProbe& header)
{
    return header.rate_slots >= 64 && header.rate_slots <= 1'000'000 && header.campaign_slots >= 8 &&
           header.campaign_slots <= 65'536;
}

std::uint32_t supported_table_version() { return kTableFormatVersion; }

}  // namespace ecomm

// Checks and plain edits of the counter table's header and slots (table_slots.h).
#include "counters/table_slots.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "util/hash.h"

namespace ecomm {

namespace {

// A checksum of whole 64-bit words. Each step is a bijection of the running value for a given
// word, so any change confined to one word always changes the result.
std::uint64_t checksum_words(const void* data, std::size_t size)
{
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::uint64_t sum = 0x9e3779b97f4a7c15ULL ^ size;
    for (std::size_t offset = 0; offset + 8 <= size; offset += 8) {
        std::uint64_t word;
        std::memcpy(&word, bytes + offset, sizeof word);
        sum = (sum ^ word) * 0xff51afd7ed558ccdULL;
        sum ^= sum >> 32;
    }
    sum *= 0xc4ceb9fe1a85ec53ULL;
    return sum ^ (sum >> 29);
}

std::uint64_t header_checksum(const TableHeader& header)
{
    return checksum_words(&header, offsetof(TableHeader, checksum));
}

std::uint64_t slot_checksum(const RateSlot& slot) { return checksum_words(&slot, offsetof(RateSlot, checksum)); }
std::uint64_t slot_checksum(const CampaignSlot& slot)
{
    return checksum_words(&slot, offsetof(CampaignSlot, checksum));
}

bool terminated(const char* field, std::size_t field_size) { return field[field_size - 1] == '\0'; }

std::string slot_counts(std::uint64_t rates, std::uint64_t campaigns)
{
    return std::to_string(rates) + " rate slots and " + std::to_string(campaigns) + " campaign slots";
}

}  // namespace

void seal_new_header(TableHeader& header, const TableGeometry& geometry, std::string_view boot_id)
{
    header.version = kTableFormatVersion;
    header.header_size = kHeaderBytes;
    header.rate_slot_count = geometry.rate_slots;
    header.rate_slot_size = sizeof(RateSlot);
    header.campaign_slot_count = geometry.campaign_slots;
    header.campaign_slot_size = sizeof(CampaignSlot);
    header.file_size = geometry.file_size();
    header.mutex_size = sizeof(pthread_mutex_t);
    header.evictions = 0;
    store_boot_id(header, boot_id);
    std::memcpy(header.magic, kTableMagic, sizeof header.magic);
    header.checksum = header_checksum(header);
}

std::string header_problem(const TableHeader& header, std::uint64_t file_size, const TableGeometry& wanted)
{
    if (file_size < sizeof(TableHeader))
        return "is too short to be a counter table (" + std::to_string(file_size) + " bytes)";
    if (std::memcmp(header.magic, kTableMagic, sizeof header.magic) != 0)
        return "is not a counter table (its magic is wrong)";
    if (header.version != kTableFormatVersion)
        return "has format version " + std::to_string(header.version) + ", not " +
               std::to_string(kTableFormatVersion);
    if (header.checksum != header_checksum(header)) return "has a damaged header (checksum mismatch)";
    if (header.header_size != kHeaderBytes || header.rate_slot_size != sizeof(RateSlot) ||
        header.campaign_slot_size != sizeof(CampaignSlot) || header.mutex_size != sizeof(pthread_mutex_t))
        return "was built with another layout of its header or slots";
    if (header.rate_slot_count != wanted.rate_slots || header.campaign_slot_count != wanted.campaign_slots)
        return "has " + slot_counts(header.rate_slot_count, header.campaign_slot_count) +
               "; the configuration asks for " + slot_counts(wanted.rate_slots, wanted.campaign_slots) +
               " (the slot count changed)";
    if (header.file_size != wanted.file_size()) return "has a damaged header (its file size is inconsistent)";
    if (file_size != header.file_size)
        return "is " + std::to_string(file_size) + " bytes long, not " + std::to_string(header.file_size) +
               " (truncated or extended)";
    return "";
}

std::string current_boot_id()
{
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
}

bool boot_id_matches(const TableHeader& header, std::string_view boot_id)
{
    return text_matches(header.boot_id, sizeof header.boot_id, boot_id);
}

void store_boot_id(TableHeader& header, std::string_view boot_id)
{
    store_text(header.boot_id, sizeof header.boot_id, boot_id);
}

std::uint64_t slot_key_hash(std::string_view key)
{
    const std::uint64_t hash = stable_hash64(key);
    return hash == 0 ? 1 : hash;
}

void store_text(char* field, std::size_t field_size, std::string_view text)
{
    const std::size_t length = std::min(text.size(), field_size - 1);
    std::memcpy(field, text.data(), length);
    std::memset(field + length, 0, field_size - length);
}

bool text_matches(const char* field, std::size_t field_size, std::string_view text)
{
    const std::size_t length = std::min(text.size(), field_size - 1);
    return std::memcmp(field, text.data(), length) == 0 && field[length] == '\0';
}

std::string stored_text(const char* field, std::size_t field_size)
{
    return std::string(field, strnlen(field, field_size));
}

void seal(RateSlot& slot) { slot.checksum = slot_checksum(slot); }
void seal(CampaignSlot& slot) { slot.checksum = slot_checksum(slot); }

bool slot_valid(const RateSlot& slot)
{
    if (slot.key_hash == 0) return slot.checksum == 0;
    return slot.checksum == slot_checksum(slot) && terminated(slot.key, sizeof slot.key);
}

bool slot_valid(const CampaignSlot& slot)
{
    if (slot.key_hash == 0) return slot.checksum == 0;
    return slot.checksum == slot_checksum(slot) && terminated(slot.key, sizeof slot.key) &&
           terminated(slot.sender, sizeof slot.sender) && slot.crossed <= 1 && slot.window_seconds > 0 &&
           hll_valid(slot.registers);
}

void clear(RateSlot& slot) { slot = RateSlot{}; }
void clear(CampaignSlot& slot) { std::memset(&slot, 0, sizeof slot); }

std::size_t count_invalid_slots(const TableParts& parts)
{
    const auto invalid = [](const auto& slot) { return !slot_valid(slot); };
    return static_cast<std::size_t>(std::count_if(parts.rates.begin(), parts.rates.end(), invalid) +
                                    std::count_if(parts.campaigns.begin(), parts.campaigns.end(), invalid));
}

std::size_t clear_invalid_slots(const TableParts& parts)
{
    std::size_t cleared = 0;
    const auto repair = [&cleared](auto& slot) {
        if (slot_valid(slot)) return;
        clear(slot);
        ++cleared;
    };
    std::for_each(parts.rates.begin(), parts.rates.end(), repair);
    std::for_each(parts.campaigns.begin(), parts.campaigns.end(), repair);
    return cleared;
}

}  // namespace ecomm

// The memory-mapped counter table (counter_table.h): rate entries and campaigns in fixed slots
// of a shared file, every read and update under the table's robust lock. table_file.h finds,
// checks and rebuilds the file; table_slots.h checks and edits single slots; the rate and
// audience arithmetic is sliding_window.h's and hyperloglog.h's.
//
// Each public method takes the current mapping (looking, at most once a second, whether another
// process replaced the file, and then mapping the new one), locks it, and works on the key's
// group of 32 slots. Under the lock a slot is changed and then sealed with nothing that can throw
// in between. Only CounterError leaves a public method.
#include "counters/counter_table.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <mutex>

#include "core/logger.h"
#include "counters/table_file.h"
#include "counters/table_slots.h"

namespace ecomm {

namespace {

constexpr std::size_t kProbeGroup = 32;
constexpr std::int64_t kRateExpiryMs = 60'000;
constexpr std::chrono::seconds kReplacedCheckInterval{1};
constexpr std::chrono::milliseconds kEvictionWarningInterval{60'000};

std::int64_t unix_ms(SystemTime time)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

SystemTime from_unix_ms(std::int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

std::int64_t steady_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Keys may come from message headers: no control characters into the log.
std::string printable(std::string_view text)
{
    std::string out(text.substr(0, 256));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    return out;
}

// Whether a slot in use may be taken for another key without losing anything live.
bool expired(const RateSlot& slot, SystemTime now)
{
    // Idle either way: a slot last used "in the future" (the clock stepped back) would otherwise
    // stay taken until the clock caught up.
    const std::int64_t idle_ms = unix_ms(now) - slot.last_used_ms;
    return (idle_ms > kRateExpiryMs || idle_ms < -kRateExpiryMs) &&
           pending_in_window(slot.window, unix_second(now)) == 0;
}

bool expired(const CampaignSlot& slot, SystemTime now)
{
    return unix_ms(now) - slot.first_seen_ms >= slot.window_seconds * 1000;
}

std::int64_t last_used_ms(const RateSlot& slot) { return slot.last_used_ms; }
std::int64_t last_used_ms(const CampaignSlot& slot) { return slot.last_seen_ms; }

template <typename Slot>
Slot& group_slot(std::span<Slot> slots, std::uint64_t hash, std::size_t index)
{
    return slots[(hash % slots.size() + index) % slots.size()];
}

std::size_t group_size(std::size_t slot_count) { return std::min(kProbeGroup, slot_count); }

// Where a new key goes in its group: an empty slot, else an expired one, else the least recently
// used (a live entry evicted: `evicted` is set).
template <typename Slot>
Slot& choose_free_slot(std::span<Slot> slots, std::uint64_t hash, SystemTime now, bool& evicted)
{
    Slot* stale = nullptr;
    Slot* oldest = nullptr;
    for (std::size_t i = 0; i < group_size(slots.size()); ++i) {
        Slot& slot = group_slot(slots, hash, i);
        if (slot.key_hash == 0) return slot;
        if (!stale && expired(slot, now)) stale = &slot;
        if (!oldest || last_used_ms(slot) < last_used_ms(*oldest)) oldest = &slot;
    }
    evicted = stale == nullptr;
    return stale ? *stale : *oldest;
}

void restart_campaign(CampaignSlot& slot, std::int64_t now_ms)
{
    std::memset(slot.registers, 0, sizeof slot.registers);
    slot.crossed = 0;
    slot.declared = 0;
    slot.first_seen_ms = now_ms;
}

}  // namespace

struct CounterTable::Mapping {
    CounterTableOptions options;
    std::mutex swap_mutex;  // guards table and next_check
    std::shared_ptr<TableFile> table;
    std::chrono::steady_clock::time_point next_check;
    std::atomic<std::int64_t> last_eviction_warning_ms{std::numeric_limits<std::int64_t>::min()};

    // The table to work on: the file path names now, when another process replaced it.
    std::shared_ptr<TableFile> current()
    {
        const std::lock_guard guard(swap_mutex);
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_check) {
            next_check = now + kReplacedCheckInterval;
            if (table->needs_reopening())
                table = TableFile::open(options, options.warn, TableFile::OtherSlotCounts::adopt);
        }
        return table;
    }

    // Runs operation(TableFile&) under the table's lock.
    template <typename Operation>
    auto locked(Operation&& operation)
    {
        try {
            const std::shared_ptr<TableFile> file = current();
            const TableLock lock(*file, options.lock_timeout, options.warn);
            return operation(*file);
        } catch (const CounterError&) {
            throw;
        } catch (const std::exception& e) {
            throw CounterError("counter table " + location() + ": " + e.what());
        }
    }

    std::string location() const { return options.path.empty() ? "anonymous" : options.path; }

    // The key's slot, or nullptr. A matching slot that fails its check is cleared and logged.
    template <typename Slot>
    Slot* find(const TableFile& file, std::span<Slot> slots, std::string_view key)
    {
        const std::uint64_t hash = slot_key_hash(key);
        for (std::size_t i = 0; i < group_size(slots.size()); ++i) {
            Slot& slot = group_slot(slots, hash, i);
            if (slot.key_hash != hash || !text_matches(slot.key, sizeof slot.key, key)) continue;
            if (slot_valid(slot)) return &slot;
            clear(slot);
            send_warning(options.warn, "counter table " + file.name() + ": the entry \"" + printable(key) +
                                           "\" failed its check and was cleared");
            return nullptr;
        }
        return nullptr;
    }

    // Clears the entries a key listed cut names (a key as long as its field keeps: the view shows a
    // longer one cut, and a cut key has not the full key's hash); how many.
    template <typename Slot>
    int clear_listed_cut(std::span<Slot> slots, std::string_view key)
    {
        if (key.size() != sizeof(Slot::key) - 1) return 0;  // shorter keys are kept whole
        int cleared = 0;
        for (Slot& slot : slots) {
            if (slot.key_hash == 0 || !text_matches(slot.key, sizeof slot.key, key)) continue;
            clear(slot);
            ++cleared;
        }
        return cleared;
    }

    // The key's slot, a new one (cleared, keyed, not yet sealed) when it has none.
    template <typename Slot>
    Slot& find_or_claim(const TableFile& file, std::span<Slot> slots, std::string_view key, SystemTime now)
    {
        if (Slot* found = find(file, slots, key)) return *found;
        const std::uint64_t hash = slot_key_hash(key);
        bool evicted = false;
        Slot& slot = choose_free_slot(slots, hash, now, evicted);
        if (evicted) {
            const std::uint64_t evictions = ++file.parts().header->evictions;
            const std::string evicted_key = printable(stored_text(slot.key, sizeof slot.key));
            warn_eviction("counter table " + file.name() + " is full: evicted \"" + evicted_key +
                          "\", its least recently used entry, for \"" + printable(key) + "\" (" +
                          std::to_string(evictions) + " evictions so far; more slots are needed)");
        }
        clear(slot);
        slot.key_hash = hash;
        store_text(slot.key, sizeof slot.key, key);
        return slot;
    }

    // At most once a minute per process, so that a full table cannot flood the log.
    void warn_eviction(const std::string& line)
    {
        const std::int64_t now_ms = steady_ms();
        std::int64_t last = last_eviction_warning_ms.load();
        if (last != std::numeric_limits<std::int64_t>::min() && now_ms - last < kEvictionWarningInterval.count())
            return;
        if (last_eviction_warning_ms.compare_exchange_strong(last, now_ms)) send_warning(options.warn, line);
    }
};

std::unique_ptr<CounterTable> CounterTable::open(const CounterTableOptions& options)
{
    try {
        auto mapping = std::make_unique<Mapping>();
        mapping->options = options;
        if (!mapping->options.warn) mapping->options.warn = [](const std::string& line) { log::warning(line); };
        mapping->table = TableFile::open(mapping->options, mapping->options.warn);
        mapping->next_check = std::chrono::steady_clock::now() + kReplacedCheckInterval;
        // make_unique cannot reach the private constructor; the pointer is owned at once.
        return std::unique_ptr<CounterTable>(new CounterTable(std::move(mapping)));
    } catch (const CounterError&) {
        throw;
    } catch (const std::exception& e) {
        throw CounterError("counter table " + (options.path.empty() ? std::string("anonymous") : options.path) +
                           ": " + e.what());
    }
}

CounterTable::CounterTable(std::unique_ptr<Mapping> mapping) : mapping_(std::move(mapping)) {}
CounterTable::~CounterTable() = default;

RateDecision CounterTable::reserve(std::string_view key, const RateLimit& limit, SystemTime now)
{
    Mapping& m = *mapping_;
    return m.locked([&](TableFile& file) {
        RateSlot& slot = m.find_or_claim(file, file.parts().rates, key, now);
        RateDecision decision = try_reserve(slot.window, limit, now);
        slot.last_used_ms = unix_ms(now);
        seal(slot);
        if (decision.reservation) decision.reservation->key = std::string(key);
        return decision;
    });
}

// A reservation whose entry has gone (evicted, reset or cleared) has nothing left to change.
void CounterTable::commit(const RateReservation& reservation, SystemTime now)
{
    Mapping& m = *mapping_;
    m.locked([&](TableFile& file) {
        RateSlot* slot = m.find(file, file.parts().rates, reservation.key);
        if (!slot) return;
        commit_reservation(slot->window, reservation.second, now);
        ++slot->total;
        slot->last_used_ms = unix_ms(now);
        seal(*slot);
    });
}

void CounterTable::release(const RateReservation& reservation, SystemTime now)
{
    Mapping& m = *mapping_;
    m.locked([&](TableFile& file) {
        RateSlot* slot = m.find(file, file.parts().rates, reservation.key);
        if (!slot) return;
        release_reservation(slot->window, reservation.second, now);
        seal(*slot);
    });
}

CampaignUpdate CounterTable::add_to_campaign(std::string_view campaign, std::string_view sender,
                                             std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                             std::uint64_t threshold, std::chrono::seconds window, SystemTime now)
{
    Mapping& m = *mapping_;
    const std::int64_t now_ms = unix_ms(now);
    const std::int64_t window_seconds = std::max<std::int64_t>(1, window.count());
    return m.locked([&](TableFile& file) {
        const std::span<CampaignSlot> slots = file.parts().campaigns;
        CampaignSlot* slot = m.find(file, slots, campaign);
        if (slot && now_ms - slot->first_seen_ms >= window_seconds * 1000) restart_campaign(*slot, now_ms);
        if (!slot) {
            slot = &m.find_or_claim(file, slots, campaign, now);
            slot->first_seen_ms = now_ms;
        }
        store_text(slot->sender, sizeof slot->sender, sender);
        slot->last_seen_ms = now_ms;
        slot->window_seconds = window_seconds;
        slot->declared = std::max(slot->declared, declared);
        for (const std::uint64_t recipient : recipients) hll_add(slot->registers, recipient);

        CampaignUpdate update;
        update.estimate = hll_estimate(slot->registers);
        update.declared = slot->declared;
        if (!slot->crossed && std::max(update.estimate, update.declared) > threshold) {
            slot->crossed = 1;
            update.first_crossing = true;
        }
        seal(*slot);
        return update;
    });
}

CounterView CounterTable::view(SystemTime now)
{
    // A chunk of slots at a time, each under the lock on its own (kRateSlotsPerLock).
    Mapping& m = *mapping_;
    const std::int64_t second = unix_second(now);
    CounterView view;
    std::size_t repaired = 0;
    std::size_t rate_at = 0;
    std::size_t campaign_at = 0;
    for (bool more = true; more;) {
        more = m.locked([&](TableFile& file) {
            const TableParts& parts = file.parts();
            for (const std::size_t end = std::min(rate_at + kRateSlotsPerLock, parts.rates.size()); rate_at < end; ++rate_at) {
                RateSlot& slot = parts.rates[rate_at];
                if (!slot_valid(slot)) {
                    clear(slot);
                    ++repaired;
                }
                if (slot.key_hash == 0 || expired(slot, now)) continue;
                view.rates.push_back(RateEntryView{stored_text(slot.key, sizeof slot.key),
                                                   count_in_window(slot.window, second),
                                                   pending_in_window(slot.window, second), slot.total,
                                                   from_unix_ms(slot.last_used_ms)});
            }
            const std::size_t campaigns_end = rate_at < parts.rates.size()
                                                  ? campaign_at  // the rate slots first
                                                  : std::min(campaign_at + kCampaignSlotsPerLock, parts.campaigns.size());
            for (; campaign_at < campaigns_end; ++campaign_at) {
                CampaignSlot& slot = parts.campaigns[campaign_at];
                if (!slot_valid(slot)) {
                    clear(slot);
                    ++repaired;
                }
                if (slot.key_hash == 0 || expired(slot, now)) continue;
                view.campaigns.push_back(CampaignEntryView{
                    stored_text(slot.key, sizeof slot.key), stored_text(slot.sender, sizeof slot.sender),
                    hll_estimate(slot.registers), slot.declared, slot.crossed != 0, from_unix_ms(slot.first_seen_ms),
                    from_unix_ms(slot.last_seen_ms)});
            }
            view.rate_slots = parts.rates.size();
            view.campaign_slots = parts.campaigns.size();
            view.evictions = parts.header->evictions;
            view.location = file.name();
            return rate_at < parts.rates.size() || campaign_at < parts.campaigns.size();
        });
    }
    if (repaired > 0)
        send_warning(m.options.warn, "counter table " + view.location + ": " + std::to_string(repaired) +
                                         " damaged slots cleared");
    return view;
}

bool CounterTable::reset(std::string_view key)
{
    Mapping& m = *mapping_;
    return m.locked([&](TableFile& file) {
        bool found = false;
        if (RateSlot* slot = m.find(file, file.parts().rates, key)) {
            clear(*slot);
            found = true;
        }
        if (CampaignSlot* slot = m.find(file, file.parts().campaigns, key)) {
            clear(*slot);
            found = true;
        }
        // Not found under its hash: it may be a longer key as the view lists it, cut.
        if (!found)
            found = m.clear_listed_cut(file.parts().rates, key) + m.clear_listed_cut(file.parts().campaigns, key) > 0;
        return found;
    });
}

const std::string& CounterTable::path() const { return mapping_->options.path; }

std::size_t CounterTable::file_size() const
{
    const std::lock_guard guard(mapping_->swap_mutex);
    return mapping_->table->size();
}

void CounterTable::lock_forever_for_test()
{
    try {
        const std::shared_ptr<TableFile> file = mapping_->current();
        TableLock lock(*file, mapping_->options.lock_timeout, mapping_->options.warn);
        lock.keep_forever();
    } catch (const CounterError&) {
        throw;
    } catch (const std::exception& e) {
        throw CounterError(e.what());
    }
}

}  // namespace ecomm

// The memory-mapped counter table: counting through the file, several processes at once, a
// holder killed with the lock, damaged and mismatched files renamed aside and rebuilt, persistence,
// a full table, the lock timeout, reset. Children are fork()ed and report only through their exit
// status (they never return into CppUnit).
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "counters/counter_table.h"
#include "counters/table_layout.h"
#include "temp_files.h"
#include "util/hash.h"

using namespace ecomm;
using namespace ecomm::test;

namespace {

const SystemTime kT0 = SystemTime(std::chrono::seconds(1'700'000'000));
const RateLimit kUnlimited{0, 0};

// Warnings captured from a table, shared with its warn callback.
struct Warnings {
    std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();

    std::function<void(const std::string&)> sink() const
    {
        auto target = lines;
        return [target](const std::string& line) { target->push_back(line); };
    }
    int count(const std::string& part) const
    {
        int n = 0;
        for (const auto& line : *lines) n += line.find(part) != std::string::npos ? 1 : 0;
        return n;
    }
};

CounterTableOptions options_for(const std::string& path, const Warnings& warnings, std::size_t rate_slots = 64,
                                std::size_t campaign_slots = 8)
{
    CounterTableOptions options;
    options.path = path;
    options.rate_slots = rate_slots;
    options.campaign_slots = campaign_slots;
    options.warn = warnings.sink();
    return options;
}

// A fork()ed child running body, which exits with body's value (99 when it threw; _exit, so
// nothing of the parent's is flushed or destroyed twice). Killed and reaped on destruction when
// still running, so that a failed assertion never leaves one behind.
class Child {
public:
    explicit Child(const std::function<int()>& body) : pid_(fork())
    {
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ > 0) return;
        int code = 99;
        try {
            code = body();
        } catch (...) {
        }
        _exit(code);
    }
    ~Child()
    {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    void kill() const { ::kill(pid_, SIGKILL); }

    // The exit status, or 1000 + the signal that ended it.
    int wait()
    {
        int status = 0;
        const pid_t reaped = waitpid(pid_, &status, 0);
        pid_ = -1;
        if (reaped <= 0) return -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : -1;
    }

private:
    pid_t pid_;
};

// A pipe a child writes one byte to when it is ready. The parent calls wait() after forking: it
// closes its own write end first, so a child that died before telling makes wait() false.
class ReadySignal {
public:
    ReadySignal()
    {
        if (pipe(fds_) != 0) throw std::runtime_error("pipe failed");
    }
    ~ReadySignal()
    {
        for (const int fd : fds_)
            if (fd >= 0) close(fd);
    }
    ReadySignal(const ReadySignal&) = delete;
    ReadySignal& operator=(const ReadySignal&) = delete;

    void tell() const
    {
        const char byte = 'r';
        if (write(fds_[1], &byte, 1) != 1) _exit(98);
    }
    bool wait()
    {
        close(fds_[1]);
        fds_[1] = -1;
        char byte = 0;
        return read(fds_[0], &byte, 1) == 1;
    }

private:
    int fds_[2] = {-1, -1};
};

// A child that takes the table's lock and keeps it until it is killed; returns once it holds it.
std::unique_ptr<Child> lock_holder(const CounterTableOptions& options)
{
    ReadySignal ready;
    auto child = std::make_unique<Child>([&] {
        auto own = CounterTable::open(options);
        own->lock_forever_for_test();
        ready.tell();
        pause();
        return 0;
    });
    CPPUNIT_ASSERT(ready.wait());
    return child;
}

std::vector<std::string> aside_files(const TempDir& dir, const std::string& name)
{
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        if (entry.path().filename().string().rfind(name + ".corrupt-", 0) == 0) found.push_back(entry.path().string());
    return found;
}

const RateEntryView* rate_entry(const CounterView& view, const std::string& key)
{
    for (const auto& entry : view.rates)
        if (entry.key == key) return &entry;
    return nullptr;
}

void commit_one(CounterTable& table, const std::string& key, SystemTime now)
{
    const RateDecision decision = table.reserve(key, kUnlimited, now);
    if (!decision.reservation) throw std::runtime_error("unlimited reserve refused");
    table.commit(*decision.reservation, now);
}

// Writes bytes at offset in the file, as damage from outside would.
void overwrite(const std::string& path, std::size_t offset, const void* bytes, std::size_t size)
{
    const int fd = ::open(path.c_str(), O_WRONLY);
    CPPUNIT_ASSERT(fd >= 0);
    const bool written = pwrite(fd, bytes, size, static_cast<off_t>(offset)) == static_cast<ssize_t>(size);
    close(fd);
    CPPUNIT_ASSERT(written);
}

std::vector<std::uint64_t> recipients(const std::string& prefix, int from, int to)
{
    std::vector<std::uint64_t> hashes;
    for (int i = from; i < to; ++i) hashes.push_back(stable_hash64(prefix + std::to_string(i) + "@example.edu"));
    return hashes;
}

}  // namespace

class CounterTableTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CounterTableTest);
    CPPUNIT_TEST(reserveCommitAndReleaseCountThroughTheFile);
    CPPUNIT_TEST(truncatedKeysAreToldApart);
    CPPUNIT_TEST(keysListedCutAreReset);
    CPPUNIT_TEST(processesCountEveryUpdate);
    CPPUNIT_TEST(processesShareOneCampaignAudience);
    CPPUNIT_TEST(campaignCrossesOnceAndRestartsAfterItsWindow);
    CPPUNIT_TEST(holderKilledWithTheLockDoesNotWedgeTheTable);
    CPPUNIT_TEST(processKilledMidUpdateLeavesAUsableTable);
    CPPUNIT_TEST(damagedMagicIsRenamedAsideAndRebuilt);
    CPPUNIT_TEST(damagedSlotIsRenamedAsideAndRebuilt);
    CPPUNIT_TEST(damageInALaterChunkIsFound);
    CPPUNIT_TEST(truncatedFileIsRebuilt);
    CPPUNIT_TEST(changedSlotCountRebuilds);
    CPPUNIT_TEST(countsSurviveReopening);
    CPPUNIT_TEST(tableFileHasEveryBlockAllocated);
    CPPUNIT_TEST(tableMadeByRootBelongsToItsFoldersOwner);
    CPPUNIT_TEST(fullTableEvictsAndWarnsOnce);
    CPPUNIT_TEST(lockHeldByALiveProcessTimesOut);
    CPPUNIT_TEST(lockFromAnotherBootIsReinitialised);
    CPPUNIT_TEST(unrecoverableLockGetsTheFileRebuilt);
    CPPUNIT_TEST(resetForgetsRateEntriesAndCampaigns);
    CPPUNIT_TEST(viewReadsEveryChunk);
    CPPUNIT_TEST(anonymousTableIsSharedWithForkedChildren);
    CPPUNIT_TEST(fileRebuiltByAnotherProcessIsFollowed);
    CPPUNIT_TEST(reopeningKeepsAnotherProcesssSlotCounts);
    CPPUNIT_TEST(unusableOptionsThrowCounterError);
    CPPUNIT_TEST_SUITE_END();

public:
    void reserveCommitAndReleaseCountThroughTheFile()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings));
        const RateLimit three{3, 0};
        const auto a = table->reserve("sender:a", three, kT0);
        const auto b = table->reserve("sender:a", three, kT0);
        const auto c = table->reserve("sender:a", three, kT0 + std::chrono::seconds(1));
        CPPUNIT_ASSERT(a.reservation && b.reservation && c.reservation);
        CPPUNIT_ASSERT_EQUAL(std::string("sender:a"), a.reservation->key);
        const auto refused = table->reserve("sender:a", three, kT0 + std::chrono::seconds(2));
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT(refused.wait > std::chrono::milliseconds(0));

        table->commit(*a.reservation, kT0 + std::chrono::seconds(2));
        table->commit(*b.reservation, kT0 + std::chrono::seconds(2));
        table->release(*c.reservation, kT0 + std::chrono::seconds(2));
        const CounterView view = table->view(kT0 + std::chrono::seconds(3));
        const RateEntryView* entry = rate_entry(view, "sender:a");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(2, entry->in_window);
        CPPUNIT_ASSERT_EQUAL(0, entry->pending);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, entry->total);
        CPPUNIT_ASSERT_EQUAL(dir.path("counters"), view.location);
        CPPUNIT_ASSERT_EQUAL(std::size_t{64}, view.rate_slots);
        CPPUNIT_ASSERT(table->reserve("sender:a", three, kT0 + std::chrono::seconds(3)).reservation);

        // The released message made room; a minute later the entry has expired from the view.
        CPPUNIT_ASSERT(table->view(kT0 + std::chrono::seconds(200)).rates.empty());
        CPPUNIT_ASSERT(std::filesystem::status(dir.path("counters")).permissions() ==
                       (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                        std::filesystem::perms::group_read));
        CPPUNIT_ASSERT(warnings.lines->empty());
    }

    void truncatedKeysAreToldApart()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings));
        const std::string stem(100, 'k');
        commit_one(*table, stem + "1", kT0);
        commit_one(*table, stem + "2", kT0);
        commit_one(*table, stem + "2", kT0);
        const CounterView view = table->view(kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, view.rates.size());
        std::uint64_t totals[2] = {view.rates[0].total, view.rates[1].total};
        std::sort(std::begin(totals), std::end(totals));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, totals[0]);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, totals[1]);
        CPPUNIT_ASSERT_EQUAL(std::size_t{63}, view.rates[0].key.size());
    }

    // A key longer than its field is listed cut: reset takes the cut key as listed and forgets
    // every entry listed under it, but never one a longer typed key merely starts like.
    void keysListedCutAreReset()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings));
        const std::string stem(100, 'k');
        commit_one(*table, stem + "1", kT0);
        commit_one(*table, stem + "2", kT0);
        commit_one(*table, "sender:other", kT0);
        const std::string listed = stem.substr(0, 63);
        const CounterView before = table->view(kT0);
        const auto listed_as_cut = [&](const RateEntryView& rate) { return rate.key == listed; };
        CPPUNIT_ASSERT_EQUAL(std::ptrdiff_t{2}, std::count_if(before.rates.begin(), before.rates.end(), listed_as_cut));

        CPPUNIT_ASSERT(!table->reset(stem + "3"));
        CPPUNIT_ASSERT(!table->reset(listed.substr(0, 62)));
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, table->view(kT0).rates.size());
        CPPUNIT_ASSERT(table->reset(listed));
        const CounterView after = table->view(kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, after.rates.size());
        CPPUNIT_ASSERT_EQUAL(std::string("sender:other"), after.rates[0].key);
        CPPUNIT_ASSERT(!table->reset(listed));
    }

    void processesCountEveryUpdate()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        auto table = CounterTable::open(options);
        const std::string keys[3] = {"sender:one", "sender:two", "sender:three"};
        std::vector<std::unique_ptr<Child>> children;
        for (int child = 0; child < 4; ++child) {
            children.push_back(std::make_unique<Child>([&] {
                auto own = CounterTable::open(options);
                for (int i = 0; i < 5000; ++i) commit_one(*own, keys[i % 3], kT0);
                return 0;
            }));
        }
        for (const auto& child : children) CPPUNIT_ASSERT_EQUAL(0, child->wait());

        const CounterView view = table->view(kT0);
        const std::uint64_t expected[3] = {4 * 1667, 4 * 1667, 4 * 1666};
        std::uint64_t sum = 0;
        for (int k = 0; k < 3; ++k) {
            const RateEntryView* entry = rate_entry(view, keys[k]);
            CPPUNIT_ASSERT(entry);
            CPPUNIT_ASSERT_EQUAL(expected[k], entry->total);
            CPPUNIT_ASSERT_EQUAL(static_cast<int>(expected[k]), entry->in_window);
            CPPUNIT_ASSERT_EQUAL(0, entry->pending);
            sum += entry->total;
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20000}, sum);
    }

    void processesShareOneCampaignAudience()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        auto table = CounterTable::open(options);
        constexpr int kPerChild = 25000;
        std::vector<std::unique_ptr<Child>> children;
        for (int child = 0; child < 4; ++child) {
            children.push_back(std::make_unique<Child>([&, child] {
                auto own = CounterTable::open(options);
                bool crossed = false;
                const std::string prefix = "rcpt-" + std::to_string(child) + "-";
                for (int from = 0; from < kPerChild; from += 100) {
                    const auto batch = recipients(prefix, from, from + 100);
                    crossed |= own->add_to_campaign("Feedback-ID:spring", "mc", batch, 0, 15000,
                                                    std::chrono::hours(24), kT0)
                                   .first_crossing;
                }
                return crossed ? 2 : 0;
            }));
        }
        int crossings = 0;
        for (const auto& child : children) {
            const int status = child->wait();
            CPPUNIT_ASSERT(status == 0 || status == 2);
            crossings += status == 2 ? 1 : 0;
        }
        CPPUNIT_ASSERT_EQUAL(1, crossings);

        const CounterView view = table->view(kT0 + std::chrono::minutes(1));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.campaigns.size());
        const double estimate = static_cast<double>(view.campaigns[0].estimate);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(100000.0, estimate, 2000.0);
        CPPUNIT_ASSERT(view.campaigns[0].crossed);
        CPPUNIT_ASSERT_EQUAL(std::string("mc"), view.campaigns[0].sender);
    }

    void campaignCrossesOnceAndRestartsAfterItsWindow()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings));
        const auto window = std::chrono::hours(1);
        auto update = table->add_to_campaign("c1", "mc", recipients("a", 0, 50), 0, 100, window, kT0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{50}, update.estimate);
        CPPUNIT_ASSERT(!update.first_crossing);
        // The same recipients again add nothing; a declared audience counts at once.
        update = table->add_to_campaign("c1", "mc", recipients("a", 0, 50), 0, 100, window, kT0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{50}, update.estimate);
        update = table->add_to_campaign("c1", "mc", {}, 500, 100, window, kT0 + std::chrono::minutes(1));
        CPPUNIT_ASSERT(update.first_crossing);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{500}, update.declared);
        update = table->add_to_campaign("c1", "mc", recipients("b", 0, 200), 0, 100, window,
                                        kT0 + std::chrono::minutes(2));
        CPPUNIT_ASSERT(!update.first_crossing);
        // An hour after its first message the campaign starts afresh, and may cross again.
        update = table->add_to_campaign("c1", "mc", recipients("c", 0, 10), 0, 100, window, kT0 + window);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{10}, update.estimate);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, update.declared);
        CPPUNIT_ASSERT(!update.first_crossing);
        update = table->add_to_campaign("c1", "mc", recipients("c", 10, 150), 0, 100, window, kT0 + window);
        CPPUNIT_ASSERT(update.first_crossing);
        CPPUNIT_ASSERT(table->view(kT0 + 2 * window).campaigns.empty());
    }

    void holderKilledWithTheLockDoesNotWedgeTheTable()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        auto table = CounterTable::open(options);
        commit_one(*table, "sender:before", kT0);
        const auto child = lock_holder(options);
        child->kill();
        CPPUNIT_ASSERT_EQUAL(1000 + SIGKILL, child->wait());

        const auto started = std::chrono::steady_clock::now();
        CPPUNIT_ASSERT(table->reserve("sender:after", kUnlimited, kT0).reservation);
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("a process died holding the counter table lock; 0 slots repaired"));
        CPPUNIT_ASSERT(rate_entry(table->view(kT0), "sender:before"));
    }

    void processKilledMidUpdateLeavesAUsableTable()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings, 64, 8);
        std::mt19937 random(12345);
        for (int round = 0; round < 12; ++round) {
            ReadySignal ready;
            Child child([&] {
                auto own = CounterTable::open(options);
                ready.tell();
                for (std::uint64_t i = 0;; ++i) {
                    commit_one(*own, "sender:" + std::to_string(i % 150), kT0);
                    own->add_to_campaign("c" + std::to_string(i % 20), "mc", recipients("r", 0, 10), 0, 15000,
                                         std::chrono::hours(1), kT0);
                }
                return 0;
            });
            CPPUNIT_ASSERT(ready.wait());
            std::this_thread::sleep_for(std::chrono::microseconds(random() % 20000));
            child.kill();
            CPPUNIT_ASSERT_EQUAL(1000 + SIGKILL, child.wait());
        }
        // Opening checks every slot: a half-written one would have the file renamed aside, unless
        // the lock's dead holder was found (then it is repaired). Neither loses the table.
        auto table = CounterTable::open(options);
        commit_one(*table, "sender:parent", kT0);
        const CounterView view = table->view(kT0);
        CPPUNIT_ASSERT(aside_files(dir, "counters").empty());
        CPPUNIT_ASSERT(rate_entry(view, "sender:parent"));
        CPPUNIT_ASSERT(view.rates.size() > 1);
        CPPUNIT_ASSERT(!view.campaigns.empty());
    }

    void damagedMagicIsRenamedAsideAndRebuilt()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        commit_one(*CounterTable::open(options), "sender:a", kT0);
        overwrite(options.path, 0, "GARBAGE!", 8);

        auto table = CounterTable::open(options);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("is not a counter table"));
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("renamed aside to " + options.path + ".corrupt-"));
        CPPUNIT_ASSERT(table->view(kT0).rates.empty());
        commit_one(*table, "sender:a", kT0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, rate_entry(table->view(kT0), "sender:a")->total);
    }

    void damagedSlotIsRenamedAsideAndRebuilt()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        commit_one(*CounterTable::open(options), "sender:a", kT0);

        // Find the one slot in use, and flip a byte of its checksum.
        const TableGeometry geometry{options.rate_slots, options.campaign_slots};
        std::ifstream in(options.path, std::ios::binary);
        std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::size_t used = 0;
        for (std::size_t i = 0; i < geometry.rate_slots; ++i) {
            const std::size_t offset = geometry.rate_offset() + i * sizeof(RateSlot);
            RateSlot slot;
            std::memcpy(static_cast<void*>(&slot), file.data() + offset, sizeof slot);
            if (slot.key_hash == 0) continue;
            ++used;
            const unsigned char flipped = static_cast<unsigned char>(slot.checksum & 0xFF) ^ 0x5A;
            overwrite(options.path, offset + offsetof(RateSlot, checksum), &flipped, 1);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, used);

        auto table = CounterTable::open(options);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("has 1 damaged slots"));
        CPPUNIT_ASSERT(table->view(kT0).rates.empty());
        commit_one(*table, "sender:b", kT0);
        CPPUNIT_ASSERT(rate_entry(table->view(kT0), "sender:b"));
    }

    // The check at open reads a chunk of slots under the lock at a time (8,192 rate, 256
    // campaign slots), as view() does: damage in the last chunk of each kind is still found.
    void damageInALaterChunkIsFound()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings, 40'000, 1'024);
        CounterTable::open(options).reset();
        const TableGeometry geometry{options.rate_slots, options.campaign_slots};
        const unsigned char garbage = 0x5A;  // an empty slot must have a zero checksum
        overwrite(options.path, geometry.rate_offset() + 39'999 * sizeof(RateSlot) + offsetof(RateSlot, checksum),
                  &garbage, 1);
        overwrite(options.path,
                  geometry.campaign_offset() + 1'000 * sizeof(CampaignSlot) + offsetof(CampaignSlot, checksum),
                  &garbage, 1);

        auto table = CounterTable::open(options);
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("has 2 damaged slots"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
    }

    void truncatedFileIsRebuilt()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        const std::size_t full_size = CounterTable::open(options)->file_size();
        std::filesystem::resize_file(options.path, full_size / 2);
        auto table = CounterTable::open(options);
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("(truncated or extended)"));
        CPPUNIT_ASSERT_EQUAL(full_size, static_cast<std::size_t>(std::filesystem::file_size(options.path)));
        table.reset();

        std::filesystem::resize_file(options.path, 10);
        table = CounterTable::open(options);
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("is too short"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, aside_files(dir, "counters").size());
        commit_one(*table, "sender:a", kT0);
        CPPUNIT_ASSERT(rate_entry(table->view(kT0), "sender:a"));
    }

    void changedSlotCountRebuilds()
    {
        TempDir dir;
        Warnings warnings;
        commit_one(*CounterTable::open(options_for(dir.path("counters"), warnings, 64)), "sender:a", kT0);
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings, 128));
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("the slot count changed"));
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("has 64 rate slots and 8 campaign slots; the configuration asks for "
                                               "128 rate slots and 8 campaign slots"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
        const CounterView view = table->view(kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{128}, view.rate_slots);
        CPPUNIT_ASSERT(view.rates.empty());
    }

    // A sparse file gets its blocks when a slot is first written through the mapping: on a full
    // file system that write would be a SIGBUS. Every block is allocated at create and at open
    // (a table an older version left sparse).
    void tableFileHasEveryBlockAllocated()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings, 4096, 64);
        const auto allocated = [&] {
            struct stat file {};
            CPPUNIT_ASSERT_EQUAL(0, ::stat(options.path.c_str(), &file));
            return static_cast<std::uint64_t>(file.st_blocks) * 512 >= static_cast<std::uint64_t>(file.st_size);
        };
        CounterTable::open(options).reset();
        CPPUNIT_ASSERT(allocated());

        // Punch the blocks out again, as an older version's ftruncate left them.
        const int fd = ::open(options.path.c_str(), O_RDWR | O_CLOEXEC);
        CPPUNIT_ASSERT(fd >= 0);
        struct stat file {};
        CPPUNIT_ASSERT_EQUAL(0, ::fstat(fd, &file));
        CPPUNIT_ASSERT_EQUAL(0, ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, file.st_size - 4096));
        ::close(fd);
        CPPUNIT_ASSERT(!allocated());
        CounterTable::open(options).reset();
        CPPUNIT_ASSERT(allocated());
        CPPUNIT_ASSERT(warnings.lines->empty());
    }

    // ecomm-milter-stats run as root rebuilds a damaged table: the new file must stay the milter
    // user's (the owner of /var/lib/ecomm-milter), or the milter cannot open it any more. As
    // another user no file can be given away, so only root can check it.
    void tableMadeByRootBelongsToItsFoldersOwner()
    {
        if (::geteuid() != 0) {
            std::cout << "\n  (not root: the ownership of a table made by root is not checked)\n";
            return;
        }
        TempDir dir;
        Warnings warnings;
        const std::string folder = dir.path("var");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(folder.c_str(), 0750));
        CPPUNIT_ASSERT_EQUAL(0, ::chown(folder.c_str(), 65534, 65534));
        CounterTable::open(options_for(folder + "/counters", warnings)).reset();
        struct stat file {};
        CPPUNIT_ASSERT_EQUAL(0, ::stat((folder + "/counters").c_str(), &file));
        CPPUNIT_ASSERT_EQUAL(uid_t{65534}, file.st_uid);
        CPPUNIT_ASSERT_EQUAL(gid_t{65534}, file.st_gid);
        CPPUNIT_ASSERT_EQUAL(0640u, static_cast<unsigned>(file.st_mode & 07777));
    }

    // view() reads a chunk of slots under the lock at a time (8,192 rate, 256 campaign slots):
    // every entry must still be in the view, once.
    void viewReadsEveryChunk()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings, 40'000, 1'024));
        for (int i = 0; i < 20'000; ++i) commit_one(*table, "sender:" + std::to_string(i), kT0);
        for (int i = 0; i < 600; ++i)
            table->add_to_campaign("c" + std::to_string(i), "mc", recipients("r", 0, 1), 0, 15000,
                                   std::chrono::hours(1), kT0);
        const CounterView view = table->view(kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{20'000}, view.rates.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{600}, view.campaigns.size());
        std::vector<std::string> keys;
        for (const auto& entry : view.rates) keys.push_back(entry.key);
        std::sort(keys.begin(), keys.end());
        CPPUNIT_ASSERT(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
        CPPUNIT_ASSERT_EQUAL(std::size_t{40'000}, view.rate_slots);
    }

    void countsSurviveReopening()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        auto table = CounterTable::open(options);
        for (int i = 0; i < 3; ++i) commit_one(*table, "sender:kept", kT0);
        const auto pending = table->reserve("sender:kept", kUnlimited, kT0);
        table->add_to_campaign("c1", "mc", recipients("a", 0, 40), 70, 15000, std::chrono::hours(1), kT0);
        table.reset();

        table = CounterTable::open(options);
        const CounterView view = table->view(kT0 + std::chrono::seconds(5));
        const RateEntryView* entry = rate_entry(view, "sender:kept");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, entry->total);
        CPPUNIT_ASSERT_EQUAL(4, entry->in_window);
        CPPUNIT_ASSERT_EQUAL(1, entry->pending);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.campaigns.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{40}, view.campaigns[0].estimate);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{70}, view.campaigns[0].declared);
        // A reservation made before the restart can still be committed after it.
        table->commit(*pending.reservation, kT0 + std::chrono::seconds(5));
        const CounterView after = table->view(kT0 + std::chrono::seconds(5));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, rate_entry(after, "sender:kept")->total);
        CPPUNIT_ASSERT_EQUAL(0, rate_entry(after, "sender:kept")->pending);
        CPPUNIT_ASSERT(warnings.lines->empty());
    }

    void fullTableEvictsAndWarnsOnce()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings, 64));
        for (int i = 0; i < 200; ++i) commit_one(*table, "sender:" + std::to_string(i), kT0);
        const CounterView view = table->view(kT0);
        CPPUNIT_ASSERT(view.evictions >= 200 - 64);
        CPPUNIT_ASSERT_EQUAL(std::size_t{64}, view.rates.size());
        CPPUNIT_ASSERT(rate_entry(view, "sender:199"));  // the newest are kept
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("is full: evicted"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, warnings.lines->size());

        // Expired entries are taken before live ones are evicted.
        const std::uint64_t evictions = view.evictions;
        for (int i = 0; i < 16; ++i) commit_one(*table, "later:" + std::to_string(i), kT0 + std::chrono::minutes(5));
        CPPUNIT_ASSERT_EQUAL(evictions, table->view(kT0 + std::chrono::minutes(5)).evictions);
    }

    void lockHeldByALiveProcessTimesOut()
    {
        TempDir dir;
        Warnings warnings;
        auto options = options_for(dir.path("counters"), warnings);
        options.lock_timeout = std::chrono::milliseconds(50);
        auto table = CounterTable::open(options);
        const auto child = lock_holder(options);
        CPPUNIT_ASSERT_THROW(table->reserve("sender:a", kUnlimited, kT0), CounterError);
        CPPUNIT_ASSERT_THROW(table->view(kT0), CounterError);
        child->kill();
        CPPUNIT_ASSERT_EQUAL(1000 + SIGKILL, child->wait());
        CPPUNIT_ASSERT(table->reserve("sender:a", kUnlimited, kT0).reservation);
    }

    void lockFromAnotherBootIsReinitialised()
    {
        TempDir dir;
        Warnings warnings;
        auto options = options_for(dir.path("counters"), warnings);
        options.lock_timeout = std::chrono::milliseconds(50);
        commit_one(*CounterTable::open(options), "sender:kept", kT0);
        const auto child = lock_holder(options);
        CPPUNIT_ASSERT_THROW(CounterTable::open(options), CounterError);

        // As if the lock had been taken before the machine last went down: opening starts it afresh.
        overwrite(options.path, offsetof(TableHeader, boot_id), "an-earlier-boot", 16);
        auto table = CounterTable::open(options);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, rate_entry(table->view(kT0), "sender:kept")->total);
        CPPUNIT_ASSERT(aside_files(dir, "counters").empty());
    }

    void unrecoverableLockGetsTheFileRebuilt()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        auto table = CounterTable::open(options);
        commit_one(*table, "sender:a", kT0);

        // A holder dies; the next one unlocks without marking the mutex consistent.
        const int fd = ::open(options.path.c_str(), O_RDWR);
        CPPUNIT_ASSERT(fd >= 0);
        void* mapped = mmap(nullptr, sizeof(TableHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        CPPUNIT_ASSERT(mapped != MAP_FAILED);
        auto* header = static_cast<TableHeader*>(mapped);
        Child holder([&] { return pthread_mutex_lock(&header->mutex) == 0 ? 0 : 1; });
        CPPUNIT_ASSERT_EQUAL(0, holder.wait());
        CPPUNIT_ASSERT_EQUAL(EOWNERDEAD, pthread_mutex_lock(&header->mutex));
        pthread_mutex_unlock(&header->mutex);
        munmap(mapped, sizeof(TableHeader));

        CPPUNIT_ASSERT_THROW(table->reserve("sender:a", kUnlimited, kT0), CounterError);
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        CPPUNIT_ASSERT(table->reserve("sender:b", kUnlimited, kT0).reservation);
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("has a lock left unrecoverable: renamed aside"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
        CPPUNIT_ASSERT(!rate_entry(table->view(kT0), "sender:a"));
    }

    void resetForgetsRateEntriesAndCampaigns()
    {
        TempDir dir;
        Warnings warnings;
        auto table = CounterTable::open(options_for(dir.path("counters"), warnings));
        const auto reserved = table->reserve("sender:x", kUnlimited, kT0);
        commit_one(*table, "sender:y", kT0);
        table->add_to_campaign("campaign-1", "mc", recipients("a", 0, 5), 0, 15000, std::chrono::hours(1), kT0);

        CPPUNIT_ASSERT(table->reset("sender:x"));
        CounterView view = table->view(kT0);
        CPPUNIT_ASSERT(!rate_entry(view, "sender:x"));
        CPPUNIT_ASSERT(rate_entry(view, "sender:y"));
        table->commit(*reserved.reservation, kT0);  // its entry is gone: nothing to do
        CPPUNIT_ASSERT(!rate_entry(table->view(kT0), "sender:x"));

        CPPUNIT_ASSERT(table->reset("campaign-1"));
        CPPUNIT_ASSERT(table->view(kT0).campaigns.empty());
        CPPUNIT_ASSERT(!table->reset("campaign-1"));
        CPPUNIT_ASSERT(!table->reset("nothing"));
    }

    void anonymousTableIsSharedWithForkedChildren()
    {
        Warnings warnings;
        auto table = CounterTable::open(options_for("", warnings));
        CPPUNIT_ASSERT(table->path().empty());
        Child child([&] {
            for (int i = 0; i < 10; ++i) commit_one(*table, "sender:child", kT0);
            return 0;
        });
        CPPUNIT_ASSERT_EQUAL(0, child.wait());
        const CounterView view = table->view(kT0);
        CPPUNIT_ASSERT_EQUAL(std::string("anonymous"), view.location);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{10}, rate_entry(view, "sender:child")->total);
    }

    void fileRebuiltByAnotherProcessIsFollowed()
    {
        TempDir dir;
        Warnings warnings;
        const auto options = options_for(dir.path("counters"), warnings);
        auto first = CounterTable::open(options);
        commit_one(*first, "sender:old", kT0);
        std::filesystem::remove(options.path);
        auto second = CounterTable::open(options);  // builds a new file at the path
        commit_one(*second, "sender:new", kT0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        const CounterView view = first->view(kT0);
        CPPUNIT_ASSERT(rate_entry(view, "sender:new"));
        CPPUNIT_ASSERT(!rate_entry(view, "sender:old"));
    }

    // A reload that changes rate_slots rebuilds the table, while connections still on the old
    // configuration keep a table for the old counts. When theirs is replaced they must use the new
    // file as it is: rebuilding it back, in turn with the new one, wiped every count each second.
    void reopeningKeepsAnotherProcesssSlotCounts()
    {
        TempDir dir;
        Warnings warnings;
        auto old_counts = CounterTable::open(options_for(dir.path("counters"), warnings, 64));
        commit_one(*old_counts, "sender:a", kT0);
        auto new_counts = CounterTable::open(options_for(dir.path("counters"), warnings, 128));  // rebuilds
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
        for (int round = 0; round < 2; ++round) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the replaced-file check
            commit_one(*old_counts, "sender:b", kT0);
            commit_one(*new_counts, "sender:b", kT0);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aside_files(dir, "counters").size());
        const CounterView view = new_counts->view(kT0);
        CPPUNIT_ASSERT_EQUAL(std::size_t{128}, view.rate_slots);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, rate_entry(view, "sender:b")->total);
        CPPUNIT_ASSERT_EQUAL(std::size_t{128}, old_counts->view(kT0).rate_slots);
        CPPUNIT_ASSERT_EQUAL(1, warnings.count("another process rebuilt it so; used as it is"));
    }

    void unusableOptionsThrowCounterError()
    {
        TempDir dir;
        Warnings warnings;
        CPPUNIT_ASSERT_THROW(CounterTable::open(options_for("", warnings, 63)), CounterError);
        CPPUNIT_ASSERT_THROW(CounterTable::open(options_for("", warnings, 64, 65537)), CounterError);
        CPPUNIT_ASSERT_THROW(CounterTable::open(options_for(dir.path("missing/counters"), warnings)), CounterError);
        CPPUNIT_ASSERT(CounterTable::open(options_for("", warnings, 1'000'000, 8)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CounterTableTest);

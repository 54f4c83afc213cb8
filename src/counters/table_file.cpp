// Opening, checking, creating and rebuilding the counter table file, and its lock (table_file.h).
#include "counters/table_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

#include "counters/table_slots.h"

namespace ecomm {

namespace {

constexpr int kOpenAttempts = 8;
// Another process may hold the flock while it checks every slot of a large table.
constexpr std::chrono::milliseconds kFileLockTimeout{10000};

TableGeometry checked_geometry(const CounterTableOptions& options)
{
    if (options.rate_slots < 64 || options.rate_slots > 1'000'000)
        throw CounterError("counter table: rate slots must be 64 to 1000000, not " +
                           std::to_string(options.rate_slots));
    if (options.campaign_slots < 8 || options.campaign_slots > 65'536)
        throw CounterError("counter table: campaign slots must be 8 to 65536, not " +
                           std::to_string(options.campaign_slots));
    return TableGeometry{options.rate_slots, options.campaign_slots};
}

// Unlinks a temporary name at scope exit, whether or not the file was linked into place.
class TemporaryName {
public:
    explicit TemporaryName(std::string path) : path_(std::move(path)) {}
    ~TemporaryName() { ::unlink(path_.c_str()); }
    TemporaryName(const TemporaryName&) = delete;
    TemporaryName& operator=(const TemporaryName&) = delete;

private:
    std::string path_;
};

// Gives the file its size with every block allocated. A sparse file would be filled in as slots
// are first written through the mapping, and on a full file system that write is a SIGBUS that
// kills the milter; here it is an error the caller handles (on_error).
void allocate_blocks(int fd, std::size_t size, const std::string& path)
{
    if (const int error = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); error != 0)
        throw CounterError(system_error_text("cannot allocate the blocks of counter table " + path, error));
}

// A table made by root (ecomm-milter-stats run as root rebuilding a damaged one, a daemon that
// drops privileges later) goes to whoever owns its folder, so that the milter's user can still
// open it: /var/lib/ecomm-milter belongs to that user.
void give_to_folder_owner(int fd, const std::string& path)
{
    if (::geteuid() != 0) return;
    const std::string folder = path.substr(0, path.find_last_of('/') + 1);
    struct stat owner {};
    if (::stat(folder.empty() ? "." : folder.c_str(), &owner) != 0 || owner.st_uid == 0) return;
    if (::fchown(fd, owner.st_uid, owner.st_gid) != 0)
        throw CounterError(system_error_text("cannot give counter table " + path + " to its folder's owner", errno));
}

void initialise(unsigned char* base, const TableGeometry& geometry)
{
    const TableParts parts = table_parts(base, geometry);
    init_robust_mutex(parts.header->mutex);
    seal_new_header(*parts.header, geometry, current_boot_id());
}

// Builds an empty table file and links it in at path. False when path exists already (another
// process made it first); the caller then opens that one.
bool create_file(const std::string& path, const TableGeometry& geometry)
{
    std::string temporary = path + ".new-XXXXXX";
    const FileDescriptor fd(::mkostemp(temporary.data(), O_CLOEXEC));
    if (!fd.valid()) throw CounterError(system_error_text("cannot create counter table " + path, errno));
    const TemporaryName remove_at_exit(temporary);
    if (::fchmod(fd.get(), 0640) != 0)
        throw CounterError(system_error_text("cannot create counter table " + path, errno));
    allocate_blocks(fd.get(), geometry.file_size(), path);
    give_to_folder_owner(fd.get(), path);
    {
        const SharedMapping mapping = SharedMapping::of_file(fd.get(), geometry.file_size(), "counter table " + path);
        initialise(mapping.data(), geometry);
    }
    if (::link(temporary.c_str(), path.c_str()) == 0) return true;
    if (errno == EEXIST) return false;
    throw CounterError(system_error_text("cannot create counter table " + path, errno));
}

void rename_aside(const std::string& path, const std::string& problem, const Warn& warn)
{
    const std::string base = path + ".corrupt-" + std::to_string(std::time(nullptr));
    std::string aside = base;
    for (int n = 1; n < 100 && ::access(aside.c_str(), F_OK) == 0; ++n) aside = base + "-" + std::to_string(n);
    if (::rename(path.c_str(), aside.c_str()) != 0)
        throw CounterError(system_error_text("counter table " + path + " " + problem + ", and renaming it aside failed",
                                             errno));
    send_warning(warn, "counter table " + path + " " + problem + ": renamed aside to " + aside +
                           " and rebuilt empty");
}

TableHeader read_header(int fd)
{
    TableHeader header{};
    if (::pread(fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return TableHeader{};
    return header;
}

bool names_file(const std::string& path, const struct stat& file)
{
    struct stat named {};
    return ::stat(path.c_str(), &named) == 0 && named.st_dev == file.st_dev && named.st_ino == file.st_ino;
}

void repair_after_dead_holder(TableFile& table, RobustLock& lock, const Warn& warn)
{
    const std::size_t repaired = clear_invalid_slots(table.parts());
    lock.mark_consistent();
    send_warning(warn, "counter table " + table.name() + ": a process died holding the counter table lock; " +
                           std::to_string(repaired) + " slots repaired");
}

// The checks made under the flock once the header is known good. Returns why the file must be
// rebuilt, or "".
std::string check_opened_table(TableFile& table, std::chrono::milliseconds timeout, const Warn& warn)
{
    // A lock held when the machine went down would never be released: a new boot starts afresh.
    TableHeader& header = *table.parts().header;
    const std::string boot_id = current_boot_id();
    if (!boot_id.empty() && !boot_id_matches(header, boot_id)) {
        init_robust_mutex(header.mutex);
        store_boot_id(header, boot_id);
    }
    // The slots a chunk at a time, each under the lock on its own (kRateSlotsPerLock).
    const TableParts& parts = table.parts();
    std::size_t damaged = 0;
    std::size_t rate_at = 0;
    std::size_t campaign_at = 0;
    do {
        RobustLock lock(header.mutex, timeout, table.name());
        switch (lock.state()) {
        case LockState::unrecoverable: return "has a lock left unrecoverable";
        case LockState::previous_holder_died: repair_after_dead_holder(table, lock, warn); return "";
        case LockState::held: break;
        }
        const std::size_t rates = std::min(kRateSlotsPerLock, parts.rates.size() - rate_at);
        const std::size_t campaigns =
            rates > 0 ? 0 : std::min(kCampaignSlotsPerLock, parts.campaigns.size() - campaign_at);
        damaged += count_invalid_slots(
            TableParts{parts.header, parts.rates.subspan(rate_at, rates), parts.campaigns.subspan(campaign_at, campaigns)});
        rate_at += rates;
        campaign_at += campaigns;
    } while (rate_at < parts.rates.size() || campaign_at < parts.campaigns.size());
    return damaged > 0 ? "has " + std::to_string(damaged) + " damaged slots" : "";
}

// The geometry a sound header describes, when it is one options could ask for.
std::optional<TableGeometry> own_geometry(const TableHeader& header, std::uint64_t file_size)
{
    CounterTableOptions counts;
    counts.rate_slots = header.rate_slot_count;
    counts.campaign_slots = header.campaign_slot_count;
    try {
        const TableGeometry geometry = checked_geometry(counts);
        if (header_problem(header, file_size, geometry).empty()) return geometry;
    } catch (const CounterError&) {
    }
    return std::nullopt;
}

std::shared_ptr<TableFile> open_file(const CounterTableOptions& options, const TableGeometry& wanted,
                                     const Warn& warn, TableFile::OtherSlotCounts other)
{
    const std::string& path = options.path;
    for (int attempt = 0; attempt < kOpenAttempts; ++attempt) {
        const FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!fd.valid()) {
            if (errno != ENOENT) throw CounterError(system_error_text("cannot open counter table " + path, errno));
            create_file(path, wanted);
            continue;  // open what is there now, made by us or by another process
        }
        const ExclusiveFileLock flock(fd.get(), kFileLockTimeout, "counter table " + path);
        struct stat file {};
        if (::fstat(fd.get(), &file) != 0)
            throw CounterError(system_error_text("cannot examine counter table " + path, errno));
        if (!S_ISREG(file.st_mode)) throw CounterError("counter table " + path + " is not a regular file");
        if (!names_file(path, file)) continue;  // renamed aside or rebuilt while we waited for the flock

        const TableHeader header = read_header(fd.get());
        const auto size = static_cast<std::uint64_t>(file.st_size);
        TableGeometry geometry = wanted;
        std::string problem = header_problem(header, size, geometry);
        if (!problem.empty() && other == TableFile::OtherSlotCounts::adopt) {
            if (const auto own = own_geometry(header, size)) {
                send_warning(warn, "counter table " + path + " " + problem +
                                       ": another process rebuilt it so; used as it is");
                geometry = *own;
                problem.clear();
            }
        }
        if (problem.empty()) {
            allocate_blocks(fd.get(), geometry.file_size(), path);  // one an older version left sparse
            auto table = std::make_shared<TableFile>(
                SharedMapping::of_file(fd.get(), geometry.file_size(), "counter table " + path), geometry, path,
                TableFile::Identity{file.st_dev, file.st_ino});
            problem = check_opened_table(*table, options.lock_timeout, warn);
            if (problem.empty()) return table;
        }
        rename_aside(path, problem, warn);
    }
    throw CounterError("counter table " + path + " kept changing while it was being opened");
}

}  // namespace

void send_warning(const Warn& warn, const std::string& line) noexcept
{
    try {
        if (warn) warn(line);
    } catch (...) {
    }
}

std::shared_ptr<TableFile> TableFile::open(const CounterTableOptions& options, const Warn& warn, OtherSlotCounts other)
{
    const TableGeometry geometry = checked_geometry(options);
    if (!options.path.empty()) return open_file(options, geometry, warn, other);
    SharedMapping mapping = SharedMapping::anonymous(geometry.file_size());
    initialise(mapping.data(), geometry);
    return std::make_shared<TableFile>(std::move(mapping), geometry, "", Identity{});
}

TableFile::TableFile(SharedMapping mapping, const TableGeometry& geometry, std::string path, Identity identity)
    : mapping_(std::move(mapping)),
      parts_(table_parts(mapping_.data(), geometry)),
      path_(std::move(path)),
      name_(path_.empty() ? "anonymous" : path_),
      identity_(identity)
{
}

bool TableFile::needs_reopening() const
{
    if (path_.empty()) return false;
    if (unrecoverable_) return true;
    struct stat named {};
    if (::stat(path_.c_str(), &named) != 0) return errno == ENOENT;
    return named.st_dev != identity_.device || named.st_ino != identity_.inode;
}

TableLock::TableLock(TableFile& table, std::chrono::milliseconds timeout, const Warn& warn)
    : lock_(table.parts().header->mutex, timeout, table.name())
{
    if (lock_.state() == LockState::unrecoverable) {
        table.unrecoverable_ = true;
        throw CounterError("counter table " + table.name() +
                           " has a lock left unrecoverable; it is rebuilt when next opened");
    }
    if (lock_.state() == LockState::previous_holder_died) repair_after_dead_holder(table, lock_, warn);
}

}  // namespace ecomm

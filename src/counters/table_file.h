// One counter table mapped into this process: finding, checking, creating and rebuilding its
// file (counter_table.h describes the rules), or an anonymous shared mapping when there is no
// path; and TableLock, the guard every read or update of its slots holds.
//
// Opening retries a few times because other processes may be creating, or renaming aside and
// rebuilding, the same file at the same moment: the flock is taken on the file that path names,
// and after getting it the opener checks that path still names that file. A new file is built
// under a private temporary name and link()ed into place, which fails rather than replaces when
// another process got there first.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "counters/counter_table.h"
#include "counters/mapped_file.h"
#include "counters/robust_mutex.h"
#include "counters/table_layout.h"

namespace ecomm {

using Warn = std::function<void(const std::string&)>;

// Passes line to warn; a warn that throws is ignored (a log line must not undo an update).
void send_warning(const Warn& warn, const std::string& line) noexcept;

class TableFile {
public:
    // What opening does with a sound table whose slot counts differ from options': a first open
    // rebuilds it (the configuration changed); a reopen, after another process replaced the file,
    // uses it as it is. That process's configuration is the newer one (a reload, while this
    // mapping serves a connection still on the old one) or simply differs: rebuilding it back
    // would wipe every count, in turn, for as long as both run.
    enum class OtherSlotCounts { rebuild, adopt };

    // Opens, creates or rebuilds the table for options (whose slot counts it checks). Throws
    // CounterError when that cannot be done.
    static std::shared_ptr<TableFile> open(const CounterTableOptions& options, const Warn& warn,
                                           OtherSlotCounts other = OtherSlotCounts::rebuild);

    const TableParts& parts() const { return parts_; }
    std::size_t size() const { return mapping_.size(); }
    const std::string& name() const { return name_; }  // for messages: the path, or "anonymous"

    // Whether this mapping should be given up for what path names now: another process rebuilt
    // the file (or it was removed), or its lock became unrecoverable. Calls stat(); never true
    // for an anonymous table.
    bool needs_reopening() const;

    struct Identity {
        dev_t device = 0;
        ino_t inode = 0;
    };
    TableFile(SharedMapping mapping, const TableGeometry& geometry, std::string path, Identity identity);

private:
    friend class TableLock;
    SharedMapping mapping_;
    TableParts parts_;
    std::string path_;
    std::string name_;
    Identity identity_;
    std::atomic<bool> unrecoverable_{false};
};

// The table's lock, held for one operation. When its last holder died, every slot is checked and
// the damaged ones cleared (and that logged) before the constructor returns. Throws CounterError
// on timeout, and when the lock is unrecoverable (the table is then rebuilt on reopening).
class TableLock {
public:
    TableLock(TableFile& table, std::chrono::milliseconds timeout, const Warn& warn);
    TableLock(const TableLock&) = delete;
    TableLock& operator=(const TableLock&) = delete;

    void keep_forever() { lock_.keep_forever(); }

private:
    RobustLock lock_;
};

}  // namespace ecomm

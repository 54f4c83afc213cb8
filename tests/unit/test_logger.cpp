// Unit tests for the logger's copy of each line on stderr (the daemon with -f): LOG_PERROR's
// form "ecomm-milter[PID]: line", one line per call, a '%' in the text kept as it is, and no copy
// when systemd's journal takes stderr or after the daemon has detached.
#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/logger.h"
#include "temp_files.h"

namespace ecomm {
namespace {

// Sends fd 2 to a file for the object's lifetime and unsets JOURNAL_STREAM; restores both.
class CapturedStderr {
public:
    explicit CapturedStderr(const std::string& path)
        : path_(path), saved_fd_(dup(STDERR_FILENO))
    {
        if (const char* journal = std::getenv("JOURNAL_STREAM")) saved_journal_ = journal;
        unsetenv("JOURNAL_STREAM");
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        if (saved_fd_ < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0) throw std::runtime_error("cannot capture stderr");
        close(fd);
    }
    ~CapturedStderr()
    {
        dup2(saved_fd_, STDERR_FILENO);
        close(saved_fd_);
        if (saved_journal_) setenv("JOURNAL_STREAM", saved_journal_->c_str(), 1);
        log::open(false);  // no copy on stderr for the tests that follow
    }
    CapturedStderr(const CapturedStderr&) = delete;
    CapturedStderr& operator=(const CapturedStderr&) = delete;

    std::string text() const
    {
        std::ifstream in(path_, std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

private:
    std::string path_;
    int saved_fd_;
    std::optional<std::string> saved_journal_;
};

std::string prefix() { return "ecomm-milter[" + std::to_string(getpid()) + "]: "; }

}  // namespace

class LoggerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LoggerTest);
    CPPUNIT_TEST(foreground_copies_each_line_as_log_perror_did);
    CPPUNIT_TEST(no_copy_after_detaching_or_under_the_journal);
    CPPUNIT_TEST_SUITE_END();

public:
    void foreground_copies_each_line_as_log_perror_did()
    {
        test::TempDir dir;
        CapturedStderr captured(dir.path("stderr"));
        log::open(true);
        log::info("Q1: action=accept detail=\"100% %s %n\"");
        log::error("ends with a newline\n");
        CPPUNIT_ASSERT_EQUAL(prefix() + "Q1: action=accept detail=\"100% %s %n\"\n" + prefix() +
                                 "ends with a newline\n",
                             captured.text());
    }

    void no_copy_after_detaching_or_under_the_journal()
    {
        test::TempDir dir;
        CapturedStderr captured(dir.path("stderr"));
        log::open(false);
        log::notice("syslog only");
        setenv("JOURNAL_STREAM", "8:12345", 1);
        log::open(true);
        log::warning("the journal has it");
        CPPUNIT_ASSERT_EQUAL(std::string(), captured.text());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LoggerTest);

}  // namespace ecomm

// Unit tests for the daemon's own syslog client: glibc's line format, a syslog daemon that
// restarts, one that is missing at first, a stream socket, and whole lines from many threads.
#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/syslog_socket.h"
#include "temp_files.h"

namespace ecomm {
namespace {

using namespace std::chrono_literals;

// A listening syslog daemon's socket at path, removed with the object.
class Listener {
public:
    Listener(const std::string& path, int type) : path_(path)
    {
        fd_ = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
            (type == SOCK_STREAM && ::listen(fd_, 4) != 0))
            throw std::runtime_error("cannot listen on " + path);
    }
    ~Listener()
    {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // The next datagram, or "" after two seconds without one.
    std::string receive() const { return read_from(fd_); }

    // The bytes of the first stream connection, read until the peer sent end_after bytes.
    std::string accept_and_read(std::size_t end_after) const
    {
        const int connection = ::accept(fd_, nullptr, nullptr);
        std::string text;
        while (connection >= 0 && text.size() < end_after) {
            const std::string more = read_from(connection);
            if (more.empty()) break;
            text += more;
        }
        if (connection >= 0) ::close(connection);
        return text;
    }

private:
    static std::string read_from(int fd)
    {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, 2000) != 1) return "";
        char buffer[4096];
        const ssize_t length = ::recv(fd, buffer, sizeof buffer, 0);
        return length > 0 ? std::string(buffer, static_cast<std::size_t>(length)) : "";
    }

    std::string path_;
    int fd_;
};

std::string syslog_time(std::time_t when)
{
    std::tm local{};
    localtime_r(&when, &local);
    char text[16];
    format_syslog_time(local, text);
    return std::string(text, sizeof text);
}

// "<22>Mmm dd hh:mm:ss " with the time of now or of the second before.
bool has_head_of_now(const std::string& line, int priority)
{
    const std::time_t now = std::time(nullptr);
    const std::string pri = "<" + std::to_string(priority) + ">";
    return line.rfind(pri + syslog_time(now), 0) == 0 || line.rfind(pri + syslog_time(now - 1), 0) == 0;
}

constexpr int kMailInfo = LOG_MAIL | LOG_INFO;

}  // namespace

class SyslogSocketTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SyslogSocketTest);
    CPPUNIT_TEST(time_stamp_as_glibc_writes_it);
    CPPUNIT_TEST(a_datagram_per_line_in_glibc_format);
    CPPUNIT_TEST(connects_again_after_the_daemon_restarts);
    CPPUNIT_TEST(a_missing_daemon_is_tried_again_after_the_interval);
    CPPUNIT_TEST(a_stream_socket_gets_lines_ended_by_nul);
    CPPUNIT_TEST(lines_from_many_threads_arrive_whole);
    CPPUNIT_TEST_SUITE_END();

public:
    void time_stamp_as_glibc_writes_it()
    {
        std::tm local{};
        local.tm_mon = 11;
        local.tm_mday = 6;
        local.tm_hour = 7;
        local.tm_min = 5;
        local.tm_sec = 9;
        char text[16];
        format_syslog_time(local, text);
        CPPUNIT_ASSERT_EQUAL(std::string("Dec  6 07:05:09 "), std::string(text, sizeof text));
        local.tm_mon = 0;
        local.tm_mday = 25;
        local.tm_hour = 23;
        local.tm_min = 59;
        local.tm_sec = 60;  // a leap second
        format_syslog_time(local, text);
        CPPUNIT_ASSERT_EQUAL(std::string("Jan 25 23:59:60 "), std::string(text, sizeof text));
    }

    void a_datagram_per_line_in_glibc_format()
    {
        test::TempDir dir;
        const Listener daemon(dir.path("log"), SOCK_DGRAM);
        SyslogSocket socket(dir.path("log"));
        CPPUNIT_ASSERT(socket.send(kMailInfo, "ecomm-milter[42]: ", "Q1: detail=\"100% %s %n\""));
        CPPUNIT_ASSERT(socket.send(LOG_MAIL | LOG_ERR, "ecomm-milter[42]: ", "second"));
        const std::string first = daemon.receive();
        const std::string second = daemon.receive();
        CPPUNIT_ASSERT_MESSAGE(first, has_head_of_now(first, 22));
        CPPUNIT_ASSERT_EQUAL(std::string("ecomm-milter[42]: Q1: detail=\"100% %s %n\""), first.substr(20));
        CPPUNIT_ASSERT_MESSAGE(second, has_head_of_now(second, 19));
        CPPUNIT_ASSERT_EQUAL(std::string("ecomm-milter[42]: second"), second.substr(20));
    }

    void connects_again_after_the_daemon_restarts()
    {
        test::TempDir dir;
        const std::string path = dir.path("log");
        auto first = std::make_unique<Listener>(path, SOCK_DGRAM);
        // An hour between attempts: it holds back only attempts after a failed connect.
        SyslogSocket socket(path, 1h);
        CPPUNIT_ASSERT(socket.send(kMailInfo, "t: ", "one"));
        CPPUNIT_ASSERT(first->receive().ends_with("t: one"));
        first.reset();  // the daemon stops; a new one binds the same path
        const Listener second(path, SOCK_DGRAM);
        CPPUNIT_ASSERT(socket.send(kMailInfo, "t: ", "two"));
        CPPUNIT_ASSERT(second.receive().ends_with("t: two"));
    }

    void a_missing_daemon_is_tried_again_after_the_interval()
    {
        test::TempDir dir;
        SyslogSocket patient(dir.path("log"), 1h);
        SyslogSocket eager(dir.path("log"), 0s);
        CPPUNIT_ASSERT(!eager.send(kMailInfo, "t: ", "nobody listens"));
        const Listener daemon(dir.path("log"), SOCK_DGRAM);
        CPPUNIT_ASSERT(!patient.send(kMailInfo, "t: ", "within the hour"));
        CPPUNIT_ASSERT(eager.send(kMailInfo, "t: ", "now"));
        CPPUNIT_ASSERT(daemon.receive().ends_with("t: now"));
        CPPUNIT_ASSERT_EQUAL(std::string(), daemon.receive());  // nothing from patient
    }

    void a_stream_socket_gets_lines_ended_by_nul()
    {
        test::TempDir dir;
        const Listener daemon(dir.path("log"), SOCK_STREAM);
        SyslogSocket socket(dir.path("log"));
        CPPUNIT_ASSERT(socket.send(kMailInfo, "t: ", "one"));
        CPPUNIT_ASSERT(socket.send(kMailInfo, "t: ", "two"));
        const std::string text = daemon.accept_and_read(2 * (20 + 6 + 1));
        const std::size_t nul = text.find('\0');
        CPPUNIT_ASSERT(nul != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("t: one"), text.substr(20, nul - 20));
        CPPUNIT_ASSERT(has_head_of_now(text.substr(nul + 1), 22));
        CPPUNIT_ASSERT_EQUAL(std::string("t: two") + '\0', text.substr(nul + 1 + 20));
    }

    void lines_from_many_threads_arrive_whole()
    {
        test::TempDir dir;
        const Listener daemon(dir.path("log"), SOCK_DGRAM);
        SyslogSocket socket(dir.path("log"));
        constexpr int kThreads = 4;
        constexpr int kLines = 300;
        const std::string text(900, 'x');  // longer than a small send would keep whole by chance
        std::vector<std::thread> senders;
        for (int t = 0; t < kThreads; ++t)
            senders.emplace_back([&, t] {
                for (int i = 0; i < kLines; ++i) socket.send(kMailInfo, "t" + std::to_string(t) + ": ", text);
            });
        int whole = 0;
        for (int i = 0; i < kThreads * kLines; ++i) {
            const std::string line = daemon.receive();
            if (line.size() == 20 + 4 + text.size() && line.ends_with(": " + text)) ++whole;
        }
        for (std::thread& sender : senders) sender.join();
        CPPUNIT_ASSERT_EQUAL(kThreads * kLines, whole);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SyslogSocketTest);

}  // namespace ecomm

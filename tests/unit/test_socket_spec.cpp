// Tests for milter/socket_spec: the socket specification forms and their errors, the stale
// unix socket check against real sockets in a private temporary directory, and which stages
// each socket kind negotiates without a reply ([milter] no_reply, milter/glue.h).
#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "milter/daemon.h"
#include "milter/glue.h"
#include "milter/socket_spec.h"
#include "temp_files.h"

namespace {

using ecomm::SocketSpec;

SocketSpec parsed(const std::string& text)
{
    const auto result = ecomm::parse_socket_spec(text);
    if (!result.spec) throw std::runtime_error("unexpected error for " + text + ": " + result.error);
    return *result.spec;
}

std::string error_for(const std::string& text)
{
    const auto result = ecomm::parse_socket_spec(text);
    return result.spec ? std::string("(accepted)") : result.error;
}

bool mentions(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

// A unix stream socket bound at path; listening when listen is true. Closing it leaves the file
// behind, exactly as a milter that died would.
class UnixSocket {
public:
    UnixSocket(const std::string& path, bool listening) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0))
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("cannot bind " + path);
        if (listening && ::listen(fd_, 4) != 0) throw std::runtime_error("cannot listen on " + path);
    }
    ~UnixSocket() { close(); }
    UnixSocket(const UnixSocket&) = delete;
    UnixSocket& operator=(const UnixSocket&) = delete;
    void close()
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

}  // namespace

class SocketSpecTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SocketSpecTest);
    CPPUNIT_TEST(unix_forms);
    CPPUNIT_TEST(inet_forms);
    CPPUNIT_TEST(inet6_forms);
    CPPUNIT_TEST(bad_specifications);
    CPPUNIT_TEST(free_path_is_ok);
    CPPUNIT_TEST(missing_directory_is_named);
    CPPUNIT_TEST(dead_socket_is_removed);
    CPPUNIT_TEST(live_listener_is_detected);
    CPPUNIT_TEST(regular_file_is_refused);
    CPPUNIT_TEST(data_replies_over_tcp);
    CPPUNIT_TEST(missing_socket_folder_is_a_startup_problem);
    CPPUNIT_TEST_SUITE_END();

public:
    // Over TCP DATA keeps its reply, which acknowledges the MTA's commands before the message
    // (otherwise Nagle holds the message for the delayed ACK); a unix socket has no ACK to wait.
    void data_replies_over_tcp()
    {
        using ecomm::QuietStages;
        using NoReply = ecomm::MainConfig::NoReply;
        CPPUNIT_ASSERT(ecomm::quiet_stages(NoReply::always, true) == QuietStages::all);
        CPPUNIT_ASSERT(ecomm::quiet_stages(NoReply::always, false) == QuietStages::all_but_data);
        CPPUNIT_ASSERT(ecomm::quiet_stages(NoReply::unix_only, true) == QuietStages::all);
        CPPUNIT_ASSERT(ecomm::quiet_stages(NoReply::unix_only, false) == QuietStages::none);
        CPPUNIT_ASSERT(ecomm::quiet_stages(NoReply::never, true) == QuietStages::none);
        CPPUNIT_ASSERT(ecomm::quiet_stages(NoReply::never, false) == QuietStages::none);
    }

    void unix_forms()
    {
        const char* const forms[] = {"unix:/run/m.sock", "local:/run/m.sock", "/run/m.sock",
                                     "UNIX:/run/m.sock"};
        for (const char* text : forms) {
            const SocketSpec spec = parsed(text);
            CPPUNIT_ASSERT(spec.is_unix());
            CPPUNIT_ASSERT_EQUAL(std::string("/run/m.sock"), spec.path);
            CPPUNIT_ASSERT_EQUAL(std::string("unix:/run/m.sock"), spec.to_libmilter());
        }
    }

    void inet_forms()
    {
        SocketSpec spec = parsed("inet:8891@127.0.0.1");
        CPPUNIT_ASSERT(spec.family == SocketSpec::Family::inet);
        CPPUNIT_ASSERT_EQUAL(8891, spec.port);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), spec.host);
        CPPUNIT_ASSERT_EQUAL(std::string("inet:8891@[127.0.0.1]"), spec.to_libmilter());

        spec = parsed("inet:10025");
        CPPUNIT_ASSERT(spec.host.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("inet:10025"), spec.to_libmilter());

        spec = parsed("inet:65535@localhost");
        CPPUNIT_ASSERT_EQUAL(std::string("inet:65535@localhost"), spec.to_libmilter());
        CPPUNIT_ASSERT_EQUAL(1, parsed("inet:1@[192.0.2.1]").port);
    }

    void inet6_forms()
    {
        SocketSpec spec = parsed("inet6:8891@::1");
        CPPUNIT_ASSERT(spec.family == SocketSpec::Family::inet6);
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), spec.host);
        CPPUNIT_ASSERT_EQUAL(std::string("inet6:8891@[::1]"), spec.to_libmilter());
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), parsed("inet6:8891@[::1]").host);
        CPPUNIT_ASSERT_EQUAL(std::string("inet6:8891"), parsed("inet6:8891").to_libmilter());
        CPPUNIT_ASSERT_EQUAL(std::string("inet6:25@ip6-localhost"),
                             parsed("inet6:25@ip6-localhost").to_libmilter());
    }

    void bad_specifications()
    {
        CPPUNIT_ASSERT(mentions(error_for(""), "empty"));
        CPPUNIT_ASSERT(mentions(error_for("unix:relative.sock"), "absolute"));
        CPPUNIT_ASSERT(mentions(error_for("unix:"), "path is empty"));
        CPPUNIT_ASSERT(mentions(error_for("unix:/" + std::string(200, 'a')), "longer than"));
        CPPUNIT_ASSERT(mentions(error_for("inet:0@localhost"), "1..65535"));
        CPPUNIT_ASSERT(mentions(error_for("inet:65536"), "1..65535"));
        CPPUNIT_ASSERT(mentions(error_for("inet:99999999999999999999"), "1..65535"));
        CPPUNIT_ASSERT(mentions(error_for("inet:-5"), "number"));
        CPPUNIT_ASSERT(mentions(error_for("inet:smtp@localhost"), "number"));
        CPPUNIT_ASSERT(mentions(error_for("inet:@localhost"), "port is missing"));
        CPPUNIT_ASSERT(mentions(error_for("inet:8891@"), "host after '@' is empty"));
        CPPUNIT_ASSERT(mentions(error_for("inet:8891@::1"), "inet6"));
        CPPUNIT_ASSERT(mentions(error_for("inet:8891@999.1.1.1"), "not an IPv4 address"));
        CPPUNIT_ASSERT(mentions(error_for("inet:8891@bad host"), "not an IPv4 address"));
        CPPUNIT_ASSERT(mentions(error_for("inet6:8891@[127.0.0.1]"), "not an IPv6 address"));
        CPPUNIT_ASSERT(mentions(error_for("tcp:25"), "unknown socket type \"tcp\""));
        CPPUNIT_ASSERT(mentions(error_for("relative.sock"), "expected unix:/path"));
        // The specification is quoted so that the admin sees which setting is wrong.
        CPPUNIT_ASSERT(mentions(error_for("inet:0"), "bad socket \"inet:0\": "));
    }

    void free_path_is_ok()
    {
        const ecomm::test::TempDir dir;
        const auto check = ecomm::clear_stale_unix_socket(dir.path("m.sock"));
        CPPUNIT_ASSERT(check.ok);
        CPPUNIT_ASSERT(!check.removed);
    }

    void missing_directory_is_named()
    {
        const ecomm::test::TempDir dir;
        const auto check = ecomm::clear_stale_unix_socket(dir.path("nowhere/m.sock"));
        CPPUNIT_ASSERT(!check.ok);
        CPPUNIT_ASSERT(mentions(check.error, "does not exist"));
    }

    void dead_socket_is_removed()
    {
        const ecomm::test::TempDir dir;
        const std::string path = dir.path("m.sock");
        UnixSocket(path, true).close();
        CPPUNIT_ASSERT(std::filesystem::exists(path));

        const auto check = ecomm::clear_stale_unix_socket(path);
        CPPUNIT_ASSERT_MESSAGE(check.error, check.ok);
        CPPUNIT_ASSERT(check.removed);
        CPPUNIT_ASSERT(!std::filesystem::exists(path));
    }

    void live_listener_is_detected()
    {
        const ecomm::test::TempDir dir;
        const std::string path = dir.path("m.sock");
        const UnixSocket listener(path, true);

        const auto check = ecomm::clear_stale_unix_socket(path);
        CPPUNIT_ASSERT(!check.ok);
        CPPUNIT_ASSERT(!check.removed);
        CPPUNIT_ASSERT_EQUAL("another process is listening on " + path, check.error);
        CPPUNIT_ASSERT(std::filesystem::exists(path));
    }

    void regular_file_is_refused()
    {
        const ecomm::test::TempDir dir;
        const std::string path = dir.write("m.sock", "not a socket");

        const auto check = ecomm::clear_stale_unix_socket(path);
        CPPUNIT_ASSERT(!check.ok);
        CPPUNIT_ASSERT(mentions(check.error, "is not a socket"));
        CPPUNIT_ASSERT(std::filesystem::exists(path));
    }

    // -n and the daemon's start check a unix socket's folder (the daemon before it opens the
    // counter table), -p's socket instead of the file's, and a TCP socket not at all.
    void missing_socket_folder_is_a_startup_problem()
    {
        ecomm::test::TempDir dir;
        ecomm::MainConfig config;
        config.socket = "unix:" + dir.path("no-such-folder/m.sock");
        auto problems = ecomm::startup_problems(config);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, problems.size());
        CPPUNIT_ASSERT_EQUAL(std::string("socket"), problems[0].key);
        CPPUNIT_ASSERT_EQUAL("the socket directory " + dir.path("no-such-folder") + " does not exist",
                             problems[0].text);

        // -p's socket is on no line of the file: no key.
        problems = ecomm::startup_problems(config, "unix:/no-such-folder-either/m.sock");
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, problems.size());
        CPPUNIT_ASSERT_EQUAL(std::string(), problems[0].key);
        CPPUNIT_ASSERT(mentions(problems[0].text, "/no-such-folder-either does not exist"));
        CPPUNIT_ASSERT(ecomm::startup_problems(config, "unix:" + dir.path("m.sock")).empty());
        CPPUNIT_ASSERT(ecomm::startup_problems(config, "inet:8891@127.0.0.1").empty());

        config.socket = dir.path("m.sock");  // a bare path is a unix socket too
        CPPUNIT_ASSERT(ecomm::startup_problems(config).empty());
        config.socket = "inet:8891@127.0.0.1";
        CPPUNIT_ASSERT(ecomm::startup_problems(config).empty());
        config.socket = "unix:relative/m.sock";  // refused by the spec check, not here
        CPPUNIT_ASSERT(ecomm::startup_problems(config).empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SocketSpecTest);

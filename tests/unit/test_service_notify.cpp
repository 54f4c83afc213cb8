// Tests for milter/service_notify: the datagram systemd's Type=notify waits for reaches a real
// socket named by $NOTIFY_SOCKET (a path, or an abstract name written with '@'), and nothing is
// sent without the variable.
#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "milter/service_notify.h"
#include "temp_files.h"
#include "util/file_descriptor.h"

namespace {

using ecomm::FileDescriptor;

// A datagram socket bound to name as $NOTIFY_SOCKET writes it.
FileDescriptor bound_socket(const std::string& name)
{
    FileDescriptor socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket.valid()) throw std::runtime_error("socket failed");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), size) != 0)
        throw std::runtime_error("bind failed");
    return socket;
}

std::optional<std::string> received(const FileDescriptor& socket)
{
    char buffer[256];
    const ssize_t got = ::recv(socket.get(), buffer, sizeof buffer, 0);
    if (got < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(got));
}

// Sets $NOTIFY_SOCKET for one test and puts back what was there.
class NotifySocketVariable {
public:
    explicit NotifySocketVariable(const char* value)
    {
        if (const char* old = std::getenv("NOTIFY_SOCKET")) saved_ = old;
        if (value) ::setenv("NOTIFY_SOCKET", value, 1);
        else ::unsetenv("NOTIFY_SOCKET");
    }
    ~NotifySocketVariable()
    {
        if (saved_) ::setenv("NOTIFY_SOCKET", saved_->c_str(), 1);
        else ::unsetenv("NOTIFY_SOCKET");
    }
    NotifySocketVariable(const NotifySocketVariable&) = delete;
    NotifySocketVariable& operator=(const NotifySocketVariable&) = delete;

private:
    std::optional<std::string> saved_;
};

}  // namespace

class ServiceNotifyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ServiceNotifyTest);
    CPPUNIT_TEST(readyReachesASocketPath);
    CPPUNIT_TEST(readyReachesAnAbstractSocket);
    CPPUNIT_TEST(nothingIsSentWithoutTheVariable);
    CPPUNIT_TEST_SUITE_END();

public:
    void readyReachesASocketPath()
    {
        const ecomm::test::TempDir dir;
        const std::string path = dir.path("notify");
        const FileDescriptor socket = bound_socket(path);
        const NotifySocketVariable variable(path.c_str());
        CPPUNIT_ASSERT(ecomm::notify_service_manager("READY=1"));
        CPPUNIT_ASSERT_EQUAL(std::string("READY=1"), received(socket).value_or("(nothing)"));
    }

    void readyReachesAnAbstractSocket()
    {
        const std::string name = "@ecomm-milter-test-" + std::to_string(::getpid());
        const FileDescriptor socket = bound_socket(name);
        const NotifySocketVariable variable(name.c_str());
        CPPUNIT_ASSERT(ecomm::notify_service_manager("STOPPING=1"));
        CPPUNIT_ASSERT_EQUAL(std::string("STOPPING=1"), received(socket).value_or("(nothing)"));
    }

    void nothingIsSentWithoutTheVariable()
    {
        const NotifySocketVariable unset(nullptr);
        CPPUNIT_ASSERT(!ecomm::notify_service_manager("READY=1"));
        const NotifySocketVariable relative("notify");  // neither a path nor an abstract name
        CPPUNIT_ASSERT(!ecomm::notify_service_manager("READY=1"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ServiceNotifyTest);

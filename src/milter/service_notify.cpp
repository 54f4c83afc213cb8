// sd_notify(3)'s protocol, by hand (service_notify.h says why).
#include "milter/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/file_descriptor.h"

namespace ecomm {

bool notify_service_manager(std::string_view state) noexcept
{
    const char* name = std::getenv("NOTIFY_SOCKET");
    if (!name || (name[0] != '/' && name[0] != '@')) return false;  // unset, or not a unix socket
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::size_t length = std::strlen(name);
    if (length < 2 || length >= sizeof address.sun_path) return false;
    std::memcpy(address.sun_path, name, length);
    if (name[0] == '@') address.sun_path[0] = '\0';  // an abstract socket
    const FileDescriptor fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return false;
    const auto address_size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
    return ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address),
                    address_size) == static_cast<ssize_t>(state.size());
}

}  // namespace ecomm

/*
 * log-sink: the syslog socket of the benchmarks' private namespace (issue 7).  A production
 * host has a syslog daemon on /dev/log, and sending a line there is one send(2).  Without
 * one, glibc's syslog(3) tries to connect again for every line (socket, a failed connect,
 * close): not what production does, though measured to cost about the same as a send and this
 * reader's wake-up (docs/BENCHMARKS.md, "Logging in the benchmarks").  This program receives
 * on the socket and throws the lines away, as quickly as it can, counting them; a syslog
 * daemon does more for each line (its cost is not measured here).
 *
 * Usage:   log-sink SOCKET COUNT_FILE
 *          Binds the unix datagram socket SOCKET (mode 0666), receives until SIGTERM or
 *          SIGINT, then writes the number of lines received to COUNT_FILE and removes SOCKET.
 * Build:   gcc -O2 -Wall -Wextra -o log-sink tests/bench/log_sink.c
 * Used by: e2e_private_dev_log in tests/e2e/lib.sh, for both benchmarks.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void stop(int signal_number)
{
    (void)signal_number;
    stopping = 1;
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: log-sink SOCKET COUNT_FILE\n");
        return 2;
    }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof address.sun_path) {
        fprintf(stderr, "log-sink: socket path too long: %s\n", argv[1]);
        return 2;
    }
    strcpy(address.sun_path, argv[1]);
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr*)&address, sizeof address) != 0 || chmod(argv[1], 0666) != 0) {
        fprintf(stderr, "log-sink: cannot bind %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    /* No SA_RESTART: the signal ends the blocking receive. */
    struct sigaction action = {.sa_handler = stop};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    /* Up to 64 lines a system call when they queue up. */
    enum { batch = 64, line_size = 2048 };
    static char lines[batch][line_size];
    struct iovec vectors[batch];
    struct mmsghdr messages[batch];
    for (int i = 0; i < batch; ++i) {
        vectors[i] = (struct iovec){.iov_base = lines[i], .iov_len = line_size};
        messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &vectors[i], .msg_iovlen = 1}};
    }
    unsigned long long received = 0;
    while (!stopping) {
        const int count = recvmmsg(fd, messages, batch, MSG_WAITFORONE, NULL);
        if (count > 0) received += (unsigned long long)count;
        else if (count < 0 && errno != EINTR) {
            fprintf(stderr, "log-sink: receive: %s\n", strerror(errno));
            break;
        }
    }
    unlink(argv[1]);
    FILE* out = fopen(argv[2], "w");
    if (!out || fprintf(out, "%llu\n", received) < 0 || fclose(out) != 0) {
        fprintf(stderr, "log-sink: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}

/*
 * null-milter: a do-nothing milter, the baseline of the benchmarks (issue 7).  It measures what
 * the milter protocol and libmilter cost on their own, so that ecomm-milter's and OpenDKIM's
 * figures can be read as "protocol + their own work".
 *
 * What it does: it registers with libmilter (flags SMFIF_NONE: it never edits a message) the
 * callbacks connect, helo, envfrom, envrcpt, data, header, eoh, eom, abort and close, each of
 * which just answers SMFIS_CONTINUE (eom answers SMFIS_ACCEPT).  So the MTA sends it every stage
 * that ecomm-milter receives, one header at a time, and (without -r) waits for each reply, as for a
 * real milter.  It has no body callback unless -b is given: libmilter then negotiates
 * SMFIP_NOBODY and the MTA sends no body at all (the baseline "never asks for the
 * body").  With -b a body callback that continues is added, so the body crosses the socket too
 * (the protocol's cost for a milter that reads bodies, as ecomm-milter and OpenDKIM do).  With
 * -r it also registers a negotiate callback that asks for no reply at helo, mail, rcpt, data,
 * each header, eoh and each body chunk (SMFIP_NR_*), as ecomm-milter does: the MTA then streams
 * a message's commands and waits only at connect and end of message, and those callbacks answer
 * SMFIS_NOREPLY, as ecomm-milter's do; on an inet socket DATA keeps its reply, as ecomm-milter's
 * does (see data_answer).  (libmilter sends no reply for such a stage whatever the
 * callback answers, but any other answer makes it log "milter claimed not to reply in state N
 * but did anyway" through syslog(3) each time: a dozen syslog calls a message, which made
 * earlier runs of this floor slower than ecomm-milter on some messages.)  -b -r together are
 * the floor of a milter that reads the body.  -s (which implies -b) also takes the SHA-256 of
 * the body as it comes (OpenSSL's EVP, as ecomm-milter's body hash), ending it at end of
 * message: what any DKIM verifier pays at least, the protocol plus the digest of the body
 * (simple canonicalization of CRLF text is the bytes as they are).  It has no unknown-command
 * callback, no negotiate callback without -r, keeps no state but -s's digest and writes no log.
 *
 * TCP_NODELAY: libmilter does not set it.  Without it, on an inet socket the MTA's delayed ACK
 * meets Nagle and a reply can wait ~40 ms (see docs/BENCHMARKS.md).  ecomm-milter sets it on its
 * listener (accepted sockets inherit it on Linux), so this milter does the same by default, found
 * the same way: the inet socket in listening state among its own descriptors.  -N leaves Nagle on
 * (to show the stall).  Unix sockets are unaffected.
 *
 * Usage:   null-milter [-b] [-r] [-s] [-N] SOCKET
 *          SOCKET is libmilter's spelling: unix:/path/to.sock or inet:PORT@127.0.0.1
 *          It runs in the foreground until SIGTERM or SIGINT, then removes a unix socket.
 * Build:   gcc -O2 -Wall -Wextra -o null-milter tests/bench/null_milter.c \
 *              $(pkg-config --cflags --libs milter libcrypto) -lpthread
 * Used by: tests/bench/protocol-bench.sh (milter protocol alone) and the end-to-end benchmark.
 */

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <openssl/evp.h>

/* What the stages after connect and before end of message answer: SMFIS_NOREPLY with -r (see
 * on_negotiate), else SMFIS_CONTINUE. */
static sfsistat stage_answer = SMFIS_CONTINUE;
/* DATA's answer: as stage_answer, but over TCP DATA keeps its reply, as ecomm-milter's does
 * (src/milter/glue.h: the reply acknowledges the commands before the message, which Nagle on
 * the MTA's side would otherwise hold the message behind for the host's delayed ACK). */
static sfsistat data_answer = SMFIS_CONTINUE;

/* -s: digest the body (the message's EVP_MD_CTX is the connection's private data). */
static int hash_body = 0;

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)ctx; (void)host; (void)addr;
    return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *ctx, char *name)
{
    (void)ctx; (void)name;
    return stage_answer;
}

static sfsistat on_argv(SMFICTX *ctx, char **argv)   /* envfrom and envrcpt */
{
    (void)ctx; (void)argv;
    return stage_answer;
}

static sfsistat on_ctx(SMFICTX *ctx)                 /* eoh */
{
    (void)ctx;
    return stage_answer;
}

static sfsistat on_data(SMFICTX *ctx)
{
    (void)ctx;
    return data_answer;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx; (void)name; (void)value;
    return stage_answer;
}

/* Frees the message's digest, if any: at end of message, abort and close. */
static void drop_digest(SMFICTX *ctx)
{
    EVP_MD_CTX *digest = smfi_getpriv(ctx);
    if (digest != NULL) {
        EVP_MD_CTX_free(digest);
        smfi_setpriv(ctx, NULL);
    }
}

/* A digest that fails (only when memory runs out) is not a benchmark: stop, and the benchmark
 * finds the milter gone. */
static void digest_failed(void)
{
    fprintf(stderr, "null-milter: SHA-256 of the body failed\n");
    exit(1);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t length)
{
    EVP_MD_CTX *digest;

    if (!hash_body)
        return stage_answer;
    digest = smfi_getpriv(ctx);
    if (digest == NULL) {
        digest = EVP_MD_CTX_new();
        if (digest == NULL || EVP_DigestInit_ex(digest, EVP_sha256(), NULL) != 1)
            digest_failed();
        smfi_setpriv(ctx, digest);
    }
    if (EVP_DigestUpdate(digest, chunk, length) != 1)
        digest_failed();
    return stage_answer;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    EVP_MD_CTX *digest = smfi_getpriv(ctx);
    unsigned char value[EVP_MAX_MD_SIZE];
    unsigned int size;

    if (digest != NULL && EVP_DigestFinal_ex(digest, value, &size) != 1)
        digest_failed();
    drop_digest(ctx);
    return SMFIS_ACCEPT;
}

static sfsistat on_abort(SMFICTX *ctx)
{
    drop_digest(ctx);
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    drop_digest(ctx);
    return SMFIS_CONTINUE;
}

/* The stages after connect and before end of message that only ever continue: asked to go without
 * a reply (-r), as ecomm-milter asks (src/milter/glue.cpp); main drops DATA on an inet socket. */
static unsigned long no_reply_stages = SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                                       SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;

/* -r: libmilter calls xxfi_negotiate only when it is set, and the MTA must offer the NR flags
 * (Postfix 3.7 and milter_load do; to an MTA that does not, libmilter drops them and sends the
 * replies itself, so -r changes nothing there).  *steps arrives holding libmilter's own choice
 * (skip the stages without a callback, e.g. SMFIP_NOBODY without -b), so the NR flags are ORed
 * in.  The stage callbacks then answer SMFIS_NOREPLY (stage_answer, set with -r); libmilter
 * turns that into "continue" itself for an MTA without the NR flags. */
static sfsistat on_negotiate(SMFICTX *ctx, unsigned long offered_actions, unsigned long offered_steps,
                             unsigned long unused_2, unsigned long unused_3, unsigned long *actions,
                             unsigned long *steps, unsigned long *reserved_2, unsigned long *reserved_3)
{
    (void)ctx; (void)offered_actions; (void)offered_steps; (void)unused_2; (void)unused_3;
    (void)reserved_2; (void)reserved_3;
    *actions = SMFIF_NONE;
    *steps |= no_reply_stages;
    return SMFIS_CONTINUE;
}

/* Sets TCP_NODELAY on every listening inet socket of this process; returns how many. */
static int set_nodelay_on_listeners(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    int changed = 0;

    if (dir == NULL)
        return 0;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(entry->d_name, &end, 10);
        int listening = 0, family = 0, on = 1;
        socklen_t length = sizeof listening;

        if (*end != '\0' || end == entry->d_name || fd == dirfd(dir))
            continue;
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening)
            continue;
        length = sizeof family;
        if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &family, &length) != 0 ||
            (family != AF_INET && family != AF_INET6))
            continue;
        if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0)
            ++changed;
    }
    closedir(dir);
    return changed;
}

static void usage(void)
{
    fprintf(stderr, "usage: null-milter [-b] [-r] [-s] [-N] unix:/path|inet:PORT@HOST\n"
                    "  -b  ask for the body (a body callback that continues)\n"
                    "  -r  negotiate no reply for helo, mail, rcpt, data, headers, eoh and body\n"
                    "  -s  take the SHA-256 of the body (implies -b)\n"
                    "  -N  leave Nagle on for an inet socket (no TCP_NODELAY)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct smfiDesc desc;
    int want_body = 0, no_reply = 0, nodelay = 1, opt, status;
    char *socket_spec;

    while ((opt = getopt(argc, argv, "brsN")) != -1) {
        switch (opt) {
        case 'b': want_body = 1; break;
        case 'r': no_reply = 1; stage_answer = data_answer = SMFIS_NOREPLY; break;
        case 's': hash_body = want_body = 1; break;
        case 'N': nodelay = 0; break;
        default: usage();
        }
    }
    if (optind != argc - 1)
        usage();
    socket_spec = argv[optind];
    if (no_reply && strncmp(socket_spec, "inet", 4) == 0) {
        no_reply_stages &= ~(unsigned long)SMFIP_NR_DATA;
        data_answer = SMFIS_CONTINUE;
    }

    memset(&desc, 0, sizeof desc);
    desc.xxfi_name = (char *)"null-milter";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_NONE;
    desc.xxfi_connect = on_connect;
    desc.xxfi_helo = on_helo;
    desc.xxfi_envfrom = on_argv;
    desc.xxfi_envrcpt = on_argv;
    desc.xxfi_data = on_data;
    desc.xxfi_header = on_header;
    desc.xxfi_eoh = on_ctx;
    desc.xxfi_body = want_body ? on_body : NULL;
    desc.xxfi_eom = on_eom;
    desc.xxfi_abort = on_abort;
    desc.xxfi_close = on_close;
    desc.xxfi_negotiate = no_reply ? on_negotiate : NULL;

    if (smfi_register(desc) != MI_SUCCESS) {
        fprintf(stderr, "null-milter: smfi_register failed\n");
        return 1;
    }
    if (smfi_setconn(socket_spec) != MI_SUCCESS) {
        fprintf(stderr, "null-milter: bad socket %s\n", socket_spec);
        return 1;
    }
    /* true: remove a stale unix socket left by an earlier run. */
    if (smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "null-milter: cannot listen on %s\n", socket_spec);
        return 1;
    }
    if (strncmp(socket_spec, "inet", 4) == 0 && nodelay && set_nodelay_on_listeners() == 0)
        fprintf(stderr, "null-milter: could not set TCP_NODELAY on %s\n", socket_spec);

    status = smfi_main();

    if (strncmp(socket_spec, "unix:", 5) == 0 || strncmp(socket_spec, "local:", 6) == 0) {
        const char *path = strchr(socket_spec, ':') + 1;
        if (unlink(path) != 0 && errno != ENOENT)
            perror("null-milter: unlink");
    }
    return status == MI_SUCCESS ? 0 : 1;
}

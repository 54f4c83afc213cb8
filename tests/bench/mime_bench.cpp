// Benchmark of the MIME scanner alone: a generated message of N MB (default 50) made of a text
// part and base64 attachments of 5 MB each, fed in 64 KiB chunks as the milter gets them. The
// message is produced on the fly from one repeated 1 MiB block, so the process's peak RSS is the
// scanner's own (plus the block): run at 5 and 50 MB and compare.
//
//   g++ -std=c++20 -O2 -DNDEBUG -Isrc tests/bench/mime_bench.cpp src/mime/*.cpp -o mime_bench
//   ./mime_bench 50            # base64 attachments (no decoding needed: skipped, scanned for boundaries)
//   ./mime_bench 50 embedded   # the same inside a base64-encoded message/rfc822 (decoded and re-scanned)
//
// Prints: size, seconds, MB/s, findings, peak RSS (getrusage ru_maxrss).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mime/scanner.h"

namespace {

constexpr std::size_t kChunk = 65536;

std::string base64_block(std::size_t bytes, unsigned seed)
{
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve(bytes + 80);
    while (out.size() < bytes) {
        for (int i = 0; i < 76; ++i) {
            seed = seed * 1103515245u + 12345u;
            out += alphabet[(seed >> 16) & 63];
        }
        out += "\r\n";
    }
    return out;
}

long peak_rss_kb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// Feeds text in kChunk pieces, counting bytes.
struct Feeder {
    ecomm::MimeScanner& scanner;
    std::size_t total = 0;
    std::string pending;  // small pieces are gathered so chunks stay near kChunk

    void put(std::string_view text)
    {
        if (pending.size() + text.size() < kChunk) {
            pending.append(text);
            return;
        }
        flush();
        for (std::size_t i = 0; i < text.size(); i += kChunk) send(text.substr(i, kChunk));
    }
    void flush()
    {
        if (!pending.empty()) send(pending);
        pending.clear();
    }
    void send(std::string_view chunk)
    {
        scanner.body(chunk);
        total += chunk.size();
    }
};

}  // namespace

int main(int argc, char** argv)
{
    const std::size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 50;
    const bool embedded = argc > 2 && std::strcmp(argv[2], "embedded") == 0;
    const std::size_t target = megabytes << 20;
    const std::string block = base64_block(1 << 20, 42);
    const std::string wrapped = embedded ? base64_block(1 << 20, 7) : std::string();
    const long rss_before = peak_rss_kb();

    ecomm::MimeScanner scanner;
    scanner.header("From", "bench@example.com");
    scanner.header("MIME-Version", "1.0");
    scanner.header("Content-Type", "multipart/mixed; boundary=\"----=_Part_0_1234.5678\"");
    scanner.end_of_headers();
    Feeder feeder{scanner, 0, {}};
    const auto start = std::chrono::steady_clock::now();
    feeder.put("This is a multi-part message in MIME format.\r\n\r\n------=_Part_0_1234.5678\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease find the reports attached.\r\n");
    if (embedded) {
        // The attachments sit in a forwarded message sent base64-encoded: every byte is decoded
        // and scanned by a nested scanner. The encoded inner message is a fixed header followed
        // by random bytes: the attachment's content, scanned inside for the inner boundary.
        feeder.put("------=_Part_0_1234.5678\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        // "From: a@b / Content-Type: multipart/mixed; boundary=in / --in / Content-Type: application/pdf":
        // the inner scanner must keep looking for "--in", so all of it is decoded.
        feeder.put("RnJvbTogYUBiDQpDb250ZW50LVR5cGU6IG11bHRpcGFydC9taXhlZDsgYm91bmRhcnk9aW4NCg0KLS1pbg0KQ29udGVudC1UeXBlOiBhcHBsaWNhdGlvbi9wZGYNCg0K\r\n");
        while (feeder.total + feeder.pending.size() < target) feeder.put(wrapped);
    } else {
        for (int part = 0; feeder.total + feeder.pending.size() < target; ++part) {
            feeder.put("------=_Part_0_1234.5678\r\nContent-Type: application/pdf; name=\"report" + std::to_string(part) +
                       ".pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"report" +
                       std::to_string(part) + ".pdf\"\r\n\r\n");
            for (int mb = 0; mb < 5 && feeder.total + feeder.pending.size() < target; ++mb) feeder.put(block);
        }
    }
    feeder.put("------=_Part_0_1234.5678--\r\n");
    feeder.flush();
    scanner.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double mb = static_cast<double>(feeder.total) / (1 << 20);
    std::printf("%s: %.1f MB in %.4f s = %.0f MB/s, %zu findings, peak RSS %ld KiB (%ld KiB before scanning)\n",
                embedded ? "embedded base64 message/rfc822" : "base64 attachments", mb, seconds, mb / seconds,
                scanner.findings().size(), peak_rss_kb(), rss_before);
    return scanner.has_attachment() ? 0 : 1;
}

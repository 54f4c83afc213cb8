// Benchmark of the MIME scanner: a generated message of N MB (default 50) made of a text part and
// base64 attachments of 5 MB each, fed in 64 KiB chunks as the milter gets them. The message is
// produced on the fly from one repeated 1 MiB block, so the process's peak RSS is the scanner's
// own (plus the block): run at 5 and 50 MB and compare.
//
//   make bench   (or by hand: g++ -std=c++20 -O2 -DNDEBUG -Isrc tests/bench/mime_bench.cpp src/mime/*.cpp
//                 src/util/vector_path.cpp src/mail/unsubscribe_link_finder.cpp src/mail/list_unsubscribe.cpp
//                 src/mail/address.cpp)
//   ./mime_bench 50            # base64 attachments (no decoding needed: skipped, scanned for boundaries)
//   ./mime_bench 50 embedded   # the same inside a base64-encoded message/rfc822 (decoded and re-scanned)
//   ./mime_bench 50 text       # 1 MB text/plain messages through the scanner and the unsubscribe
//   ./mime_bench 50 html       #   link finder (the body path of a newsletter), 60 KB text/html ones
//   ./mime_bench 50 report     # 1 MB reports as the end-to-end benchmark's 1m.eml: a quoted-printable
//                              #   text part and a base64 HTML part, both decoded (scanner alone)
//
// Prints: size, seconds, MB/s, findings, peak RSS (getrusage ru_maxrss); for text and html the
// MB/s of the scanner with the link finder, of the scanner alone and of the finder alone.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mail/unsubscribe_link_finder.h"
#include "mime/scanner.h"
#include "../unit/base64_lines.h"

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

// Running text as the protocol benchmark writes it (tests/bench/protocol-bench.sh): CRLF lines
// of about 72 characters drawn from a fixed vocabulary.
std::string plain_lines(std::size_t bytes, unsigned seed)
{
    static const char* words[] = {"the", "office", "of", "strategic", "relations", "and", "communications",
        "invites", "every", "student", "to", "the", "spring", "orientation", "programme", "where", "the",
        "schedule", "for", "registration", "advising", "housing", "and", "dining", "is", "explained", "in",
        "detail", "by", "staff", "from", "each", "unit", "on", "campus"};
    constexpr unsigned count = sizeof words / sizeof words[0];
    std::string out, line;
    for (unsigned i = seed; out.size() < bytes; i += 7) {
        const std::string word = words[i % count];
        if (line.size() + 1 + word.size() > 72) {
            out += line + "\r\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return out;
}

// A newsletter's HTML table rows with story links, none of them an unsubscribe link.
std::string html_rows(std::size_t bytes)
{
    std::string out;
    for (int i = 0; out.size() < bytes; ++i)
        out += "<tr><td style=\"padding:8px;font-family:Arial,sans-serif;font-size:14px;color:#333333\">"
               "<a href=\"https://news.example.edu/story/" + std::to_string(i) + "?utm_source=newsletter\">Story "
               + std::to_string(i) + "</a>: " + plain_lines(60, static_cast<unsigned>(i)) + "</td></tr>\r\n";
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One text part per message, its link at the very end so all of it is searched. Returns
// seconds for all messages; found counts the messages where the finder saw the link.
double run_text_messages(const std::string& body, bool html, int messages, bool with_finder, bool scanner,
                         int& found)
{
    const auto start = std::chrono::steady_clock::now();
    for (int m = 0; m < messages; ++m) {
        ecomm::UnsubscribeLinkFinder finder;
        if (scanner) {
            ecomm::MimeScanner mime(ecomm::MimeOptions{}, with_finder ? &finder : nullptr);
            mime.header("MIME-Version", "1.0");
            mime.header("Content-Type", html ? "text/html; charset=us-ascii" : "text/plain; charset=us-ascii");
            mime.header("Content-Transfer-Encoding", "7bit");
            mime.end_of_headers();
            for (std::size_t at = 0; at < body.size(); at += kChunk) mime.body(std::string_view(body).substr(at, kChunk));
            mime.finish();
        } else {
            finder.begin_text(html);
            for (std::size_t at = 0; at < body.size(); at += kChunk) finder.text(std::string_view(body).substr(at, kChunk));
            finder.end_text();
        }
        found += finder.found();
    }
    return seconds_since(start);
}

int text_bench(std::size_t megabytes, bool html)
{
    // 1 MB plain-text messages (the 1m-signed benchmark message), 60 KB HTML ones (60k-html).
    const std::size_t message_bytes = html ? 60 * 1024 : 1 << 20;
    std::string body = html ? html_rows(message_bytes - 300) : plain_lines(message_bytes - 100, 0);
    body += html ? "<tr><td><a href=\"https://news.example.edu/unsubscribe?u=1001\">Unsubscribe</a></td></tr>\r\n"
                 : "To unsubscribe visit https://e.example.edu/u/1001\r\n";
    const int messages = static_cast<int>(std::max<std::size_t>(1, (megabytes << 20) / body.size()));
    const double mb = static_cast<double>(body.size()) * messages / (1 << 20);
    int found = 0, unused = 0;
    run_text_messages(body, html, 1, true, true, unused);  // warm-up
    const double both = run_text_messages(body, html, messages, true, true, found);
    const double scanner = run_text_messages(body, html, messages, false, true, unused);
    const double finder = run_text_messages(body, html, messages, true, false, unused);
    std::printf("%s: %d messages, %.1f MB: scanner+finder %.0f MB/s, scanner alone %.0f MB/s, finder alone %.0f MB/s"
                ", link found in %d\n",
                html ? "text/html" : "text/plain", messages, mb, mb / both, mb / scanner, mb / finder, found);
    return found == messages ? 0 : 1;
}

// 1 MB reports made as tests/bench/e2e/make-messages.py makes 1m.eml (240 KB of text, which is
// its own quoted-printable, and 570 KB of HTML in base64), through the scanner without a sink
// (the message has List-Unsubscribe: the milter drops the link search at the end of the headers).
int report_bench(std::size_t megabytes)
{
    const std::string boundary = "=_bench_1m_boundary";
    const std::string body = "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + plain_lines(240 * 1024, 0) +
                             "\r\n--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n" + ecomm::test::base64_lines(html_rows(570 * 1024), "\r\n") +
                             "\r\n--" + boundary + "--\r\n";
    const int messages = static_cast<int>(std::max<std::size_t>(1, (megabytes << 20) / body.size()));
    const auto run = [&](int count) {
        std::size_t findings = 0;
        for (int m = 0; m < count; ++m) {
            ecomm::MimeScanner mime;
            mime.header("MIME-Version", "1.0");
            mime.header("Content-Type", "multipart/alternative; boundary=\"" + boundary + "\"");
            mime.end_of_headers();
            for (std::size_t at = 0; at < body.size(); at += kChunk) mime.body(std::string_view(body).substr(at, kChunk));
            mime.finish();
            findings += mime.findings().size();
        }
        return findings;
    };
    run(1);  // warm-up
    const auto start = std::chrono::steady_clock::now();
    const std::size_t findings = run(messages);
    const double seconds = seconds_since(start);
    const double mb = static_cast<double>(body.size()) * messages / (1 << 20);
    std::printf("report (quoted-printable text + base64 HTML): %d messages, %.1f MB in %.4f s = %.0f MB/s, %zu findings\n",
                messages, mb, seconds, mb / seconds, findings);
    return findings == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    const std::size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 50;
    const bool embedded = argc > 2 && std::strcmp(argv[2], "embedded") == 0;
    if (argc > 2 && (std::strcmp(argv[2], "text") == 0 || std::strcmp(argv[2], "html") == 0))
        return text_bench(megabytes, std::strcmp(argv[2], "html") == 0);
    if (argc > 2 && std::strcmp(argv[2], "report") == 0) return report_bench(megabytes);
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

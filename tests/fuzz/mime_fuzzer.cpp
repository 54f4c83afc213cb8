// libFuzzer target for the MIME scanner: the first input bytes choose the chunk sizes, the
// options and the vector path of the line search; the rest is a message (headers up to the
// first empty line, given field by field, then the body in chunks). Any crash, sanitizer
// report, leak or timeout is a finding, and so is a difference between the body fed in those
// chunks and fed in one piece: the findings and the text handed to the sink must not depend on
// how the MTA cut the body (whole lines of encoded text are decoded in batches, pieces of lines
// go through the line machine).
//
// Build: see run-mime-fuzzer.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mime/scanner.h"
#include "util/vector_path.h"

namespace {

// Records what the scanner hands on, to compare two runs.
class RecordingSink : public ecomm::MimeTextSink {
public:
    void begin_text(bool html) override
    {
        ++open_;
        log_ += html ? "\x01h" : "\x01t";
    }
    void text(std::string_view decoded) override { log_ += decoded; }
    void end_text() override
    {
        --open_;
        log_ += "\x01e";
    }
    int open_ = 0;
    std::string log_;
};

struct Outcome {
    std::vector<ecomm::MimeFinding> findings;
    std::string text;  // the sink's log
};

bool same(const Outcome& a, const Outcome& b)
{
    if (a.text != b.text || a.findings.size() != b.findings.size()) return false;
    for (std::size_t i = 0; i < a.findings.size(); ++i) {
        const ecomm::MimeFinding& x = a.findings[i];
        const ecomm::MimeFinding& y = b.findings[i];
        if (x.part != y.part || x.content_type != y.content_type || x.filename != y.filename || x.reason != y.reason)
            return false;
    }
    return true;
}

// Scans input; the body alternately in chunks of chunk_a and chunk_b bytes (0: in one piece).
Outcome scan(std::string_view input, const ecomm::MimeOptions& options, bool with_sink, std::size_t chunk_a,
             std::size_t chunk_b)
{
    RecordingSink sink;
    Outcome outcome;
    {
        ecomm::MimeScanner scanner(options, with_sink ? &sink : nullptr);
        std::size_t pos = 0;
        while (pos < input.size()) {  // header fields, folds kept
            std::size_t end = input.find('\n', pos);
            if (end == std::string_view::npos) end = input.size();
            std::string_view line = input.substr(pos, end - pos);
            if (line.empty() || line == "\r") {
                pos = end + 1;
                break;
            }
            std::size_t next = end + 1;
            while (next < input.size() && (input[next] == ' ' || input[next] == '\t')) {
                std::size_t more = input.find('\n', next);
                if (more == std::string_view::npos) more = input.size();
                next = more + 1;
                end = more;
            }
            line = input.substr(pos, std::min(end, input.size()) - pos);
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) break;
            scanner.header(line.substr(0, colon), line.substr(colon + 1));
            pos = next;
        }
        scanner.end_of_headers();
        bool toggle = false;
        while (pos < input.size()) {
            const std::size_t chunk = toggle ? chunk_a : chunk_b;
            const std::size_t n = chunk == 0 ? input.size() - pos : std::min(chunk, input.size() - pos);
            scanner.body(input.substr(pos, n));
            pos += n;
            toggle = !toggle;
        }
        scanner.finish();
        if (scanner.findings().size() > options.max_findings) __builtin_trap();
        if (scanner.has_attachment() != !scanner.findings().empty()) __builtin_trap();
        outcome.findings = scanner.findings();
    }
    if (sink.open_ != 0) __builtin_trap();  // every begin_text is ended
    outcome.text = std::move(sink.log_);
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3) return 0;
    const std::size_t chunk_a = 1 + data[0] % 97;
    const std::size_t chunk_b = 1 + (data[1] * 37) % 4099;
    ecomm::MimeOptions options;
    options.max_depth = 1 + data[2] % 70;
    options.max_findings = 1 + data[2] % 7;
    ecomm::use_vector_path(static_cast<ecomm::VectorPath>(data[1] % 3));  // unchanged where the CPU lacks it
    const bool with_sink = data[0] & 1;
    const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);
    const Outcome chunked = scan(input, options, with_sink, chunk_a, chunk_b);
    const Outcome whole = scan(input, options, with_sink, 0, 0);
    if (!same(chunked, whole)) __builtin_trap();
    return 0;
}

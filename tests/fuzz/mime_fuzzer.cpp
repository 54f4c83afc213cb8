// libFuzzer target for the MIME scanner: the first input bytes choose the chunk sizes, the
// options and the vector path of the line search; the rest is a message (headers up to the
// first empty line, given field by field, then the body in chunks). Any crash, sanitizer
// report, leak or timeout is a finding.
//
// Build: see run-mime-fuzzer.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mime/scanner.h"
#include "util/vector_path.h"

namespace {

class NullSink : public ecomm::MimeTextSink {
public:
    void begin_text(bool) override { ++open_; }
    void text(std::string_view decoded) override { bytes_ += decoded.size(); }
    void end_text() override { --open_; }
    int open_ = 0;
    std::size_t bytes_ = 0;
};

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
    NullSink sink;
    const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);
    {
        ecomm::MimeScanner scanner(options, data[0] & 1 ? &sink : nullptr);
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
            const std::size_t n = std::min(toggle ? chunk_a : chunk_b, input.size() - pos);
            scanner.body(input.substr(pos, n));
            pos += n;
            toggle = !toggle;
        }
        scanner.finish();
        if (scanner.findings().size() > options.max_findings) __builtin_trap();
        if (scanner.has_attachment() != !scanner.findings().empty()) __builtin_trap();
    }
    if (sink.open_ != 0) __builtin_trap();  // every begin_text is ended
    return 0;
}

// A problem found while loading configuration, reported as "FILE:LINE: message".
#pragma once
#include <string>
#include <vector>

namespace ecomm {

struct Diagnostic {
    enum class Severity { warning, error };
    Severity severity = Severity::error;
    std::string file;
    int line = 0;  // 0 when the problem belongs to the whole file
    std::string message;

    std::string to_string() const;  // "FILE:LINE: message" ("warning: " prefixed for warnings)
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& diagnostics);

}  // namespace ecomm

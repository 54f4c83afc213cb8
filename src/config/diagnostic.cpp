// Diagnostics from the config and registry loaders, printed as "FILE:LINE: message" so that
// editors and the postmaster's eye can jump straight to the offending line.
#include "config/diagnostic.h"

#include <algorithm>

namespace ecomm {

std::string Diagnostic::to_string() const
{
    std::string text = file;
    if (line > 0) text += ":" + std::to_string(line);
    text += ": ";
    if (severity == Severity::warning) text += "warning: ";
    text += message;
    return text;
}

bool has_errors(const Diagnostics& diagnostics)
{
    return std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& diagnostic) {
        return diagnostic.severity == Diagnostic::Severity::error;
    });
}

}  // namespace ecomm

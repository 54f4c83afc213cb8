// Line ends of the text handed to libopendkim, which hashes what it is given and expects CRLF.
// MTAs usually pass the body with CRLF already; these let the verifier check that cheaply and
// mend the rare body that has bare LFs.
#pragma once
#include <string>
#include <string_view>

namespace ecomm {

// True when every LF in text follows a CR; last_was_cr says whether the text before it (the
// previous chunk) ended in one.
bool every_lf_follows_cr(std::string_view text, bool last_was_cr);

// Appends text to out with every LF that does not follow a CR turned into CRLF; last_was_cr
// carries the state across calls (chunk boundaries).
void append_crlf(std::string& out, std::string_view text, bool& last_was_cr);

}  // namespace ecomm

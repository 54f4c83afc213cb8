// The header part of a DKIM signature check (RFC 6376 sections 3.4.1, 3.4.2, 3.5 h= and 3.7):
// which header fields a signature covers and the text its header hash is computed over.
//
// Fields are kept as the verifier saw them: "Name:" and the value with CRLF line ends and no final
// CRLF (the value as written, or with the one leading space the MTA stripped restored; the same
// text libopendkim is given).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ecomm {

enum class DkimHeaderCanon { simple, relaxed };

// A field's name as the header hash selects it: what precedes the colon (all of field when it
// has none, as a name alone), trailing whitespace excluded. Compare it case-insensitively.
std::string_view dkim_field_name(std::string_view field);

// Appends one field in canonical form, with its CRLF. Relaxed: name in lower case without
// whitespace, the value unfolded, runs of whitespace made one space, whitespace at either end of
// the value dropped.
void append_canonical_header(DkimHeaderCanon canon, std::string_view field, std::string& out);

// The text the header hash covers: the fields h= names (colon-separated, case-insensitive),
// each name taking the last instance not yet taken, counting from the bottom; a name with no
// instance left adds nothing. Then signature_field, the DKIM-Signature field itself with the
// value of its b= tag removed, canonicalised without its final CRLF.
std::string dkim_signed_header_text(DkimHeaderCanon canon, const std::vector<std::string>& fields,
                                    std::string_view h_tag, std::string_view signature_field);

// signature_field with the value of its b= tag (not bh=) removed up to the next ';', the
// whitespace around the value included, everything else kept.
std::string without_signature_value(std::string_view signature_field);

}  // namespace ecomm

// The DNS reply packet libopendkim's query hooks hand back (src/auth/dkim_library.cpp): libopendkim
// asks for a TXT record and parses a server's reply itself, so the answer of our resolver is
// written out as one.
#pragma once
#include <cstddef>
#include <string_view>

#include "dns/resolver.h"

namespace ecomm {

// The reply a DNS server would send for "name IN TXT": NXDOMAIN, an empty NOERROR (nodata), or
// the records (TTL 300, the owner a pointer to the question). Returns the packet length, 0 when
// it does not fit in capacity bytes or the name or a record cannot be encoded.
std::size_t build_txt_reply(std::string_view name, const DnsAnswer& answer, unsigned char* buffer,
                            std::size_t capacity);

}  // namespace ecomm

// The DKIM key record of dkim-verifier-test-key.pem, which signed the fuzzers' seeds: their key
// look-ups answer every name with it (selector and domain do not matter). To sign a new seed:
// dkimsign SELECTOR DOMAIN dkim-verifier-test-key.pem < message.
#pragma once
#include <string_view>

namespace ecomm::fuzz {

constexpr std::string_view kTestKey =
    "v=DKIM1; k=rsa; p="
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
    "xyhZms7cYKbIZ2fsu6yG52IJKJuPucBpcKFIC2abrAkHqUe6R6pLNBWWR622lK+Zjuit9yH4nSoxs1GCQ0vRhpC/"
    "VPb3Z9EOwdSkPqHYImEkdldOMF4Z0qSvVlKoTNZ7DAMjTA3QRG7Yh5PxaC/y50ARqZgsKxNACPexPdhejZdZecS4"
    "vidpT0JZ1BB/MTzsIg5EomKkOdoUv7AkUGCaenb0bqTZn+6qtojqqFbF/fr31lkAgWtj8YCfp9jhneIi17k4LU02"
    "uu01QugypoR65drKfPq89euGFR43n5A5N9+DpU3qOfFcQPSm0EShiMYHqU6mrELWKjVEnHoClF3H6wIDAQAB";

}  // namespace ecomm::fuzz

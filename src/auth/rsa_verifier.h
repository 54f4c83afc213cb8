// RSASSA-PKCS1-v1_5 verification with one RSA public key, its OpenSSL contexts set up once and
// reused. Setting a context up (EVP_PKEY_CTX_new, then verify_init, which looks the algorithm
// up in OpenSSL 3's provider store) cost about 3 µs of a 20 µs verify; a key record is
// decoded once (dkim_key.h), so its contexts can be kept with it. Thread-safe: each verify
// takes a context of its own from the pool and gives it back after a successful check.
#pragma once
#include <memory>
#include <string_view>

#include "util/idle_pool.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY and EVP_PKEY_CTX, kept out of this header
struct evp_pkey_ctx_st;

namespace ecomm {

class RsaVerifier {
public:
    explicit RsaVerifier(std::shared_ptr<evp_pkey_st> key);
    ~RsaVerifier();
    RsaVerifier(const RsaVerifier&) = delete;
    RsaVerifier& operator=(const RsaVerifier&) = delete;

    // signature (raw bytes) over digest (SHA-256, or SHA-1 when sha1).
    bool verify(bool sha1, std::string_view digest, std::string_view signature);

private:
    struct ContextFree {
        void operator()(evp_pkey_ctx_st* context) const noexcept;
    };
    using Contexts = IdlePool<evp_pkey_ctx_st, 16, ContextFree>;  // per digest
    using Context = Contexts::Pointer;

    Context make_context(bool sha1) const;

    std::shared_ptr<evp_pkey_st> key_;
    Contexts idle_[2];  // [sha1]
};

}  // namespace ecomm

#include "auth/rsa_verifier.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <utility>

#include "auth/dkim_key.h"  // dkim_digest

namespace ecomm {

void RsaVerifier::ContextFree::operator()(EVP_PKEY_CTX* context) const noexcept { EVP_PKEY_CTX_free(context); }

RsaVerifier::RsaVerifier(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
RsaVerifier::~RsaVerifier() = default;

RsaVerifier::Context RsaVerifier::make_context(bool sha1) const
{
    Context context(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (!context || EVP_PKEY_verify_init(context.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(context.get(), dkim_digest(sha1)) != 1)
        return nullptr;
    return context;
}

bool RsaVerifier::verify(bool sha1, std::string_view digest, std::string_view signature)
{
    if (!key_) return false;
    Contexts& idle = idle_[sha1 ? 1 : 0];
    Context context = idle.take();
    if (!context) context = make_context(sha1);
    const bool verified =
        context && EVP_PKEY_verify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                   signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                                   digest.size()) == 1;
    // Only a context that just verified goes back: one that failed is not trusted to be as new.
    if (verified) idle.give_back(std::move(context));
    return verified;
}

}  // namespace ecomm

// DKIM key records, key decoding and signature checks with OpenSSL's EVP interface.
#include "auth/dkim_key.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "util/base64_values.h"

namespace ecomm {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_folding(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string without_spaces(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text)
        if (!is_space(c)) out += c;
    return out;
}

// libopendkim's tag-list grammar (dkim_process_set): name = alphanumeric first, then anything
// but blanks, '=' and ';'; every byte ASCII and printable or a space.
bool parse_tag_list(std::string_view text, std::map<std::string, std::string>& tags)
{
    enum class State { before_name, in_name, before_value, in_value } state = State::before_name;
    std::size_t name_start = 0, name_end = 0, value_start = 0;
    bool spaced = false;
    const auto add = [&](std::size_t value_end) {
        tags[without_spaces(text.substr(name_start, name_end - name_start))] =
            without_spaces(text.substr(value_start, value_end - value_start));
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c > 0x7f || (!std::isprint(c) && !std::isspace(c))) return false;
        switch (state) {
        case State::before_name:
            if (std::isspace(c)) break;
            if (!std::isalnum(c)) return false;
            name_start = i;
            spaced = false;
            state = State::in_name;
            break;
        case State::in_name:
            if (std::isspace(c)) {
                spaced = true;
            } else if (c == '=') {
                name_end = i;
                state = State::before_value;
            } else if (c == ';' || spaced) {
                return false;
            }
            break;
        case State::before_value:
            if (std::isspace(c)) break;
            value_start = i;
            if (c == ';') {
                add(i);
                state = State::before_name;
            } else {
                state = State::in_value;
            }
            break;
        case State::in_value:
            if (c == ';') {
                add(i);
                state = State::before_name;
            }
            break;
        }
    }
    switch (state) {
    case State::before_name: return true;
    case State::in_name: return false;
    case State::before_value: value_start = text.size(); [[fallthrough]];
    case State::in_value: add(text.size()); return true;
    }
    return false;
}

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct MdContextFree {
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
struct DigestFree {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};

std::shared_ptr<EVP_PKEY> owned(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, PkeyFree{}); }

// As libopendkim reads p= for an RSA signature: d2i_PUBKEY, and it must hold an RSA key.
std::shared_ptr<EVP_PKEY> rsa_key_of(const std::string& der)
{
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    std::shared_ptr<EVP_PKEY> key = owned(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
    if (key && EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) key.reset();
    return key;
}

bool verify(const DkimKeyRecord& record, bool ed25519, bool sha1, std::string_view digest, std::string_view signature)
{
    if (!ed25519) return record.rsa_verifier && record.rsa_verifier->verify(sha1, digest, signature);
    EVP_PKEY* key = record.ed25519_key.get();
    if (!key) return false;
    std::unique_ptr<EVP_MD_CTX, MdContextFree> context(EVP_MD_CTX_new());
    return context && EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key) == 1 &&
           EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                            digest.size()) == 1;
}

}  // namespace

const std::string* DkimKeyRecord::tag(const std::string& name) const
{
    const auto found = tags.find(name);
    return found == tags.end() ? nullptr : &found->second;
}

const EVP_MD* dkim_digest(bool sha1)
{
    static const std::unique_ptr<EVP_MD, DigestFree> sha1_md(EVP_MD_fetch(nullptr, "SHA1", nullptr));
    static const std::unique_ptr<EVP_MD, DigestFree> sha256_md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    if (sha1) return sha1_md ? sha1_md.get() : EVP_sha1();
    return sha256_md ? sha256_md.get() : EVP_sha256();
}

std::optional<std::string> dkim_lenient_base64(std::string_view text)
{
    std::string out;
    out.reserve(text.size() / 4 * 3 + 3);
    unsigned bits = 0;
    int count = 0;
    for (char c : text) {
        if (c == '=') break;
        const int value = kBase64Values[static_cast<unsigned char>(c)];
        if (value < 0) continue;
        // libopendkim's buffer holds as many bytes as the text has characters, and it wants
        // room for three more before each group completes.
        if (out.size() + 3 > text.size()) return std::nullopt;
        bits = (bits << 6) | static_cast<unsigned>(value);
        if (++count == 4) {
            const char group[3] = {static_cast<char>((bits >> 16) & 0xff), static_cast<char>((bits >> 8) & 0xff),
                                   static_cast<char>(bits & 0xff)};
            out.append(group, 3);
            bits = 0;
            count = 0;
        }
    }
    switch (count) {
    case 1: return std::nullopt;
    case 2: out += static_cast<char>((bits >> 4) & 0xff); break;
    case 3:
        out += static_cast<char>((bits >> 10) & 0xff);
        out += static_cast<char>((bits >> 2) & 0xff);
        break;
    default: break;
    }
    return out;
}

std::optional<std::string> dkim_base64_decode(std::string_view text)
{
    std::string base64;
    base64.reserve(text.size());
    for (char c : text)
        if (!is_folding(c)) base64 += c;
    if (base64.size() % 4 != 0) return std::nullopt;
    if (base64.empty()) return std::string();
    std::string decoded(base64.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                       reinterpret_cast<const unsigned char*>(base64.data()),
                                       static_cast<int>(base64.size()));
    if (length < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding's zero bytes too.
    const std::size_t padding = static_cast<std::size_t>(std::count(base64.end() - 2, base64.end(), '='));
    decoded.resize(static_cast<std::size_t>(length) - padding);
    return decoded;
}

DkimKeyRecord parse_dkim_key_record(std::string_view record)
{
    DkimKeyRecord out;
    out.syntax_ok = !record.empty() && parse_tag_list(record, out.tags);
    if (!out.syntax_ok) return out;
    const std::string* public_key = out.tag("p");
    if (!public_key || public_key->empty()) return out;
    const std::optional<std::string> der = dkim_lenient_base64(*public_key);
    if (!der) return out;
    out.key_decodes = true;
    // An Ed25519 key is 32 raw bytes, which is never an RSA SubjectPublicKeyInfo.
    if (der->size() == 32) {
        out.ed25519_key = owned(EVP_PKEY_new_raw_public_key(
            EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(der->data()), der->size()));
    } else {
        out.rsa_key = rsa_key_of(*der);
        if (out.rsa_key) {
            out.rsa_bits = static_cast<unsigned>(EVP_PKEY_get_size(out.rsa_key.get())) * 8;
            out.rsa_verifier = std::make_shared<RsaVerifier>(out.rsa_key);
        }
    }
    ERR_clear_error();  // a key that does not decode leaves nothing on this thread's error queue
    return out;
}

bool dkim_signature_verifies(const DkimKeyRecord& record, bool ed25519, bool sha1, std::string_view digest,
                             std::string_view signature)
{
    const bool verified = verify(record, ed25519, sha1, digest, signature);
    if (!verified) ERR_clear_error();  // a signature that does not verify is no OpenSSL error to keep
    return verified;
}

std::shared_ptr<const DkimKeyRecord> DkimKeyCache::get(std::string_view record)
{
    std::string text(record);
    {
        std::lock_guard lock(mutex_);
        if (auto found = entries_.find(text); found != entries_.end()) {
            order_.splice(order_.begin(), order_, found->second.position);
            return found->second.parsed;
        }
    }
    // Parsed outside the lock: a decode takes a while, and two threads parsing the same new
    // record at once only waste one parse.
    auto parsed = std::make_shared<const DkimKeyRecord>(parse_dkim_key_record(record));
    if (capacity_ == 0) return parsed;
    std::lock_guard lock(mutex_);
    if (entries_.count(text) != 0) return parsed;
    order_.push_front(text);
    entries_.emplace(std::move(text), Entry{parsed, order_.begin()});
    while (entries_.size() > capacity_) {
        entries_.erase(order_.back());
        order_.pop_back();
    }
    return parsed;
}

std::size_t DkimKeyCache::size()
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace ecomm

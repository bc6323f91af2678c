#include "auth/token_signing.hpp"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <cctype>

#include "auth/base64url.hpp"
#include "text/encoding.hpp"

namespace flume::auth {
namespace {

std::string gnutls_problem(const char *what, int code) {
  return std::string(what) + ": " + gnutls_strerror(code);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

gnutls_datum_t datum_of(std::span<const std::uint8_t> bytes) {
  return {const_cast<unsigned char *>(bytes.data()), static_cast<unsigned>(bytes.size())};
}

struct PrivkeyDeleter {
  void operator()(gnutls_privkey_st *key) const { gnutls_privkey_deinit(key); }
};
using Privkey = std::unique_ptr<gnutls_privkey_st, PrivkeyDeleter>;

// The Ed25519 private key from both halves. Passing the public half is not optional: GnuTLS
// 3.7.9 crashes importing an Ed25519 key without it.
Privkey import_private(const RawKey &private_key, const RawKey &public_key, std::string &error) {
  gnutls_privkey_t raw = nullptr;
  if (int rc = gnutls_privkey_init(&raw); rc < 0) {
    error = gnutls_problem("cannot create a key", rc);
    return nullptr;
  }
  Privkey key(raw);
  const gnutls_datum_t x = datum_of(public_key);
  const gnutls_datum_t k = datum_of(private_key);
  if (int rc = gnutls_privkey_import_ecc_raw(raw, GNUTLS_ECC_CURVE_ED25519, &x, nullptr, &k);
      rc < 0) {
    error = gnutls_problem("cannot import the Ed25519 secret key", rc);
    return nullptr;
  }
  return key;
}

}  // namespace

KeyId key_id_of(const RawKey &public_key) {
  std::array<std::uint8_t, 32> digest{};
  gnutls_hash_fast(GNUTLS_DIG_SHA256, public_key.data(), public_key.size(), digest.data());
  KeyId id{};
  std::copy_n(digest.begin(), id.size(), id.begin());
  return id;
}

std::string format_key_id(const KeyId &id) {
  return text::to_hex(id);
}

struct VerifyingKey::Handle {
  gnutls_pubkey_t key = nullptr;
  ~Handle() {
    if (key != nullptr) gnutls_pubkey_deinit(key);
  }
};

std::optional<VerifyingKey> VerifyingKey::from_raw(const RawKey &public_key, std::string &error) {
  VerifyingKey out;
  out.raw_ = public_key;
  out.id_ = key_id_of(public_key);
  out.handle_ = std::make_shared<Handle>();
  if (int rc = gnutls_pubkey_init(&out.handle_->key); rc < 0) {
    out.handle_->key = nullptr;
    error = gnutls_problem("cannot create a key", rc);
    return std::nullopt;
  }
  const gnutls_datum_t x = datum_of(public_key);
  if (int rc =
          gnutls_pubkey_import_ecc_raw(out.handle_->key, GNUTLS_ECC_CURVE_ED25519, &x, nullptr);
      rc < 0) {
    error = gnutls_problem("cannot import the Ed25519 public key", rc);
    return std::nullopt;
  }
  return out;
}

std::optional<VerifyingKey> VerifyingKey::parse(std::string_view text, std::string &error) {
  text = trim(text);
  if (text.starts_with(kSecretKeyPrefix)) {
    error = "this is a secret key (flsk1.); verifiers take the public key (flpk1.)";
    return std::nullopt;
  }
  if (!text.starts_with(kPublicKeyPrefix)) {
    error = "a public operator key starts with 'flpk1.'";
    return std::nullopt;
  }
  auto bytes = from_base64url(text.substr(kPublicKeyPrefix.size()));
  if (!bytes || bytes->size() != 32) {
    error = "a public operator key is 'flpk1.' and 32 bytes in base64url (43 characters)";
    return std::nullopt;
  }
  RawKey raw{};
  std::copy(bytes->begin(), bytes->end(), raw.begin());
  return from_raw(raw, error);
}

std::string VerifyingKey::text() const {
  return std::string(kPublicKeyPrefix) + to_base64url(raw_);
}

bool VerifyingKey::verify(std::span<const std::uint8_t> message, const Signature &signature) const {
  if (!handle_ || handle_->key == nullptr) return false;  // a default-made key verifies nothing
  const gnutls_datum_t data = datum_of(message);
  const gnutls_datum_t sig = datum_of(signature);
  return gnutls_pubkey_verify_data2(handle_->key, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig) >= 0;
}

std::optional<SigningKey> SigningKey::generate(std::string &error) {
  gnutls_privkey_t raw = nullptr;
  if (int rc = gnutls_privkey_init(&raw); rc < 0) {
    error = gnutls_problem("cannot create a key", rc);
    return std::nullopt;
  }
  Privkey key(raw);
  if (int rc = gnutls_privkey_generate2(raw, GNUTLS_PK_EDDSA_ED25519, 0, 0, nullptr, 0); rc < 0) {
    error = gnutls_problem("cannot generate an Ed25519 key", rc);
    return std::nullopt;
  }
  gnutls_ecc_curve_t curve{};
  gnutls_datum_t x{};
  gnutls_datum_t k{};
  if (int rc =
          gnutls_privkey_export_ecc_raw2(raw, &curve, &x, nullptr, &k, GNUTLS_EXPORT_FLAG_NO_LZ);
      rc < 0) {
    error = gnutls_problem("cannot export the new key", rc);
    return std::nullopt;
  }
  SigningKey out;
  const bool sizes_ok = x.size == 32 && k.size == 32;
  if (sizes_ok) {
    std::copy_n(x.data, 32, out.public_.begin());
    std::copy_n(k.data, 32, out.private_.begin());
  }
  gnutls_memset(k.data, 0, k.size);
  gnutls_free(x.data);
  gnutls_free(k.data);
  if (!sizes_ok) {
    error = "GnuTLS exported an Ed25519 key of an unexpected size";
    return std::nullopt;
  }
  out.id_ = key_id_of(out.public_);
  return out;
}

std::optional<SigningKey> SigningKey::parse(std::string_view text, std::string &error) {
  text = trim(text);
  if (text.starts_with(kPublicKeyPrefix)) {
    error = "this is a public key (flpk1.); issuing takes the secret key (flsk1.)";
    return std::nullopt;
  }
  if (!text.starts_with(kSecretKeyPrefix)) {
    error = "a secret operator key starts with 'flsk1.'";
    return std::nullopt;
  }
  auto bytes = from_base64url(text.substr(kSecretKeyPrefix.size()));
  if (!bytes || bytes->size() != 64) {
    error = "a secret operator key is 'flsk1.' and 64 bytes in base64url (86 characters)";
    return std::nullopt;
  }
  SigningKey out;
  std::copy_n(bytes->begin(), 32, out.private_.begin());
  std::copy_n(bytes->begin() + 32, 32, out.public_.begin());
  gnutls_memset(bytes->data(), 0, bytes->size());
  out.id_ = key_id_of(out.public_);
  // A key file whose halves do not match would sign tokens nobody can verify: find out now.
  static constexpr std::uint8_t kProbe[] = {'p', 'r', 'o', 'b', 'e'};
  auto signature = out.sign(kProbe, error);
  if (!signature) return std::nullopt;
  auto verifier = VerifyingKey::from_raw(out.public_, error);
  if (!verifier) return std::nullopt;
  if (!verifier->verify(kProbe, *signature)) {
    error = "the secret key's public half does not belong to its private half";
    return std::nullopt;
  }
  return out;
}

std::string SigningKey::text() const {
  std::array<std::uint8_t, 64> both{};
  std::copy(private_.begin(), private_.end(), both.begin());
  std::copy(public_.begin(), public_.end(), both.begin() + 32);
  std::string out = std::string(kSecretKeyPrefix) + to_base64url(both);
  gnutls_memset(both.data(), 0, both.size());
  return out;
}

std::string SigningKey::public_text() const {
  return std::string(kPublicKeyPrefix) + to_base64url(public_);
}

std::optional<Signature> SigningKey::sign(std::span<const std::uint8_t> message,
                                          std::string &error) const {
  Privkey key = import_private(private_, public_, error);
  if (!key) return std::nullopt;
  const gnutls_datum_t data = datum_of(message);
  gnutls_datum_t sig{};
  if (int rc = gnutls_privkey_sign_data2(key.get(), GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig);
      rc < 0) {
    error = gnutls_problem("cannot sign", rc);
    return std::nullopt;
  }
  std::optional<Signature> out;
  if (sig.size == kSignatureSize) {
    out.emplace();
    std::copy_n(sig.data, kSignatureSize, out->begin());
  } else {
    error = "GnuTLS made an Ed25519 signature of an unexpected size";
  }
  gnutls_free(sig.data);
  return out;
}

std::optional<std::string> issue_token(const SigningKey &key, AccessToken claims,
                                       std::string &error, bool keep_id) {
  claims.key_id = key.id();
  if (!keep_id) {
    if (int rc = gnutls_rnd(GNUTLS_RND_NONCE, claims.id.data(), claims.id.size()); rc < 0) {
      error = gnutls_problem("cannot draw a token id", rc);
      return std::nullopt;
    }
  }
  if (std::string problem = check_claims(claims); !problem.empty()) {
    error = std::move(problem);
    return std::nullopt;
  }
  const std::vector<std::uint8_t> body = encode_body(claims);
  auto signature = key.sign(signed_bytes(body), error);
  if (!signature) return std::nullopt;
  std::string text = token_text(body, *signature);
  if (text.size() > kMaxTokenText) {
    error = "the token would be " + std::to_string(text.size()) +
            " bytes, over the limit of 8192: fewer or shorter patterns";
    return std::nullopt;
  }
  return text;
}

Verification verify_token(std::string_view text, std::span<const VerifyingKey> keys,
                          std::uint64_t now) {
  Verification out;
  auto refuse = [&out](TokenError error, const std::string &detail) {
    out.error = error;
    out.message = describe(error);
    if (!detail.empty()) out.message += ": " + detail;
    return out;
  };
  ParsedToken parsed;
  std::string detail;
  if (TokenError error = parse_token(text, parsed, detail); error != TokenError::ok)
    return refuse(error, detail);
  out.token = std::move(parsed.token);
  out.parsed = true;
  const auto key = std::find_if(keys.begin(), keys.end(),
                                [&](const VerifyingKey &k) { return k.id() == out.token.key_id; });
  if (key == keys.end())
    return refuse(TokenError::unknown_key, "key id " + format_key_id(out.token.key_id));
  if (!key->verify(signed_bytes(parsed.body), parsed.signature))
    return refuse(TokenError::bad_signature, "key id " + format_key_id(out.token.key_id));
  // Unsigned arithmetic written so that it cannot wrap: the fields may be anything up to 2^64-1.
  if (now + kClockSkewSeconds < out.token.not_before) {
    return refuse(TokenError::not_yet_valid, "valid from " + std::to_string(out.token.not_before) +
                                                 ", now is " + std::to_string(now) +
                                                 " (allowing 60 s of clock skew)");
  }
  if (out.token.expires <= now && now - out.token.expires >= kClockSkewSeconds) {
    return refuse(TokenError::expired, "expired at " + std::to_string(out.token.expires) +
                                           ", now is " + std::to_string(now) +
                                           " (allowing 60 s of clock skew)");
  }
  out.error = TokenError::ok;
  out.message = describe(TokenError::ok);
  return out;
}

}  // namespace flume::auth

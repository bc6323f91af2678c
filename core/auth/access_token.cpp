#include "auth/access_token.hpp"

#include <algorithm>

#include "auth/base64url.hpp"
#include "subject/subject.hpp"

namespace flume::auth {
namespace {

const char *const kListNames[4] = {"publish allow", "publish deny", "subscribe allow",
                                   "subscribe deny"};

std::array<const std::vector<std::string> *, 4> lists_of(const Grants &grants) {
  return {&grants.allow_publish, &grants.deny_publish, &grants.allow_subscribe,
          &grants.deny_subscribe};
}
std::array<std::vector<std::string> *, 4> lists_of(Grants &grants) {
  return {&grants.allow_publish, &grants.deny_publish, &grants.allow_subscribe,
          &grants.deny_subscribe};
}

std::string check_tenant(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > kMaxTenantLength) return "the tenant must be 1 to 64 bytes";
  if (tenant.find('.') != std::string_view::npos) return "the tenant must be one token (no '.')";
  if (const SubjectError error = validate_subject(tenant); error != SubjectError::ok)
    return std::string("the tenant is invalid: ") + flume::describe(error);
  return {};
}

// Writes into a buffer sized up front, a byte at a time: GCC 12 at -O3 reports a false
// -Warray-bounds on std::vector::insert after push_back, and the sizes are known anyway.
class Writer {
 public:
  explicit Writer(std::size_t size) : out_(size) {}
  void u8(std::uint8_t value) { out_.at(at_++) = value; }
  void u64(std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8)
      u8(static_cast<std::uint8_t>(value >> shift));
  }
  void bytes(std::span<const std::uint8_t> bytes) {
    for (const std::uint8_t byte : bytes)
      u8(byte);
  }
  void string(std::string_view text) {
    u8(static_cast<std::uint8_t>(text.size()));
    for (const char c : text)
      u8(static_cast<std::uint8_t>(c));
  }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
  std::size_t at_ = 0;
};

// Reads the body front to back; every read checks what is left, and the first failure sticks.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : rest_(bytes) {}
  bool failed() const { return failed_; }
  bool done() const { return rest_.empty(); }

  std::uint8_t u8() {
    if (!take(1)) return 0;
    return taken_[0];
  }
  std::uint64_t u64() {
    if (!take(8)) return 0;
    std::uint64_t value = 0;
    for (const std::uint8_t byte : taken_)
      value = (value << 8) | byte;
    return value;
  }
  template <std::size_t N>
  void bytes(std::array<std::uint8_t, N> &out) {
    if (take(N)) std::copy(taken_.begin(), taken_.end(), out.begin());
  }
  std::string string() {
    const std::uint8_t length = u8();
    if (!take(length)) return {};
    return std::string(taken_.begin(), taken_.end());
  }

 private:
  bool take(std::size_t n) {
    if (failed_ || rest_.size() < n) {
      failed_ = true;
      return false;
    }
    taken_ = rest_.first(n);
    rest_ = rest_.subspan(n);
    return true;
  }
  std::span<const std::uint8_t> rest_;
  std::span<const std::uint8_t> taken_;
  bool failed_ = false;
};

}  // namespace

const char *describe(TokenError error) noexcept {
  switch (error) {
    case TokenError::ok:
      return "the token is valid";
    case TokenError::malformed:
      return "the token is malformed";
    case TokenError::oversized:
      return "the token is longer than 8192 bytes";
    case TokenError::unknown_key:
      return "the token is signed by an operator key this verifier does not know";
    case TokenError::bad_signature:
      return "the token's signature does not match its contents (forged or altered)";
    case TokenError::expired:
      return "the token has expired";
    case TokenError::not_yet_valid:
      return "the token is not valid yet (its not-before time is in the future)";
  }
  return "unknown token error";
}

std::string check_claims(const AccessToken &token) {
  if (std::string problem = check_tenant(token.tenant); !problem.empty()) return problem;
  if (const SubjectError error = validate_subject(token.subject); error != SubjectError::ok)
    return std::string("the token's subject is invalid: ") + flume::describe(error);
  const auto lists = lists_of(token.grants);
  for (std::size_t l = 0; l < lists.size(); ++l) {
    if (lists[l]->size() > kMaxPatternsPerList) {
      return std::string("more than 64 ") + kListNames[l] + " patterns";
    }
    for (const std::string &pattern : *lists[l]) {
      if (const SubjectError error = validate_pattern(pattern); error != SubjectError::ok) {
        return std::string("the ") + kListNames[l] + " pattern '" + pattern +
               "' is invalid: " + flume::describe(error);
      }
    }
  }
  if (token.not_before >= token.expires) return "not-before must be earlier than the expiry";
  return {};
}

std::vector<std::uint8_t> encode_body(const AccessToken &token) {
  std::size_t size =
      1 + kKeyIdSize + kTokenIdSize + 8 + 8 + 1 + token.tenant.size() + 1 + token.subject.size();
  for (const auto *list : lists_of(token.grants)) {
    size += 1;
    for (const std::string &pattern : *list)
      size += 1 + pattern.size();
  }
  Writer out(size);
  out.u8(kTokenVersion);
  out.bytes(token.key_id);
  out.bytes(token.id);
  out.u64(token.not_before);
  out.u64(token.expires);
  out.string(token.tenant);
  out.string(token.subject);
  for (const auto *list : lists_of(token.grants)) {
    out.u8(static_cast<std::uint8_t>(list->size()));
    for (const std::string &pattern : *list)
      out.string(pattern);
  }
  return out.take();
}

std::vector<std::uint8_t> signed_bytes(std::span<const std::uint8_t> body) {
  Writer out(kSignatureContext.size() + body.size());
  for (const char c : kSignatureContext)
    out.u8(static_cast<std::uint8_t>(c));
  out.bytes(body);
  return out.take();
}

std::string token_text(std::span<const std::uint8_t> body, const Signature &signature) {
  Writer whole(body.size() + signature.size());
  whole.bytes(body);
  whole.bytes(signature);
  return std::string(kTokenPrefix) + to_base64url(whole.take());
}

TokenError parse_token(std::string_view text, ParsedToken &out, std::string &detail) {
  if (text.size() > kMaxTokenText) {
    detail = "it is " + std::to_string(text.size()) + " bytes";
    return TokenError::oversized;
  }
  if (!text.starts_with(kTokenPrefix)) {
    detail = "it does not start with 'flt1.'";
    return TokenError::malformed;
  }
  auto bytes = from_base64url(text.substr(kTokenPrefix.size()));
  if (!bytes) {
    detail = "the text after 'flt1.' is not base64url without padding";
    return TokenError::malformed;
  }
  if (bytes->size() < kSignatureSize + 1) {
    detail = "it is too short to hold a body and a signature";
    return TokenError::malformed;
  }
  const std::size_t body_size = bytes->size() - kSignatureSize;
  std::copy(bytes->begin() + static_cast<std::ptrdiff_t>(body_size), bytes->end(),
            out.signature.begin());
  bytes->resize(body_size);
  out.body = std::move(*bytes);

  Reader reader(out.body);
  AccessToken &token = out.token;
  if (const std::uint8_t version = reader.u8(); version != kTokenVersion) {
    detail = "unsupported token version " + std::to_string(version);
    return TokenError::malformed;
  }
  reader.bytes(token.key_id);
  reader.bytes(token.id);
  token.not_before = reader.u64();
  token.expires = reader.u64();
  token.tenant = reader.string();
  token.subject = reader.string();
  for (auto *list : lists_of(token.grants)) {
    const std::uint8_t count = reader.u8();
    if (count > kMaxPatternsPerList) {
      detail = "a pattern list has more than 64 patterns";
      return TokenError::malformed;
    }
    list->clear();
    for (std::uint8_t i = 0; i < count && !reader.failed(); ++i)
      list->push_back(reader.string());
  }
  if (reader.failed()) {
    detail = "the body ends inside a field (truncated)";
    return TokenError::malformed;
  }
  if (!reader.done()) {
    detail = "bytes follow the last pattern list";
    return TokenError::malformed;
  }
  if (std::string problem = check_claims(token); !problem.empty()) {
    detail = std::move(problem);
    return TokenError::malformed;
  }
  return TokenError::ok;
}

}  // namespace flume::auth

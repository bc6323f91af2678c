// The head of one HTTP/1.1 request (request line and headers), read incrementally from a TCP
// connection with http-parser and bounded in size: what a WebSocket upgrade or a page request
// needs, nothing more. Sans-I/O: bytes in, a parsed request or a refusal out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flume::websocket {

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // "/path?query"
  // Names lower-cased; values as sent, without surrounding whitespace. In order of arrival.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `name` (lower-case), or nullptr.
  const std::string *header(std::string_view name) const noexcept;
  // Whether the comma-separated header `name` (any occurrence) holds `token`, compared
  // case-insensitively when `ignore_case`.
  bool header_has_token(std::string_view name, std::string_view token,
                        bool ignore_case = true) const;
};

class RequestHeadParser {
 public:
  enum class Status { need_more, complete, refused };

  static constexpr std::size_t kDefaultMaxHeadBytes = 8192;
  static constexpr std::size_t kMaxHeaders = 64;

  explicit RequestHeadParser(std::size_t max_head_bytes = kDefaultMaxHeadBytes);
  ~RequestHeadParser();
  RequestHeadParser(const RequestHeadParser &) = delete;
  RequestHeadParser &operator=(const RequestHeadParser &) = delete;

  // Feeds the next bytes. On `complete`, `consumed` says how many of them belonged to the head
  // (the rest are the first WebSocket bytes, if the client did not wait for the answer). Once
  // complete or refused, further calls change nothing.
  Status feed(std::span<const std::uint8_t> bytes, std::size_t &consumed);

  Status status() const noexcept { return status_; }
  const HttpRequest &request() const noexcept { return request_; }
  // When refused: the HTTP status to answer with (400, 431) and why, for people.
  int refusal_status() const noexcept { return refusal_status_; }
  const std::string &refusal_reason() const noexcept { return refusal_reason_; }

 private:
  struct Callbacks;
  void refuse(int status, std::string reason);

  struct Parser;
  std::unique_ptr<Parser> parser_;
  std::size_t max_head_bytes_;
  std::size_t seen_ = 0;
  Status status_ = Status::need_more;
  HttpRequest request_;
  bool in_value_ = false;  // the last header callback was a value (a new field starts a header)
  bool head_done_ = false;
  bool too_many_headers_ = false;
  int refusal_status_ = 0;
  std::string refusal_reason_;
};

}  // namespace flume::websocket

#include "websocket/request_head.hpp"

#include <http_parser.h>

#include <algorithm>
#include <cctype>

namespace flume::websocket {

namespace {

char lower(char c) noexcept {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool equal_ignore_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

}  // namespace

const std::string *HttpRequest::header(std::string_view name) const noexcept {
  for (const auto &[key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool HttpRequest::header_has_token(std::string_view name, std::string_view token,
                                   bool ignore_case) const {
  for (const auto &[key, value] : headers) {
    if (key != name) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (ignore_case ? equal_ignore_case(item, token) : item == token) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

struct RequestHeadParser::Parser {
  http_parser parser{};
  http_parser_settings settings{};
};

// http-parser calls back with parser->data pointing at the RequestHeadParser.
struct RequestHeadParser::Callbacks {
  static RequestHeadParser &self(http_parser *p) {
    return *static_cast<RequestHeadParser *>(p->data);
  }

  static int on_url(http_parser *p, const char *at, std::size_t length) {
    self(p).request_.target.append(at, length);
    return 0;
  }
  static int on_header_field(http_parser *p, const char *at, std::size_t length) {
    RequestHeadParser &s = self(p);
    if (s.request_.headers.empty() || s.in_value_) {
      if (s.request_.headers.size() >= kMaxHeaders) {
        s.too_many_headers_ = true;
        return 1;
      }
      s.request_.headers.emplace_back();
      s.in_value_ = false;
    }
    std::string &name = s.request_.headers.back().first;
    for (std::size_t i = 0; i < length; ++i)
      name.push_back(lower(at[i]));
    return 0;
  }
  static int on_header_value(http_parser *p, const char *at, std::size_t length) {
    RequestHeadParser &s = self(p);
    if (s.request_.headers.empty()) return 1;
    s.in_value_ = true;
    s.request_.headers.back().second.append(at, length);
    return 0;
  }
  static int on_headers_complete(http_parser *p) {
    RequestHeadParser &s = self(p);
    s.request_.method = http_method_str(static_cast<http_method>(p->method));
    s.head_done_ = true;
    // Stop here: whatever follows (a body, or the first WebSocket frames) is not the head's.
    http_parser_pause(p, 1);
    return 0;
  }
};

RequestHeadParser::RequestHeadParser(std::size_t max_head_bytes)
    : parser_(std::make_unique<Parser>()), max_head_bytes_(max_head_bytes) {
  http_parser_init(&parser_->parser, HTTP_REQUEST);
  parser_->parser.data = this;
  http_parser_settings_init(&parser_->settings);
  parser_->settings.on_url = &Callbacks::on_url;
  parser_->settings.on_header_field = &Callbacks::on_header_field;
  parser_->settings.on_header_value = &Callbacks::on_header_value;
  parser_->settings.on_headers_complete = &Callbacks::on_headers_complete;
}

RequestHeadParser::~RequestHeadParser() = default;

void RequestHeadParser::refuse(int status, std::string reason) {
  status_ = Status::refused;
  refusal_status_ = status;
  refusal_reason_ = std::move(reason);
}

RequestHeadParser::Status RequestHeadParser::feed(std::span<const std::uint8_t> bytes,
                                                  std::size_t &consumed) {
  consumed = 0;
  if (status_ != Status::need_more) return status_;
  // Never parse past the bound: the head must complete within max_head_bytes_.
  const std::size_t room = max_head_bytes_ - seen_;
  const std::size_t take = std::min(bytes.size(), room);
  const std::size_t parsed = http_parser_execute(
      &parser_->parser, &parser_->settings, reinterpret_cast<const char *>(bytes.data()), take);
  const auto error = HTTP_PARSER_ERRNO(&parser_->parser);
  if (head_done_) {
    // Paused in on_headers_complete, which http-parser calls on the head's last byte (the LF
    // of the empty line) without counting that byte in `parsed`.
    consumed = parsed;
    if (consumed < take && bytes[consumed] == '\n') ++consumed;
    seen_ += parsed;
    status_ = Status::complete;
    // Trim the values once, now that they are whole.
    for (auto &[name, value] : request_.headers)
      value = std::string(trim(value));
    return status_;
  }
  if (too_many_headers_) {
    refuse(431, "more than 64 header fields");
  } else if (error != HPE_OK) {
    refuse(400, std::string("malformed HTTP request: ") + http_errno_description(error));
  } else {
    seen_ += parsed;
    consumed = parsed;
    if (seen_ >= max_head_bytes_) {
      refuse(431, "request head over " + std::to_string(max_head_bytes_) + " bytes");
    }
  }
  return status_;
}

}  // namespace flume::websocket

// Feeds arbitrary bytes, in arbitrary pieces, to the WebSocket port's request-head reader and the
// handshake decision, and traps on any broken invariant: the reader never reports more bytes
// consumed than it was given, never reads past its bound, and a complete head always gets an
// answer that is a whole HTTP response.
//
// The first byte chooses where the input is cut into two feeds.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "websocket/handshake.hpp"
#include "websocket/request_head.hpp"

namespace {

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  using flume::websocket::RequestHeadParser;
  std::span<const std::uint8_t> input(data + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  constexpr std::size_t kBound = 1024;
  RequestHeadParser parser(kBound);
  std::size_t total = 0;
  RequestHeadParser::Status status = RequestHeadParser::Status::need_more;
  for (const auto piece : {input.first(cut), input.subspan(cut)}) {
    std::size_t consumed = 0;
    status = parser.feed(piece, consumed);
    check(consumed <= piece.size());
    total += consumed;
    if (status != RequestHeadParser::Status::need_more) break;
  }
  check(total <= kBound);
  if (status == RequestHeadParser::Status::refused) {
    check(parser.refusal_status() == 400 || parser.refusal_status() == 431);
    check(!parser.refusal_reason().empty());
  }
  if (status != RequestHeadParser::Status::complete) return 0;
  const std::vector<std::string> origins[] = {{}, {"https://a.example"}};
  for (const auto &allowed : origins) {
    const auto d = flume::websocket::decide_handshake(parser.request(), allowed);
    if (d.kind == flume::websocket::HandshakeDecision::Kind::page) continue;
    check(d.response.starts_with("HTTP/1.1 "));
    check(d.response.find("\r\n\r\n") != std::string::npos);
    check((d.kind == flume::websocket::HandshakeDecision::Kind::upgrade) == (d.status == 101));
  }
  return 0;
}

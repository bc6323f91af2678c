// What the broker's WebSocket port serves besides WebSockets: the demo page (GET /) and the
// browser client as one ES module (GET /flume.js). Both are compiled into the broker from
// core/websocket/assets/ so it needs no files at run time.
#pragma once

#include <string_view>

namespace flume::websocket {

std::string_view demo_page_html() noexcept;
// Empty when the build had no browser client to embed.
std::string_view browser_client_js() noexcept;

}  // namespace flume::websocket

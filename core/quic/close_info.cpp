#include "quic/close_info.hpp"

namespace flume::quic {

std::string_view close_reason_name(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::application:
      return "application";
    case CloseReason::transport_error:
      return "transport_error";
    case CloseReason::idle_timeout:
      return "idle_timeout";
    case CloseReason::handshake_timeout:
      return "handshake_timeout";
    case CloseReason::unreachable:
      return "unreachable";
    case CloseReason::refused:
      return "refused";
    case CloseReason::certificate_rejected:
      return "certificate_rejected";
    case CloseReason::alpn_mismatch:
      return "alpn_mismatch";
    case CloseReason::tls_failure:
      return "tls_failure";
    case CloseReason::stateless_reset:
      return "stateless_reset";
    case CloseReason::version_mismatch:
      return "version_mismatch";
    case CloseReason::local_error:
      return "local_error";
  }
  return "unknown";
}

}  // namespace flume::quic

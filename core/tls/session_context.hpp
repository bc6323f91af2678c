// What gnutls_session_get_ptr() holds for every Flume TLS session (internal to core/tls).
//
// ngtcp2's GnuTLS hooks read that pointer as an ngtcp2_crypto_conn_ref and call its get_conn to
// reach the QUIC connection; Flume's own verify callbacks reach this struct through the same
// pointer, via conn_ref.user_data, so no layout trick is involved.
#pragma once

#include <ngtcp2/ngtcp2_crypto.h>

#include <string>

namespace flume::tls {

class ClientTrust;

struct SessionContext {
  ngtcp2_crypto_conn_ref conn_ref{};   // what gnutls_session_set_ptr() is given
  ngtcp2_conn *conn = nullptr;         // set once the QUIC connection exists
  const ClientTrust *trust = nullptr;  // client sessions only
  std::string expected_name;           // client: the name or IP the certificate must carry
  std::string verify_failure;          // set by a verify callback that rejected the peer

  static SessionContext *of(gnutls_session_t session) noexcept {
    auto *ref = static_cast<ngtcp2_crypto_conn_ref *>(gnutls_session_get_ptr(session));
    return ref == nullptr ? nullptr : static_cast<SessionContext *>(ref->user_data);
  }
};

}  // namespace flume::tls

// Creating a Connection: the ngtcp2_conn for either role, its TLS session and its timer.
#include <ngtcp2/ngtcp2_crypto.h>

#include "quic/connection.hpp"
#include "quic/connection_callbacks.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_socket.hpp"
#include "quic/transport_setup.hpp"
#include "tls/tls_session.hpp"

namespace flume::quic {

namespace {

ngtcp2_path path_of(const SocketAddress &local, const SocketAddress &remote) {
  ngtcp2_path path{};
  path.local.addr = const_cast<sockaddr *>(local.as_sockaddr());
  path.local.addrlen = local.length;
  path.remote.addr = const_cast<sockaddr *>(remote.as_sockaddr());
  path.remote.addrlen = remote.length;
  return path;
}

}  // namespace

Connection::Connection(Endpoint &endpoint, Role role) : endpoint_(endpoint), role_(role) {
  timer_ = endpoint_.loop().add_timer([this] { endpoint_.on_connection_timer(*this); });
}

Connection::~Connection() {
  endpoint_.loop().remove_timer(timer_);
  // The connection goes first: deleting it may still touch the TLS session.
  if (conn_ != nullptr) ngtcp2_conn_del(conn_);
}

bool Connection::init_server(const ngtcp2_pkt_hd &hd, const ngtcp2_cid *original_dcid,
                             ngtcp2_token_type token_type, QuicSocket &socket,
                             const SocketAddress &local, const SocketAddress &peer,
                             std::uint64_t now, std::string &error) {
  const EndpointConfig &config = endpoint_.config();
  socket_ = &socket;
  local_ = local;
  peer_ = peer;

  tls_ = tls::TlsSession::server(config.server_credentials, config.alpn, error);
  if (!tls_) return false;

  ngtcp2_settings settings;
  fill_settings(config, now, settings);
  if (original_dcid != nullptr) {
    settings.token = hd.token;
    settings.tokenlen = hd.tokenlen;
    settings.token_type = token_type;
  }

  ngtcp2_transport_params params;
  fill_transport_params(config, params);
  if (original_dcid != nullptr) {
    // After a Retry: the first DCID came back inside the token; the one this Initial carries
    // is the SCID our Retry chose.
    params.original_dcid = *original_dcid;
    params.retry_scid = hd.dcid;
    params.retry_scid_present = 1;
  } else {
    params.original_dcid = hd.dcid;
  }
  params.original_dcid_present = 1;

  ngtcp2_cid scid = random_cid();
  endpoint_.stateless_reset_token(scid, params.stateless_reset_token);
  params.stateless_reset_token_present = 1;

  ngtcp2_callbacks callbacks = ConnectionCallbacks::table(Role::server);
  ngtcp2_path path = path_of(local_, peer_);
  int rv = ngtcp2_conn_server_new(&conn_, &hd.scid, &scid, &path, hd.version, &callbacks, &settings,
                                  &params, nullptr, this);
  if (rv != 0) {
    conn_ = nullptr;
    error = std::string("ngtcp2_conn_server_new: ") + ngtcp2_strerror(rv);
    return false;
  }
  tls_->attach(conn_);

  // Packets reach this connection by its own CID and, until the client switches to ours, by
  // the DCID the client chose (retransmitted Initials carry it).
  for (const ngtcp2_cid *cid : {static_cast<const ngtcp2_cid *>(&scid), &hd.dcid}) {
    CidKey key = CidKey::of(*cid);
    endpoint_.add_cid(key, *this);
    cids_.push_back(key);
  }
  return true;
}

bool Connection::init_client(const SocketAddress &server, std::string_view server_name,
                             std::unique_ptr<QuicSocket> socket, std::uint64_t now,
                             std::string &error) {
  const EndpointConfig &config = endpoint_.config();
  own_socket_ = std::move(socket);
  socket_ = own_socket_.get();
  local_ = socket_->udp().local_address();
  peer_ = server;
  server_name_ = std::string(server_name);

  tls_ = tls::TlsSession::client(config.client_trust, config.alpn, server_name_, error);
  if (!tls_) return false;

  ngtcp2_settings settings;
  fill_settings(config, now, settings);
  ngtcp2_transport_params params;
  fill_transport_params(config, params);

  ngtcp2_cid dcid = random_cid();  // >= NGTCP2_MIN_INITIAL_DCIDLEN, as RFC 9000 requires
  ngtcp2_cid scid = random_cid();
  ngtcp2_callbacks callbacks = ConnectionCallbacks::table(Role::client);
  ngtcp2_path path = path_of(local_, peer_);
  int rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &callbacks,
                                  &settings, &params, nullptr, this);
  if (rv != 0) {
    conn_ = nullptr;
    error = std::string("ngtcp2_conn_client_new: ") + ngtcp2_strerror(rv);
    return false;
  }
  tls_->attach(conn_);
  if (config.keep_alive.count() > 0) {
    ngtcp2_conn_set_keep_alive_timeout(
        conn_,
        static_cast<ngtcp2_duration>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(config.keep_alive).count()));
  }
  return true;
}

}  // namespace flume::quic

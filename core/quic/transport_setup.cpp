#include "quic/transport_setup.hpp"

#include <gnutls/crypto.h>

#include <algorithm>
#include <chrono>

#include "log/library_logs.hpp"
#include "net/udp_socket.hpp"

namespace flume::quic {

namespace {

std::uint64_t ns(std::chrono::nanoseconds d) {
  return static_cast<std::uint64_t>(d.count());
}

}  // namespace

void fill_settings(const EndpointConfig &config, std::uint64_t now, ngtcp2_settings &settings) {
  ngtcp2_settings_default(&settings);
  // Seeds the idle timer and the handshake deadline: with 0, a client's first expiry is an idle
  // close and it never connects.
  settings.initial_ts = now;
  switch (config.congestion_control) {
    case CongestionControl::bbr:
      settings.cc_algo = NGTCP2_CC_ALGO_BBR;
      break;
    case CongestionControl::cubic:
      settings.cc_algo = NGTCP2_CC_ALGO_CUBIC;
      break;
    case CongestionControl::reno:
      settings.cc_algo = NGTCP2_CC_ALGO_RENO;
      break;
  }
  settings.initial_rtt = ns(config.initial_rtt);
  settings.ack_thresh = config.ack_thresh;
  settings.max_tx_udp_payload_size = config.max_udp_payload;
  settings.handshake_timeout = ns(config.handshake_timeout);
  // Auto-tuning only when the cap is above the initial window.
  settings.max_stream_window = config.max_stream_receive_window > config.stream_receive_window
                                   ? config.max_stream_receive_window
                                   : 0;
  settings.max_window = config.max_connection_receive_window > config.connection_receive_window
                            ? config.max_connection_receive_window
                            : 0;
  // A random first packet number, as RFC 9000 suggests, so packet numbers reveal nothing.
  std::uint32_t pkt_num = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &pkt_num, sizeof pkt_num);
  settings.initial_pkt_num = pkt_num & 0x7fffffff;
  // qlog stays off: CVE-2026-40170 (a stack overflow in ngtcp2's qlog of the peer's transport
  // parameters, reachable by any peer) is fixed in ngtcp2 1.22.1, not in the 1.11 we build on.
  settings.qlog_write = nullptr;
  // ngtcp2's own debug lines, only while the log is at trace when the connection is made: with
  // log_printf set, ngtcp2 formats a line for every packet and frame whether or not anyone reads
  // it.
  settings.log_printf = log::ngtcp2_log_printf_if_enabled();
}

void fill_transport_params(const EndpointConfig &config, ngtcp2_transport_params &params) {
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = config.stream_receive_window;
  params.initial_max_stream_data_bidi_remote = config.stream_receive_window;
  params.initial_max_stream_data_uni = config.stream_receive_window;
  params.initial_max_data = config.connection_receive_window;
  params.initial_max_streams_bidi = config.max_peer_bidi_streams;
  params.initial_max_streams_uni = config.max_peer_uni_streams;
  params.max_idle_timeout = ns(config.idle_timeout);
  params.max_ack_delay = ns(config.max_ack_delay);
  // What we can receive: a datagram must fit one receive slot, or it would be truncated.
  params.max_udp_payload_size = RecvBatch::kDefaultSlotSize;
  // A few spare CIDs let a client move to a new one after a NAT rebinding (limit is [2, 8]).
  params.active_connection_id_limit = 4;
  params.grease_quic_bit = 1;
}

}  // namespace flume::quic

// The ngtcp2 callback table of a Connection (internal to core/quic).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include "quic/endpoint_config.hpp"

namespace flume::quic {

struct ConnectionCallbacks {
  static ngtcp2_callbacks table(Role role) noexcept;

  static int handshake_completed(ngtcp2_conn *conn, void *user_data);
  static int recv_stream_data(ngtcp2_conn *conn, std::uint32_t flags, std::int64_t stream_id,
                              std::uint64_t offset, const std::uint8_t *data, std::size_t datalen,
                              void *user_data, void *stream_user_data);
  static int acked_stream_data_offset(ngtcp2_conn *conn, std::int64_t stream_id,
                                      std::uint64_t offset, std::uint64_t datalen, void *user_data,
                                      void *stream_user_data);
  static int stream_open(ngtcp2_conn *conn, std::int64_t stream_id, void *user_data);
  static int stream_close(ngtcp2_conn *conn, std::uint32_t flags, std::int64_t stream_id,
                          std::uint64_t app_error_code, void *user_data, void *stream_user_data);
  static int stream_reset(ngtcp2_conn *conn, std::int64_t stream_id, std::uint64_t final_size,
                          std::uint64_t app_error_code, void *user_data, void *stream_user_data);
  static int extend_max_local_streams(ngtcp2_conn *conn, std::uint64_t max_streams,
                                      void *user_data);
  static int extend_max_stream_data(ngtcp2_conn *conn, std::int64_t stream_id,
                                    std::uint64_t max_data, void *user_data,
                                    void *stream_user_data);
  static void rand(std::uint8_t *dest, std::size_t destlen, const ngtcp2_rand_ctx *rand_ctx);
  static int get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, std::uint8_t *token,
                                   std::size_t cidlen, void *user_data);
  static int remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user_data);
  static int recv_stateless_reset(ngtcp2_conn *conn, const ngtcp2_pkt_stateless_reset *sr,
                                  void *user_data);
};

}  // namespace flume::quic

// ngtcp2 settings and transport parameters from an EndpointConfig (the values and their reasons
// are documented in endpoint_config.hpp).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstdint>

#include "quic/endpoint_config.hpp"

namespace flume::quic {

void fill_settings(const EndpointConfig &config, std::uint64_t now, ngtcp2_settings &settings);
void fill_transport_params(const EndpointConfig &config, ngtcp2_transport_params &params);

}  // namespace flume::quic

// The overlay's identities: one private certificate authority per cluster, and a certificate per
// node issued by it. Node links accept a peer only if its certificate chains to the cluster CA
// (mutual TLS, docs/overlay.md); the node's name is the certificate's common name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/certificate.hpp"

namespace flume::tls {

// A fresh ECDSA P-256 CA key and a self-signed CA certificate (basicConstraints CA, keyCertSign),
// valid for ten years, named "CN=<cluster_name> Flume cluster CA".
std::optional<PemKeyPair> generate_cluster_ca(std::string_view cluster_name, std::string &error);

struct NodeCertificateRequest {
  std::string node_name;  // the CN; also a dNSName
  // Extra subjectAltNames under which peers dial this node. localhost, 127.0.0.1 and ::1 are
  // always added so a cluster on one machine works without any.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};

// A node key pair issued by the CA, usable both as a TLS server and as a TLS client (node links
// are mutual TLS, and every node dials as well as accepts). Valid for one year.
std::optional<PemKeyPair> issue_node_certificate(const PemKeyPair &ca,
                                                 const NodeCertificateRequest &request,
                                                 std::string &error);

// A node name: 1-64 bytes of letters, digits, '-', '_' and '.'.
bool valid_node_name(std::string_view name) noexcept;

// The common name of a DER certificate ("" when it has none or cannot be read).
std::string certificate_common_name(std::string_view der);

}  // namespace flume::tls

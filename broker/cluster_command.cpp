// flume-broker cluster init-ca: a cluster CA in a directory (ca.pem, ca.key).
// flume-broker cluster issue-node NAME: a node key pair issued by it (NAME.pem, NAME.key).
// GnuTLS only (core/tls/cluster_certificates); keys are written 0600 through a temporary file.
#include "cluster_command.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/command_line.hpp"
#include "flume/version.hpp"
#include "storage/data_dir.hpp"
#include "tls/cluster_certificates.hpp"

namespace flume::broker_cli {

namespace {

constexpr const char *kProgram = "flume-broker cluster";

bool exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

int fail(const std::string &message) {
  std::cerr << kProgram << ": " << message << "\n";
  return 1;
}

int init_ca(const std::string &dir, const std::string &name) {
  const std::string cert = dir + "/ca.pem";
  const std::string key = dir + "/ca.key";
  if (exists(key)) {
    return fail(key + " exists already: a cluster keeps its CA (remove it to start a new cluster)");
  }
  std::string error;
  if (!storage::DataDir(dir).create(error)) return fail(error);
  auto ca = tls::generate_cluster_ca(name, error);
  if (!ca) return fail(error);
  if (!storage::DataDir::write_atomically(key, ca->private_key, 0600, error) ||
      !storage::DataDir::write_atomically(cert, ca->certificate, 0644, error)) {
    return fail(error);
  }
  std::printf(
      "cluster CA '%s' created:\n  %s (certificate: give it to every node)\n  %s "
      "(private key: keep it where nodes are issued, nowhere else)\n"
      "next: flume-broker cluster issue-node NAME --dir %s\n",
      name.c_str(), cert.c_str(), key.c_str(), dir.c_str());
  return 0;
}

int issue_node(const std::string &dir, const tls::NodeCertificateRequest &request) {
  const auto ca_pem = storage::DataDir::read(dir + "/ca.pem");
  const auto ca_key = storage::DataDir::read(dir + "/ca.key");
  if (!ca_pem || !ca_key) {
    return fail("no cluster CA in " + dir + " (make one with: flume-broker cluster init-ca --dir " +
                dir + ")");
  }
  const std::string cert = dir + "/" + request.node_name + ".pem";
  const std::string key = dir + "/" + request.node_name + ".key";
  std::string error;
  auto node = tls::issue_node_certificate({*ca_pem, *ca_key}, request, error);
  if (!node) return fail(error);
  if (!storage::DataDir::write_atomically(key, node->private_key, 0600, error) ||
      !storage::DataDir::write_atomically(cert, node->certificate, 0644, error)) {
    return fail(error);
  }
  std::printf(
      "node '%s' issued:\n  %s\n  %s\nrun it with:\n  flume-broker --node-name %s "
      "--cluster-ca %s/ca.pem --node-cert %s --node-key %s [--peer HOST:PORT ...]\n",
      request.node_name.c_str(), cert.c_str(), key.c_str(), request.node_name.c_str(), dir.c_str(),
      cert.c_str(), key.c_str());
  return 0;
}

}  // namespace

int run_cluster_command(int argc, char **argv) {
  CLI::App app(
      "Makes the overlay's certificates: a cluster CA, and node certificates issued by "
      "it. Node links accept only certificates from the cluster's CA (mutual TLS).",
      kProgram);
  command_line::configure(app, kProgram, kVersion);
  app.require_subcommand(1);
  std::string dir = "flume-cluster";
  std::string cluster_name = "flume";
  tls::NodeCertificateRequest request;

  CLI::App *init = app.add_subcommand("init-ca", "create the cluster CA (DIR/ca.pem, DIR/ca.key)");
  command_line::configure(*init, "flume-broker cluster init-ca", kVersion);
  init->add_option("--dir", dir, "where the cluster's files live (default flume-cluster)")
      ->type_name("DIR");
  init->add_option("--name", cluster_name,
                   "the cluster's name, in the CA's subject (default flume)")
      ->type_name("NAME");

  CLI::App *issue = app.add_subcommand(
      "issue-node", "issue a node certificate (DIR/NAME.pem, DIR/NAME.key) from the CA in DIR");
  command_line::configure(*issue, "flume-broker cluster issue-node", kVersion);
  issue->add_option("name", request.node_name, "the node's name (its certificate's CN)")
      ->required()
      ->type_name("NAME");
  issue->add_option("--dir", dir, "where the cluster's files live (default flume-cluster)")
      ->type_name("DIR");
  issue
      ->add_option("--dns", request.dns_names,
                   "another DNS name peers dial it by (repeatable; localhost is always in)")
      ->type_name("NAME")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  issue
      ->add_option("--ip", request.ip_addresses,
                   "an IP address peers dial it at (repeatable; 127.0.0.1 and ::1 are always in)")
      ->type_name("ADDRESS")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  command_line::parse_or_exit(app, argc, argv, [] { return std::string(kProgram); });
  for (CLI::App *sub : {init, issue}) {
    if (sub->parsed()) command_line::reject_extras(sub->remaining(), kProgram);
  }
  command_line::reject_extras(app.remaining(), kProgram);
  if (init->parsed()) return init_ca(dir, cluster_name);
  return issue_node(dir, request);
}

}  // namespace flume::broker_cli

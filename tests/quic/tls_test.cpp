// TLS pieces without QUIC: certificates on disk, fingerprints, trust configuration.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <vector>

#include "tls/certificate.hpp"
#include "tls/client_trust.hpp"
#include "tls/fingerprint.hpp"
#include "tls/self_signed_store.hpp"
#include "tls/server_credentials.hpp"

namespace flume::tls {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "flume-tls-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

void write(const std::string &path, const std::string &content) {
  std::ofstream(path, std::ios::binary) << content;
}

TEST(TlsSelfSigned, generated_on_first_start_then_reused_with_same_fingerprint) {
  TempDir dir;
  std::string data_dir = dir.path() + "/state/tls";  // missing parents are created
  std::string error;
  auto first = ServerCredentials::load_or_create_self_signed(data_dir, error);
  ASSERT_TRUE(first) << error;
  EXPECT_TRUE(first->generated_now());
  EXPECT_TRUE(first->self_signed());
  EXPECT_EQ(first->certificate_path(), data_dir + "/cert.pem");
  EXPECT_EQ(first->fingerprint().size(), 95u);

  struct stat key_info {};
  ASSERT_EQ(stat(first->key_path().c_str(), &key_info), 0);
  EXPECT_EQ(key_info.st_mode & 0777, 0600u) << "the private key must be private";

  auto second = ServerCredentials::load_or_create_self_signed(data_dir, error);
  ASSERT_TRUE(second) << error;
  EXPECT_FALSE(second->generated_now());
  EXPECT_EQ(second->fingerprint(), first->fingerprint());
  EXPECT_NE(second->trust_hint().find("--pin " + first->fingerprint()), std::string::npos);
  EXPECT_NE(second->trust_hint().find("--ca " + data_dir + "/cert.pem"), std::string::npos);
}

TEST(TlsSelfSigned, certificate_names_localhost_hostname_and_loopback_ips_for_a_year) {
  TempDir dir;
  std::string error;
  auto credentials = ServerCredentials::load_or_create_self_signed(dir.path(), error);
  ASSERT_TRUE(credentials) << error;
  const CertificateSummary &cert = credentials->certificate();
  auto has = [&](const std::string &name) {
    return std::find(cert.names.begin(), cert.names.end(), name) != cert.names.end();
  };
  EXPECT_TRUE(has("localhost"));
  EXPECT_TRUE(has("127.0.0.1"));
  EXPECT_TRUE(has("::1"));
  for (const std::string &name : default_self_signed_request().dns_names)
    EXPECT_TRUE(has(name));
  std::time_t now = std::time(nullptr);
  EXPECT_GT(cert.not_after, now + 360 * 24 * 3600);
  EXPECT_LT(cert.not_after, now + 370 * 24 * 3600);
  EXPECT_LE(cert.not_before, now);
}

std::optional<std::string> read(const std::string &path) {
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> backups_in(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bak") == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TlsSelfSigned, expired_certificate_is_renewed_and_the_old_pair_kept) {
  TempDir dir;
  std::string error;
  SelfSignedRequest request = default_self_signed_request();
  request.validity = std::chrono::seconds(-60);  // expired a minute ago
  auto old = generate_self_signed(request, error);
  ASSERT_TRUE(old) << error;
  write(dir.path() + "/cert.pem", old->certificate);
  write(dir.path() + "/key.pem", old->private_key);
  auto old_summary = summarize_certificate_pem(old->certificate, error);
  ASSERT_TRUE(old_summary);

  auto files = load_or_create_self_signed(dir.path(), error);
  ASSERT_TRUE(files) << error;
  EXPECT_TRUE(files->created);
  EXPECT_NE(files->note.find("expired"), std::string::npos) << files->note;
  EXPECT_NE(files->summary.fingerprint, old_summary->fingerprint);
  const auto kept = backups_in(dir.path());
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(read(dir.path() + "/" + kept[0]), old->certificate);  // cert.pem.<time>.bak
  EXPECT_EQ(read(dir.path() + "/" + kept[1]), old->private_key);  // key.pem.<time>.bak
}

// Each case: what is on disk, and a word the refusal must contain. The files must be untouched.
struct DamagedPair {
  const char *name;
  std::function<void(const std::string &dir, const PemKeyPair &a, const PemKeyPair &b)> damage;
  const char *says;
};

TEST(TlsSelfSigned, a_damaged_pair_is_refused_and_left_as_it_was) {
  std::string error;
  auto a = generate_self_signed(default_self_signed_request(), error);
  auto b = generate_self_signed(default_self_signed_request(), error);
  ASSERT_TRUE(a && b) << error;
  const DamagedPair cases[] = {
      {"mismatched key",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &y) {
         write(d + "/cert.pem", x.certificate);
         write(d + "/key.pem", y.private_key);
       },
       "is not the key of"},
      {"garbage certificate",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &) {
         write(d + "/cert.pem", "not a certificate");
         write(d + "/key.pem", x.private_key);
       },
       "is not a certificate"},
      {"empty key",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &) {
         write(d + "/cert.pem", x.certificate);
         write(d + "/key.pem", "");
       },
       "is not the key of"},
      {"truncated certificate",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &) {
         write(d + "/cert.pem", x.certificate.substr(0, x.certificate.size() / 2));
         write(d + "/key.pem", x.private_key);
       },
       "is not a certificate"},
      {"missing key",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &) {
         write(d + "/cert.pem", x.certificate);
       },
       "key.pem is missing"},
      {"missing certificate",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &) {
         write(d + "/key.pem", x.private_key);
       },
       "cert.pem is missing"},
      {"a directory as the certificate",
       [](const std::string &d, const PemKeyPair &x, const PemKeyPair &) {
         std::filesystem::create_directory(d + "/cert.pem");
         write(d + "/key.pem", x.private_key);
       },
       "not a regular file"},
  };
  for (const DamagedPair &c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    c.damage(dir.path(), *a, *b);
    const auto cert_before = read(dir.path() + "/cert.pem");
    const auto key_before = read(dir.path() + "/key.pem");
    error.clear();
    EXPECT_FALSE(load_or_create_self_signed(dir.path(), error));
    EXPECT_NE(error.find(c.says), std::string::npos) << error;
    EXPECT_NE(error.find("--regenerate-certificate"), std::string::npos) << error;
    EXPECT_EQ(read(dir.path() + "/cert.pem"), cert_before);
    EXPECT_EQ(read(dir.path() + "/key.pem"), key_before);
    EXPECT_TRUE(backups_in(dir.path()).empty());
    EXPECT_FALSE(ServerCredentials::load_or_create_self_signed(dir.path(), error));
  }
}

TEST(TlsSelfSigned, regenerating_deliberately_keeps_the_damaged_files) {
  TempDir dir;
  std::string error;
  write(dir.path() + "/cert.pem", "not a certificate");
  write(dir.path() + "/key.pem", "not a key");
  auto files = load_or_create_self_signed(dir.path(), error, SelfSignedPolicy::regenerate);
  ASSERT_TRUE(files) << error;
  EXPECT_TRUE(files->created);
  EXPECT_NE(files->note.find(".bak"), std::string::npos) << files->note;
  const auto kept = backups_in(dir.path());
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(read(dir.path() + "/" + kept[0]), "not a certificate");
  EXPECT_EQ(read(dir.path() + "/" + kept[1]), "not a key");
  auto again = load_or_create_self_signed(dir.path(), error);
  ASSERT_TRUE(again) << error;
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->summary.fingerprint, files->summary.fingerprint);
}

TEST(TlsSelfSigned, a_write_interrupted_before_the_key_was_installed_is_forgotten) {
  TempDir dir;
  std::string error;
  auto first = load_or_create_self_signed(dir.path(), error);
  ASSERT_TRUE(first) << error;
  auto other = generate_self_signed(default_self_signed_request(), error);
  ASSERT_TRUE(other) << error;
  write(dir.path() + "/cert.pem.new", other->certificate);  // both staged, neither installed
  write(dir.path() + "/key.pem.new", other->private_key);
  auto again = load_or_create_self_signed(dir.path(), error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->summary.fingerprint, first->summary.fingerprint);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/cert.pem.new"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/key.pem.new"));
}

TEST(TlsSelfSigned, a_write_interrupted_after_the_key_was_installed_is_finished) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(load_or_create_self_signed(dir.path(), error)) << error;
  auto other = generate_self_signed(default_self_signed_request(), error);
  ASSERT_TRUE(other) << error;
  write(dir.path() + "/key.pem", other->private_key);  // the new key is in place
  write(dir.path() + "/cert.pem.new", other->certificate);
  auto summary = summarize_certificate_pem(other->certificate, error);
  ASSERT_TRUE(summary) << error;
  auto again = load_or_create_self_signed(dir.path(), error);
  ASSERT_TRUE(again) << error;
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->summary.fingerprint, summary->fingerprint);
}

TEST(TlsCredentials, configured_files_load_and_missing_ones_explain_why) {
  TempDir dir;
  std::string error;
  auto pair = generate_self_signed(default_self_signed_request(), error);
  ASSERT_TRUE(pair) << error;
  write(dir.path() + "/c.pem", pair->certificate);
  write(dir.path() + "/k.pem", pair->private_key);
  auto loaded = ServerCredentials::load_files(dir.path() + "/c.pem", dir.path() + "/k.pem", error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_FALSE(loaded->generated_now());

  auto missing =
      ServerCredentials::load_files(dir.path() + "/nope.pem", dir.path() + "/k.pem", error);
  EXPECT_FALSE(missing);
  EXPECT_NE(error.find("nope.pem"), std::string::npos) << error;
}

TEST(TlsFingerprint, formats_with_colons_and_parses_what_users_paste) {
  Sha256 digest{};
  for (std::size_t i = 0; i < digest.size(); ++i)
    digest[i] = static_cast<std::uint8_t>(i * 7);
  std::string text = format_fingerprint(digest);
  EXPECT_EQ(text.substr(0, 8), "00:07:0E");
  EXPECT_EQ(parse_fingerprint(text), digest);
  std::string bare;
  for (char c : text) {
    if (c != ':') bare.push_back(static_cast<char>(std::tolower(c)));
  }
  EXPECT_EQ(parse_fingerprint("sha256:" + bare), digest);
  EXPECT_FALSE(parse_fingerprint(text.substr(3)));  // 31 bytes
  EXPECT_FALSE(parse_fingerprint(text + ":00"));    // 33 bytes
  EXPECT_FALSE(parse_fingerprint("zz" + text.substr(2)));
}

TEST(TlsClientTrust, each_mode_builds_or_explains_its_input) {
  std::string error;
  EXPECT_FALSE(ClientTrust::from_fingerprint("12:34", error));
  EXPECT_NE(error.find("SHA-256"), std::string::npos) << error;

  EXPECT_FALSE(ClientTrust::from_ca_file("/nonexistent/ca.pem", error));
  EXPECT_NE(error.find("/nonexistent/ca.pem"), std::string::npos) << error;

  auto system = ClientTrust::from_system_store(error);
  ASSERT_TRUE(system) << error;
  EXPECT_EQ(system->mode(), ClientTrust::Mode::system);
  EXPECT_TRUE(system->verifies_chain());

  auto insecure = ClientTrust::insecure();
  ASSERT_TRUE(insecure);
  EXPECT_FALSE(insecure->verifies_chain());
  EXPECT_EQ(insecure->describe(), "no verification");
}

}  // namespace
}  // namespace flume::tls

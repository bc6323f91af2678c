// flume token: operator keys and access tokens, offline (no broker is contacted). keygen makes an
// Ed25519 operator key pair, issue signs a token with the secret key, inspect prints a token and,
// given public keys, verifies it exactly as a broker will (docs/protocol.md section 18).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "auth/token_signing.hpp"
#include "flume/version.hpp"
#include "flume_cli.hpp"
#include "text/encoding.hpp"

namespace flume::cli {
namespace {

using namespace flume::auth;

// flume token inspect: the token could not be verified (bad signature, unknown key, expired,
// not yet valid). 1 stays "could not read or parse it", 2 a bad command line.
constexpr int kExitRefused = 4;

constexpr const char *kDescription =
    R"(make operator keys, issue and inspect access tokens

Access tokens say who a client is (tenant and subject) and what it may publish and subscribe
to, for a window of time, signed with an operator's Ed25519 key; any broker holding the
operator's public key checks them offline. Everything here is offline: no broker is contacted.
(Brokers do not check tokens yet: this release defines and issues them.))";

constexpr const char *kFooter =
    R"(commands:
  keygen    make an operator key pair
  issue     sign a token with an operator's secret key
  inspect   print a token's fields; with --key, verify it

examples:
  flume token keygen --out /etc/flume/keys
  flume token issue --key /etc/flume/keys/operator-KEYID.secret --tenant acme \
      --subject service.billing --pub 'billing.>' --sub 'orders.*.created' --expires 30d
  flume token inspect --key /etc/flume/keys/operator-KEYID.pub "$TOKEN"
)";

constexpr const char *kKeygenDescription =
    R"(make an operator key pair

Generates an Ed25519 key pair. With --out DIR, writes DIR/operator-KEYID.pub (the public key:
give it to every broker) and DIR/operator-KEYID.secret (the secret key, mode 0600: keep it where
tokens are issued) and prints the key id and both paths. Without --out, prints the public key
(flpk1....) and then the secret key (flsk1....) on standard output, one per line.)";

constexpr const char *kIssueDescription =
    R"(sign an access token

Prints the token (flt1....) on standard output. Nothing is granted unless an allow pattern
grants it; a deny pattern always wins over an allow. Patterns use the subject syntax ('*' one
token, a final '>' one or more). A subscription is allowed when one --sub pattern covers all of
it and no --deny-sub pattern could match any subject it matches.)";

constexpr const char *kIssueFooter =
    R"(DURATION is a whole number with s, m, h or d (90s, 30m, 12h, 7d); a bare number is seconds.
TIME is a Unix time in seconds, or +DURATION from now.

exit status: 0 printed, 1 the key could not be read or used, 2 a bad command line or claims
(an invalid pattern, tenant or subject; a token over 8192 bytes).

examples:
  flume token issue --key op.secret --tenant acme --subject user.alice --sub 'orders.>' \
      --deny-sub 'orders.*.internal' --expires 12h
)";

constexpr const char *kInspectDescription =
    R"(print a token's fields and verify it

TOKEN is the token itself (flt1....), '-' to read it from standard input, or a file holding
it. Prints every field. With --key (repeatable; a key, or a file of keys one per line), also
verifies it as a broker will: a trusted key with its key id, the signature, and the time window
with 60 seconds of clock skew allowed either side.)";

constexpr const char *kInspectFooter =
    R"(exit status: 0 the token parsed (and, with --key, verified), 1 it could not be read or is
malformed or oversized, 2 a bad command line, 4 verification failed (unknown key, bad signature,
expired, not yet valid); stderr says which.
)";

constexpr CommandInfo kKeygen{"token keygen"};
constexpr CommandInfo kIssue{"token issue"};
constexpr CommandInfo kInspect{"token inspect"};

std::uint64_t unix_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// "90s", "30m", "12h", "7d", "45": seconds, up to ten years.
std::uint64_t parse_duration(const std::string &name, const std::string &text) {
  std::string digits = text;
  std::uint64_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 's':
        unit = 1;
        digits.pop_back();
        break;
      case 'm':
        unit = 60;
        digits.pop_back();
        break;
      case 'h':
        unit = 3600;
        digits.pop_back();
        break;
      case 'd':
        unit = 86400;
        digits.pop_back();
        break;
      default:
        break;
    }
  }
  constexpr std::uint64_t kMax = 3660ULL * 86400;
  auto value = text::parse_whole(digits, 1, kMax / unit);
  if (!value) {
    throw CLI::ValidationError(name +
                               " must be a duration such as 90s, 30m, 12h or 7d (at most "
                               "3660d), not '" +
                               text + "'");
  }
  return *value * unit;
}

// Reads a key or token argument: the text itself when it starts like a key or a token (so the
// wrong kind gets its own message, not "cannot read"), else a file (at most 64 KiB: these are
// one-line texts).
std::string text_or_file(const CommandInfo &command, const std::string &value) {
  for (std::string_view prefix : {kPublicKeyPrefix, kSecretKeyPrefix, kTokenPrefix}) {
    if (value.starts_with(prefix)) return value;
  }
  std::ifstream in(value, std::ios::binary);
  if (!in) fail(command, "cannot read '" + value + "': " + std::strerror(errno));
  std::string text(64 * 1024 + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > 64 * 1024) fail(command, "'" + value + "' is larger than 64 KiB");
  return text;
}

std::string format_time(std::uint64_t seconds) {
  if (seconds > 253402300799ULL) return std::to_string(seconds) + " (after year 9999)";
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer) + " (" + std::to_string(seconds) + ")";
}

std::string join(const std::vector<std::string> &patterns) {
  if (patterns.empty()) return "(none)";
  std::string out;
  for (const std::string &pattern : patterns)
    out += (out.empty() ? "" : " ") + pattern;
  return out;
}

// Writes `text` to a new file with `mode`; never replaces an existing key.
void write_new_file(const std::string &path, const std::string &text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail(kKeygen, "cannot create '" + path + "': " + std::strerror(errno));
  const std::string line = text + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const int saved = errno;
  if (::close(fd) != 0 || !ok) {
    fail(kKeygen, "cannot write '" + path + "': " + std::strerror(ok ? errno : saved));
  }
}

int run_keygen(const std::string &out_dir) {
  std::string error;
  auto key = SigningKey::generate(error);
  if (!key) fail(kKeygen, error);
  if (out_dir.empty()) {
    std::cout << key->public_text() << "\n" << key->text() << "\n";
    return kExitOk;
  }
  const std::string id = format_key_id(key->id());
  const std::string base = out_dir + "/operator-" + id;
  write_new_file(base + ".secret", key->text(), 0600);
  write_new_file(base + ".pub", key->public_text(), 0644);
  std::cout << "key id: " << id << "\npublic key: " << base << ".pub\nsecret key: " << base
            << ".secret\n";
  return kExitOk;
}

struct IssueOptions {
  std::string key;
  AccessToken claims;
  std::uint64_t expires_in = 3600;
  std::string not_before;
};

int run_issue(IssueOptions &options) {
  std::string error;
  auto key = SigningKey::parse(text_or_file(kIssue, options.key), error);
  if (!key) fail(kIssue, "--key: " + error);
  const std::uint64_t now = unix_now();
  std::uint64_t not_before = now;
  if (!options.not_before.empty()) {
    if (options.not_before.starts_with('+')) {
      try {
        not_before = now + parse_duration("--not-before", options.not_before.substr(1));
      } catch (const CLI::ValidationError &e) {
        usage_error(kIssue, e.what());
      }
    } else if (auto at = text::parse_whole(options.not_before, 0, 1ULL << 40)) {
      not_before = *at;
    } else {
      usage_error(kIssue, "--not-before must be a Unix time in seconds or +DURATION, not '" +
                              options.not_before + "'");
    }
  }
  // The lifetime counts from not-before, so a token issued for later still lasts --expires.
  options.claims.not_before = not_before;
  options.claims.expires = not_before + options.expires_in;
  auto token = issue_token(*key, options.claims, error);
  if (!token) usage_error(kIssue, error);
  std::cout << *token << "\n";
  return kExitOk;
}

struct InspectOptions {
  std::string token;
  std::vector<std::string> keys;
  std::optional<std::uint64_t> at;
};

std::vector<VerifyingKey> load_keys(const std::vector<std::string> &arguments) {
  std::vector<VerifyingKey> keys;
  for (const std::string &argument : arguments) {
    std::istringstream lines(text_or_file(kInspect, argument));
    std::string line;
    bool any = false;
    while (std::getline(lines, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string error;
      auto key = VerifyingKey::parse(line, error);
      if (!key) usage_error(kInspect, "--key " + argument + ": " + error);
      keys.push_back(*key);
      any = true;
    }
    if (!any) usage_error(kInspect, "--key " + argument + ": no key in it");
  }
  return keys;
}

int run_inspect(const InspectOptions &options) {
  std::string text;
  if (options.token == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    text = text_or_file(kInspect, options.token);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  const std::vector<VerifyingKey> keys = load_keys(options.keys);
  const std::uint64_t now = options.at.value_or(unix_now());
  const Verification v = verify_token(text, keys, now);
  if (!v.parsed) fail(kInspect, v.message);
  const AccessToken &t = v.token;
  std::cout << "token id:         " << text::to_hex(t.id) << "\n"
            << "key id:           " << format_key_id(t.key_id) << "\n"
            << "tenant:           " << t.tenant << "\n"
            << "subject:          " << t.subject << "\n"
            << "not before:       " << format_time(t.not_before) << "\n"
            << "expires:          " << format_time(t.expires) << "\n"
            << "publish allow:    " << join(t.grants.allow_publish) << "\n"
            << "publish deny:     " << join(t.grants.deny_publish) << "\n"
            << "subscribe allow:  " << join(t.grants.allow_subscribe) << "\n"
            << "subscribe deny:   " << join(t.grants.deny_subscribe) << "\n";
  if (keys.empty()) {
    std::cout << "verified:         no (no --key given; the signature was not checked)\n";
    return kExitOk;
  }
  if (v.error != TokenError::ok) {
    std::cout << "verified:         no\n";
    std::cout.flush();
    std::cerr << "flume token inspect: " << v.message << "\n";
    return kExitRefused;
  }
  std::cout << "verified:         yes, by key " << format_key_id(t.key_id) << " at "
            << format_time(now) << "\n";
  return kExitOk;
}

CLI::App &add_token_command(CLI::App &parent, const char *name, const char *description,
                            const char *footer) {
  CLI::App &app = *parent.add_subcommand(name, description);
  command_line::configure(app, "flume", kVersion,
                          std::string("usage: flume token ") + name + " [options]" +
                              (std::string_view(name) == "inspect" ? " TOKEN" : ""));
  app.footer(footer);
  return app;
}

}  // namespace

Command add_token(CLI::App &flume, CommonOptions &) {
  CLI::App &token = *flume.add_subcommand("token", kDescription);
  command_line::configure(token, "flume", kVersion,
                          "usage: flume token keygen|issue|inspect [options] [arguments]");
  token.group("commands");
  token.footer(kFooter);

  auto out_dir = std::make_shared<std::string>();
  CLI::App &keygen = add_token_command(token, "keygen", kKeygenDescription, "");
  keygen.add_option("--out", *out_dir, "write the two key files into the existing directory DIR")
      ->type_name("DIR");

  auto issue = std::make_shared<IssueOptions>();
  CLI::App &issue_app = add_token_command(token, "issue", kIssueDescription, kIssueFooter);
  issue_app.add_option("--key", issue->key, "the secret operator key (flsk1...) or its file")
      ->type_name("SECRET")
      ->required();
  issue_app.add_option("--tenant", issue->claims.tenant, "the tenant: one token, 1 to 64 bytes")
      ->type_name("T")
      ->required();
  issue_app
      .add_option("--subject", issue->claims.subject,
                  "who holds the token, a subject such as user.alice")
      ->type_name("S")
      ->required();
  auto patterns = [&](const char *flag, std::vector<std::string> &into, const char *help) {
    issue_app.add_option(flag, into, help)
        ->type_name("P")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->allow_extra_args(false);
  };
  patterns("--pub", issue->claims.grants.allow_publish,
           "allow publishing to subjects P matches (repeatable)");
  patterns("--deny-pub", issue->claims.grants.deny_publish,
           "deny publishing to subjects P matches (repeatable)");
  patterns("--sub", issue->claims.grants.allow_subscribe,
           "allow subscribing to P and to patterns inside it (repeatable)");
  patterns("--deny-sub", issue->claims.grants.deny_subscribe,
           "deny any subscription that could receive a subject P matches\n(repeatable)");
  issue_app
      .add_option_function<std::string>(
          "--expires",
          [issue](const std::string &value) {
            issue->expires_in = parse_duration("--expires", value);
          },
          "how long the token is valid, from --not-before (default 1h)")
      ->type_name("DURATION");
  issue_app
      .add_option("--not-before", issue->not_before, "when the token becomes valid (default now)")
      ->type_name("TIME");

  auto inspect = std::make_shared<InspectOptions>();
  CLI::App &inspect_app = add_token_command(token, "inspect", kInspectDescription, kInspectFooter);
  inspect_app.add_option("TOKEN", inspect->token, "the token, '-' for standard input, or a file")
      ->required();
  inspect_app
      .add_option("--key", inspect->keys,
                  "verify with this public key (flpk1...) or the keys in this\nfile "
                  "(repeatable: several keys during a rotation)")
      ->type_name("PUBLIC")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  inspect_app
      .add_option_function<std::string>(
          "--at",
          [inspect](const std::string &value) {
            inspect->at = whole_number("--at", value, 0, 1ULL << 40);
          },
          "verify as of this Unix time instead of now")
      ->type_name("TIME");

  return {&token, [&token, &keygen, &issue_app, &inspect_app, out_dir, issue, inspect] {
            command_line::reject_extras(token.remaining(), "flume token");
            if (keygen.parsed()) {
              command_line::reject_extras(keygen.remaining(), "flume token keygen");
              return run_keygen(*out_dir);
            }
            if (issue_app.parsed()) {
              command_line::reject_extras(issue_app.remaining(), "flume token issue");
              return run_issue(*issue);
            }
            if (inspect_app.parsed()) {
              command_line::reject_extras(inspect_app.remaining(), "flume token inspect");
              return run_inspect(*inspect);
            }
            command_line::usage_error("flume token",
                                      "no token command given (keygen, issue or inspect)");
          }};
}

}  // namespace flume::cli

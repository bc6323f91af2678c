#include "broker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef FLUME_BROKER_PATH
#error "FLUME_BROKER_PATH must name the flume-broker executable"
#endif

extern char **environ;

// This test process measures its own memory too: the same small ASan quarantine as the broker
// (see BrokerProcess::start). Unused without ASan. ASAN_OPTIONS still overrides it.
extern "C" const char *__asan_default_options();
extern "C" const char *__asan_default_options() {
  return "quarantine_size_mb=8:allocator_release_to_os_interval_ms=100";
}

namespace flume::e2e {
namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The rest of the line after `marker`, or "" if the marker is not there (yet).
std::string line_after(const std::string &text, const std::string &marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos) return "";
  const auto start = at + marker.size();
  const auto end = text.find('\n', start);
  if (end == std::string::npos) return "";  // the line is not complete yet
  return text.substr(start, end - start);
}

std::size_t rss_from_status(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

BrokerExit describe_status(int status) {
  BrokerExit exit;
  if (WIFEXITED(status)) {
    exit.exited = true;
    exit.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  }
  return exit;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "flume-e2e-XXXXXX").string();
  char *made = mkdtemp(pattern.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

BrokerProcess::BrokerProcess(std::vector<std::string> extra_args, std::uint16_t port,
                             std::string data_dir)
    : extra_args_(std::move(extra_args)), requested_port_(port), data_dir_(std::move(data_dir)) {
  if (data_dir_.empty()) {
    own_dir_ = std::make_unique<TempDir>();
    data_dir_ = own_dir_->path();
  }
  log_dir_ = std::make_unique<TempDir>();
  log_path_ = log_dir_->path() + "/broker.log";
}

BrokerProcess::~BrokerProcess() {
  if (running()) stop(5s);
}

bool BrokerProcess::start(std::string &error, std::chrono::milliseconds limit) {
  if (running()) {
    error = "already running";
    return false;
  }
  exit_.reset();
  listen_address_.clear();
  certificate_.clear();

  std::vector<std::string> args = {program_, "-l", "127.0.0.1:" + std::to_string(requested_port_),
                                   "--data-dir", data_dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char *> argv;
  for (auto &arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The broker is built with the same sanitizers as this test. ASan's quarantine keeps up to
  // 256 MiB of freed memory resident, which would hide (or fake) the memory growth these tests
  // measure; a small one keeps use-after-free detection for recent frees.
  std::vector<std::string> env;
  std::string asan = "ASAN_OPTIONS=";
  for (char **e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    if (entry.rfind("ASAN_OPTIONS=", 0) == 0) {
      asan = entry + ":";
    } else {
      env.push_back(std::move(entry));
    }
  }
  env.push_back(asan + "quarantine_size_mb=8:allocator_release_to_os_interval_ms=100");
  std::vector<char *> envp;
  for (auto &entry : env)
    envp.push_back(entry.data());
  envp.push_back(nullptr);

  // Everything the child needs is prepared above: after fork only async-signal-safe calls.
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    error = "cannot create " + log_path_ + ": " + std::strerror(errno);
    return false;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(log_fd);
    error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // Dies with the test, even if the test itself is killed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string log = read_file(log_path_);
    const std::string listening = line_after(log, "listening on ");
    const std::string certificate = line_after(log, "certificate: ");
    if (!listening.empty() && !certificate.empty()) {
      listen_address_ = listening.substr(0, listening.find(' '));
      certificate_ = certificate.substr(0, certificate.find(" (self-signed"));
      const auto colon = listen_address_.rfind(':');
      port_ = colon == std::string::npos ? 0
                                         : static_cast<std::uint16_t>(std::strtoul(
                                               listen_address_.c_str() + colon + 1, nullptr, 10));
      if (port_ == 0) {
        error = "cannot read the port in '" + listening + "'";
        stop(2s);
        return false;
      }
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_ = describe_status(status);
      error = "flume-broker exited before listening (status " + std::to_string(status) +
              "): " + read_file(log_path_);
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  error = "no 'listening on' line within " + std::to_string(limit.count()) +
          " ms; output: " + read_file(log_path_);
  stop(2s);
  return false;
}

std::optional<BrokerExit> BrokerProcess::wait_exit(std::chrono::milliseconds limit) {
  if (!running()) return exit_;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + limit;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) {
      exit_ = done == pid_ ? describe_status(status) : BrokerExit{};
      pid_ = -1;
      exit_->took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      return exit_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

BrokerExit BrokerProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return exit_.value_or(BrokerExit{});
  const auto start = std::chrono::steady_clock::now();
  ::kill(pid_, SIGTERM);
  if (auto exit = wait_exit(grace)) {
    exit_->took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    return *exit_;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);  // SIGKILL cannot be ignored: bounded
  pid_ = -1;
  exit_ = describe_status(status);
  exit_->needed_kill = true;
  exit_->took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return *exit_;
}

void BrokerProcess::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_ = describe_status(status);
}

void BrokerProcess::signal(int signo) const {
  if (running()) ::kill(pid_, signo);
}

std::string BrokerProcess::output() const {
  return read_file(log_path_);
}

std::size_t BrokerProcess::rss_kib() const {
  if (!running()) return 0;
  return rss_from_status("/proc/" + std::to_string(pid_) + "/status");
}

std::size_t self_rss_kib() {
  return rss_from_status("/proc/self/status");
}

void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

ClientConfig trusting(const BrokerProcess &broker, bool reconnect) {
  ClientConfig config;
  config.ca_file = broker.certificate();
  config.connect_timeout = 5000ms;
  config.reconnect = reconnect;
  config.client_name = "e2e";
  return config;
}

std::unique_ptr<Client> connect_client(const BrokerProcess &broker, std::string &error,
                                       const ClientConfig *config) {
  const ClientConfig fallback = trusting(broker);
  ClientResult result;
  auto client = Client::connect(broker.url(), config != nullptr ? *config : fallback, result);
  if (!client) {
    error = "connect failed (status " + std::to_string(static_cast<int>(result.status)) +
            "): " + result.message;
  }
  return client;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<std::uint8_t> make_payload(std::uint64_t sequence, std::size_t size) {
  std::vector<std::uint8_t> payload(std::max<std::size_t>(size, 16),
                                    static_cast<std::uint8_t>(sequence));
  const std::int64_t sent = now_ns();
  std::memcpy(payload.data(), &sequence, 8);
  std::memcpy(payload.data() + 8, &sent, 8);
  return payload;
}

std::uint64_t payload_sequence(std::span<const std::uint8_t> payload) {
  std::uint64_t sequence = ~std::uint64_t{0};
  if (payload.size() >= 8) std::memcpy(&sequence, payload.data(), 8);
  return sequence;
}

std::int64_t payload_sent_ns(std::span<const std::uint8_t> payload) {
  std::int64_t sent = 0;
  if (payload.size() >= 16) std::memcpy(&sent, payload.data() + 8, 8);
  return sent;
}

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

std::string text(const Message &message) {
  const auto payload = message.payload();
  return {reinterpret_cast<const char *>(payload.data()), payload.size()};
}

bool wait_until(const std::function<bool()> &done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::vector<Message> receive(Subscription &subscription, std::size_t count,
                             std::chrono::milliseconds limit) {
  std::vector<Message> out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const ClientResult result =
        subscription.recv_batch(out, count - out.size(), std::min(left, 200ms));
    if (result.status == ClientStatus::closed) break;
  }
  return out;
}

double quantile(std::vector<double> &samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[std::min(index, samples.size() - 1)];
}

}  // namespace flume::e2e

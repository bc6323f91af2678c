// A broker for the memory-budget stress test: the same BrokerServer as flume-broker, with
// `--max-memory BYTES` for BrokerConfig::max_memory_bytes (flume-broker gets that flag with its
// new command line; until then this stands in for it). It prints the lines BrokerProcess waits
// for and shuts down gracefully on SIGTERM or SIGINT.
//
//   memory_budget_broker -l HOST:PORT --data-dir DIR --max-memory BYTES
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "loop/event_loop.hpp"
#include "runtime/broker_server.hpp"

int main(int argc, char **argv) {
  flume::BrokerServerConfig config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "-l") {
      config.listen = argv[i + 1];
    } else if (flag == "--data-dir") {
      config.data_dir = argv[i + 1];
    } else if (flag == "--max-memory") {
      config.engine.max_memory_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr, "memory_budget_broker: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) return 1;

  flume::EventLoop loop;
  flume::BrokerServer server(loop, config);
  std::string message;
  if (server.open(message)) {
    std::fprintf(stderr, "memory_budget_broker: %s\n", message.c_str());
    return 1;
  }
  std::printf("memory_budget_broker listening on %s\n", server.local_address().to_string().c_str());
  std::printf("certificate: %s\n", server.credentials().certificate_path().c_str());
  std::fflush(stdout);
  loop.watch(signal_fd, flume::EventLoop::kReadable, [&](std::uint32_t) {
    signalfd_siginfo info{};
    while (read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    server.shutdown([&] { loop.stop(); });
  });
  loop.run();
  loop.unwatch(signal_fd);
  close(signal_fd);
  const flume::broker::BrokerStats s = server.stats();
  std::printf("stats: memory peak %llu budget %llu dropped_memory_budget %llu releases %llu\n",
              static_cast<unsigned long long>(s.memory_queued_peak_bytes),
              static_cast<unsigned long long>(s.memory_budget_bytes),
              static_cast<unsigned long long>(s.dropped_memory_budget),
              static_cast<unsigned long long>(server.memory_releases()));
  return 0;
}

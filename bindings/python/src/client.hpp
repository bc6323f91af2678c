// flume.Client: one connection to a broker (flume_client), made by flume.connect().
#pragma once

#include "binding.hpp"

namespace flume_py {

class Client {
 public:
  Client(flume_client *handle, std::string url);
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  void publish(py::handle subject, py::handle data);
  void flush(py::handle timeout);
  flume_client_stats stats();
  std::uint32_t max_payload();
  // Closes the connection; every subscription ends (what it received stays readable).
  void close();
  bool closed() const { return guard_.closing(); }
  const std::string &url() const { return url_; }

  // For subscribe(): a handle inside the guard.
  HandleGuard &guard() { return guard_; }
  flume_client *handle() const { return handle_; }

 private:
  void close_handle() noexcept;

  flume_client *handle_;
  HandleGuard guard_;
  std::string url_;
};

}  // namespace flume_py

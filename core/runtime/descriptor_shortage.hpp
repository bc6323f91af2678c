// Messages for a client that cannot get a file descriptor (event loop, socket, eventfd), so the
// application reads "out of file descriptors" and what for, instead of a raw exception or a
// complaint about the broker.
#pragma once

#include <string>
#include <string_view>

namespace flume {

// EMFILE (the process's limit, ulimit -n) or ENFILE (the system's).
bool is_out_of_descriptors(int error) noexcept;

// "out of file descriptors (EMFILE) creating the client's UDP socket: close some or raise the
// limit (ulimit -n)" for EMFILE/ENFILE, else "cannot create the client's UDP socket: <strerror>".
// `what` names the thing, e.g. "the client's UDP socket".
std::string describe_creation_failure(std::string_view what, int error);

}  // namespace flume

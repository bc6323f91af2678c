#include "runtime/descriptor_shortage.hpp"

#include <cerrno>
#include <cstring>

namespace flume {

bool is_out_of_descriptors(int error) noexcept {
  return error == EMFILE || error == ENFILE;
}

std::string describe_creation_failure(std::string_view what, int error) {
  if (error == EMFILE) {
    return "out of file descriptors (EMFILE) creating " + std::string(what) +
           ": the process has used its limit; close some or raise the limit (ulimit -n)";
  }
  if (error == ENFILE) {
    return "out of file descriptors (ENFILE) creating " + std::string(what) +
           ": the system-wide limit is reached (fs.file-max)";
  }
  return "cannot create " + std::string(what) + ": " + std::strerror(error);
}

}  // namespace flume

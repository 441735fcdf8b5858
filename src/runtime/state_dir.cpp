#include "runtime/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace userbpf::runtime {
namespace {

Error io_error(const std::string& what, const std::filesystem::path& path, int err = errno) {
  Location where;
  where.file = path.string();
  return make_error(Errc::io, what + ": " + std::strerror(err), where);
}

}  // namespace

std::filesystem::path StateDir::default_root(
    const std::optional<std::filesystem::path>& explicit_dir) {
  if (explicit_dir && !explicit_dir->empty()) return *explicit_dir;
  if (const char* env = std::getenv("USERBPF_STATE_DIR"); env && *env) return env;
  if (geteuid() == 0) return "/run/userbpf";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
    return std::filesystem::path(xdg) / "userbpf";
  return "/tmp/userbpf-" + std::to_string(geteuid());
}

Result<StateDir> StateDir::open(const std::filesystem::path& root) {
  StateDir dir(root);
  for (const auto& sub : {dir.root(), dir.progs(), dir.maps(), dir.links(), dir.btf(), dir.bpffs()}) {
    std::error_code ec;
    std::filesystem::create_directories(sub, ec);
    if (ec) {
      Location where;
      where.file = sub.string();
      return make_error(Errc::io, "cannot create state directory: " + ec.message(), where);
    }
  }
  return dir;
}

StateLock::StateLock(const StateDir& dir) {
  const auto path = dir.root() / "lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ >= 0) {
    while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Result<uint32_t> StateDir::allocate_id() const {
  StateLock lock(*this);
  const auto path = root_ / "next_id";
  uint32_t last = 0;
  if (auto text = read_file(path); text.ok())
    last = static_cast<uint32_t>(std::strtoul(text->c_str(), nullptr, 10));
  const uint32_t id = last + 1;
  auto written = write_file_atomic(path, std::to_string(id) + "\n");
  if (!written) return written.take_error();
  return id;
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  const auto tmp = path.string() + ".tmp." + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot write", tmp);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error("cannot write", tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename into place", path, err);
  }
  return ok_status();
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read", path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace userbpf::runtime

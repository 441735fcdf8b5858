#include "maps/map_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace userbpf::maps {
namespace {

Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error(Errc::io, what + " '" + path + "': " + std::strerror(err));
}

std::string default_file_name(const std::string& name) {
  static std::atomic<uint32_t> counter{0};
  return "map." + std::to_string(getpid()) + "." + std::to_string(counter.fetch_add(1)) + "." +
         (name.empty() ? std::string("anon") : name);
}

// Maps the whole file shared. Small maps go below 2 GiB where the kernel offers it (MAP_32BIT,
// x86-64): the JIT then addresses an inlined array map's values as `[key * stride + disp32]`,
// without a 64-bit constant in a register first (two 10-byte moves per iteration of the
// suite's array_map_loop). Larger maps, and any that do not fit there, go anywhere.
void* map_shared(int fd, size_t size) {
#if defined(MAP_32BIT)
  constexpr size_t kLowLimit = size_t{16} << 20;
  if (size <= kLowLimit) {
    void* low = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_32BIT, fd, 0);
    if (low != MAP_FAILED) return low;
  }
#endif
  return mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

}  // namespace

Result<std::shared_ptr<MapFile>> MapFile::create(const Backing& backing, const std::string& name,
                                                 size_t size) {
  std::shared_ptr<MapFile> file(new MapFile());
  if (backing.directory.empty()) {
    std::string memfd_name = "userbpf-map:" + name;
    file->fd_ = memfd_create(memfd_name.c_str(), MFD_CLOEXEC);
    if (file->fd_ < 0) return io_error("memfd_create for map", name, errno);
  } else {
    std::string file_name = backing.file_name.empty() ? default_file_name(name) : backing.file_name;
    if (file_name.find('/') != std::string::npos || file_name == "." || file_name == "..") {
      return make_error(Errc::invalid_argument, "map file name '" + file_name + "' is not a name");
    }
    file->path_ = backing.directory + "/" + file_name;
    // A hidden temporary name first: a creator that dies before publish() leaves no file under
    // the final name, so nobody can open a half-initialised map.
    std::string temp = backing.directory + "/." + file_name + ".tmp.XXXXXX";
    file->fd_ = mkostemp(temp.data(), O_CLOEXEC);
    if (file->fd_ < 0) return io_error("cannot create map file in", backing.directory, errno);
    file->temp_path_ = temp;
  }
  if (ftruncate(file->fd_, static_cast<off_t>(size)) != 0) {
    int err = errno;
    return io_error("cannot size map file to " + std::to_string(size) + " bytes:",
                    file->temp_path_.empty() ? name : file->temp_path_, err);
  }
  void* base = map_shared(file->fd_, size);
  if (base == MAP_FAILED) return io_error("cannot map map file", file->path_, errno);
  file->base_ = static_cast<uint8_t*>(base);
  file->size_ = size;
  return file;
}

Status MapFile::publish() {
  header().state.store(kStateReady, std::memory_order_release);
  if (temp_path_.empty()) return ok_status();
  // RENAME_NOREPLACE: never clobber a map somebody else published under the same name.
  if (renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    return io_error("cannot publish map file", path_, err);
  }
  temp_path_.clear();
  return ok_status();
}

Result<std::shared_ptr<MapFile>> MapFile::open(const std::string& path) {
  std::shared_ptr<MapFile> file(new MapFile());
  file->fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (file->fd_ < 0) {
    int err = errno;
    if (err == ENOENT) return make_error(Errc::not_found, "no map file '" + path + "'");
    return io_error("cannot open map file", path, err);
  }
  file->path_ = path;
  struct stat st {};
  if (fstat(file->fd_, &st) != 0) return io_error("cannot stat map file", path, errno);
  size_t size = static_cast<size_t>(st.st_size);
  if (size < kHeaderSize) {
    return make_error(Errc::invalid_argument, "'" + path + "' is not a userbpf map file (" +
                                                  std::to_string(size) + " bytes)");
  }
  void* base = map_shared(file->fd_, size);
  if (base == MAP_FAILED) return io_error("cannot map map file", path, errno);
  file->base_ = static_cast<uint8_t*>(base);
  file->size_ = size;
  const FileHeader& h = file->header();
  if (h.magic != kMapFileMagic) {
    return make_error(Errc::invalid_argument,
                      "'" + path + "' is not a userbpf map file (bad magic)");
  }
  if (h.version != kMapFileVersion) {
    return make_error(Errc::unsupported, "map file '" + path + "' has layout version " +
                                             std::to_string(h.version) + ", this build reads " +
                                             std::to_string(kMapFileVersion));
  }
  if (h.state.load(std::memory_order_acquire) != kStateReady) {
    return make_error(Errc::invalid_argument, "map file '" + path + "' is not initialised");
  }
  if (h.total_size != size) {
    return make_error(Errc::invalid_argument, "map file '" + path + "' is " + std::to_string(size) +
                                                  " bytes, its header says " +
                                                  std::to_string(h.total_size));
  }
  return file;
}

MapFile::~MapFile() {
  if (base_ != nullptr) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
  if (!temp_path_.empty()) unlink(temp_path_.c_str());
}

}  // namespace userbpf::maps

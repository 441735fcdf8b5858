#include "helpers/safe_memory.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace userbpf::helpers {

// process_vm_readv on our own pid validates the source range in the kernel and reports EFAULT
// instead of delivering SIGSEGV.
bool read_nofault_in(int32_t pid, uint64_t addr, void* dst, size_t size) {
  if (size == 0) return true;
  if (addr == 0) return false;
  iovec local{dst, size};
  iovec remote{reinterpret_cast<void*>(addr), size};
  const ssize_t n = process_vm_readv(pid ? pid : getpid(), &local, 1, &remote, 1, 0);
  return n == static_cast<ssize_t>(size);
}

bool read_nofault(uint64_t addr, void* dst, size_t size) { return read_nofault_in(0, addr, dst, size); }

long read_string_nofault(uint64_t addr, std::string& out, size_t max) {
  return read_string_nofault_in(0, addr, out, max);
}

long read_string_nofault_in(int32_t pid, uint64_t addr, std::string& out, size_t max) {
  out.clear();
  if (max == 0) return 0;
  // Read in chunks that never cross a page boundary, so a string that ends right before an
  // unmapped page is still read.
  constexpr uint64_t kPage = 4096;
  while (out.size() < max) {
    const uint64_t cur = addr + out.size();
    size_t chunk = static_cast<size_t>(kPage - (cur % kPage));
    chunk = std::min(chunk, max - out.size());
    char buf[kPage];
    if (!read_nofault_in(pid, cur, buf, chunk)) return -EFAULT;
    for (size_t i = 0; i < chunk; ++i) {
      if (buf[i] == '\0') return static_cast<long>(out.size() + 1);
      out.push_back(buf[i]);
    }
  }
  // No NUL within max: like strncpy_from_kernel_nofault, the copy is truncated and terminated.
  out.resize(max - 1);
  return static_cast<long>(max);
}

}  // namespace userbpf::helpers

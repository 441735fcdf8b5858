#include "runtime/kconfig.hpp"

#include <sys/utsname.h>

#include <cstdio>

namespace userbpf::runtime {
namespace {

std::vector<uint8_t> le_bytes(uint64_t value, size_t size) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

uint32_t host_kernel_version() {
  utsname u{};
  if (uname(&u) != 0) return 0;
  unsigned a = 0, b = 0, c = 0;
  if (std::sscanf(u.release, "%u.%u.%u", &a, &b, &c) < 2) return 0;
  return (a << 16) + (b << 8) + (c > 255 ? 255 : c);
}

}  // namespace

std::optional<std::vector<uint8_t>> kconfig_value(const std::string& name) {
  if (name == "LINUX_KERNEL_VERSION") return le_bytes(host_kernel_version(), 4);
  if (name == "LINUX_HAS_SYSCALL_WRAPPER" || name == "LINUX_HAS_BPF_COOKIE") {
    return le_bytes(1, 1);
  }
  return std::nullopt;
}

}  // namespace userbpf::runtime

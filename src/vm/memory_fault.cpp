#include "vm/memory_fault.hpp"

#include <fmt/format.h>

namespace userbpf::vm::detail {
namespace {

using u128 = unsigned __int128;  // addr + size can pass 2^64

// Bytes between the access and the region; 0 when they overlap.
u128 gap(const Region& r, uint64_t addr, uint64_t size) {
  const u128 a_end = u128(addr) + size;
  const u128 r_end = u128(r.start) + r.size;
  if (addr >= r_end) return addr - r_end;
  if (a_end <= r.start) return r.start - a_end;
  return 0;
}

std::string relation(const Region& r, uint64_t addr, uint64_t size, bool write) {
  const u128 a_end = u128(addr) + size;
  const u128 r_end = u128(r.start) + r.size;
  if (addr >= r_end)
    return fmt::format("{} bytes past the end of {}", uint64_t(addr - r_end), r.name);
  if (a_end <= r.start)
    return fmt::format("{} bytes before the start of {}", uint64_t(r.start - addr), r.name);
  if (addr < r.start)
    return fmt::format("the first {} bytes are before the start of {}", uint64_t(r.start - addr),
                       r.name);
  if (a_end > r_end)
    return fmt::format("the last {} bytes are past the end of {}", uint64_t(a_end - r_end), r.name);
  if (write && !r.writable) return fmt::format("{} is read-only", r.name);
  return fmt::format("inside {}", r.name);
}

}  // namespace

std::string describe_bad_access(uint64_t addr, uint64_t size, bool write,
                                std::span<const Region> regions) {
  std::string what =
      fmt::format("invalid {} of {} bytes at {:#x}", write ? "write" : "read", size, addr);
  // Prefer a region the access overlaps (a partial overlap or a read-only one), else the nearest.
  const Region* nearest = nullptr;
  u128 best = ~u128(0);
  for (const Region& r : regions) {
    const u128 d = gap(r, addr, size);
    if (d < best) {
      best = d;
      nearest = &r;
    }
  }
  if (addr < 4096 && (!nearest || best > 4096)) return what + " (null pointer)";
  if (!nearest) return what + " (no memory is accessible)";
  return what + " (" + relation(*nearest, addr, size, write) + ")";
}

}  // namespace userbpf::vm::detail

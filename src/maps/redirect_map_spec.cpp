// Creation rules of the XDP redirect maps: kernel/bpf/devmap.c dev_map_init_map,
// kernel/bpf/cpumap.c cpu_map_alloc, net/xdp/xskmap.c xsk_map_alloc. The generic checks of
// map_create (name, RDONLY with WRONLY, map_extra) run before these in check_spec().
#include <linux/bpf.h>
#include <net/if.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "maps/map_types.hpp"
#include "maps/redirect_maps_internal.hpp"

namespace userbpf::maps {
namespace {

// What the struct bpf_devmap_val / bpf_cpumap_val prefixes measure: the 4-byte ifindex or qsize
// alone, or followed by the 4-byte program fd.
constexpr uint32_t kShortValue = 4;
constexpr uint32_t kLongValue = 8;

int fail(std::string* why, int err, std::string message) {
  if (why != nullptr) *why = std::move(message);
  return err;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", v);
  return buf;
}

// NR_CPUS of the host kernel: cpumap refuses more entries than it (the kernel's own limit, so
// the answer matches the host). /sys/devices/system/cpu/kernel_max is NR_CPUS - 1.
uint32_t kernel_nr_cpus() {
  static const uint32_t n = [] {
    std::ifstream in("/sys/devices/system/cpu/kernel_max");
    uint32_t max = 0;
    if (in >> max) return max + 1;
    return uint32_t{8192};  // CONFIG_NR_CPUS of the common distribution kernels
  }();
  return n;
}

int check_common(const MapSpec& s, uint32_t allowed_flags, std::string* why) {
  const std::string type = map_type_name(s.type);
  if (s.max_entries == 0) return fail(why, -EINVAL, "max_entries must not be 0");
  if (s.key_size != 4) {
    return fail(why, -EINVAL,
                "key_size " + std::to_string(s.key_size) + " invalid for " + type + " (must be 4)");
  }
  if (s.map_flags & ~allowed_flags) {
    return fail(why, -EINVAL,
                "map_flags " + hex(s.map_flags & ~allowed_flags) + " not allowed for " + type +
                    " maps (allowed: " + hex(allowed_flags) + ")");
  }
  return 0;
}

int check_value_4_or_8(const MapSpec& s, const char* what, std::string* why) {
  if (s.value_size != kShortValue && s.value_size != kLongValue) {
    return fail(why, -EINVAL,
                "value_size " + std::to_string(s.value_size) + " invalid for " +
                    map_type_name(s.type) + " (4: " + what + ", 8: " + what + " and program fd)");
  }
  return 0;
}

}  // namespace

bool is_redirect_map_type(uint32_t type) {
  return type == BPF_MAP_TYPE_DEVMAP || type == BPF_MAP_TYPE_DEVMAP_HASH ||
         type == BPF_MAP_TYPE_CPUMAP || type == BPF_MAP_TYPE_XSKMAP;
}

uint32_t forced_map_flags(uint32_t type) {
  return type == BPF_MAP_TYPE_DEVMAP || type == BPF_MAP_TYPE_DEVMAP_HASH ? BPF_F_RDONLY_PROG : 0;
}

int check_redirect_map_spec(const MapSpec& s, std::string* why) {
  switch (s.type) {
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH: {
      // DEV_CREATE_FLAG_MASK: BPF_F_RDONLY_PROG is Linux's to set, not the creator's.
      if (int err = check_common(s, BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY, why)) return err;
      if (int err = check_value_4_or_8(s, "ifindex", why)) return err;
      // The hash's bucket count is max_entries rounded up to a power of two, in 32 bits.
      if (s.type == BPF_MAP_TYPE_DEVMAP_HASH && s.max_entries > (1u << 31)) {
        return fail(
            why, -EINVAL,
            "max_entries " + std::to_string(s.max_entries) + " exceeds 2^31 (bucket count limit)");
      }
      return 0;
    }
    case BPF_MAP_TYPE_CPUMAP: {
      if (int err = check_common(s, BPF_F_NUMA_NODE, why)) return err;
      if (int err = check_value_4_or_8(s, "qsize", why)) return err;
      if (s.max_entries > kernel_nr_cpus()) {
        return fail(why, -E2BIG,
                    "max_entries " + std::to_string(s.max_entries) + " exceeds NR_CPUS (" +
                        std::to_string(kernel_nr_cpus()) + ")");
      }
      return 0;
    }
    case BPF_MAP_TYPE_XSKMAP: {
      if (int err = check_common(s, BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY, why)) return err;
      if (s.value_size != 4) {
        return fail(why, -EINVAL,
                    "value_size " + std::to_string(s.value_size) +
                        " invalid for xskmap (must be 4, an AF_XDP socket fd)");
      }
      return 0;
    }
    default: return fail(why, -EINVAL, "not a redirect map type");
  }
}

bool host_ifindex_exists(uint32_t ifindex) {
  char name[IF_NAMESIZE];
  return ifindex != 0 && if_indextoname(ifindex, name) != nullptr;
}

}  // namespace userbpf::maps

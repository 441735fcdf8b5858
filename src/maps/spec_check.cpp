// Spec validation with Linux's rules: the generic checks of map_create() and each map type's
// alloc_check/alloc (kernel/bpf/{arraymap,hashtab,lpm_trie,queue_stack_maps,bloom_filter}.c),
// returning the same negative errno.
#include <linux/bpf.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <string>

#include "maps/map_types.hpp"
#include "maps/stack_trace_internal.hpp"
#include "maps/redirect_maps_internal.hpp"
#include "maps/value_ops.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {
namespace {

constexpr uint32_t kAccessMask =
    BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;
constexpr uint64_t kKmallocMaxSize = 1ull << 22;  // x86-64 KMALLOC_MAX_SIZE
constexpr uint32_t kMaxBpfStack = 512;
constexpr uint32_t kPcpuMinUnitSize = 32 << 10;
constexpr uint32_t kLpmDataSizeMax = 256;

int fail(std::string* why, int err, std::string message) {
  if (why != nullptr) *why = std::move(message);
  return err;
}

bool access_ok(uint32_t flags) {
  return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !=
         (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

std::string flag_text(uint32_t flags) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", flags);
  return buf;
}

int check_flags(const MapSpec& s, uint32_t allowed, std::string* why) {
  if (s.map_flags & ~allowed) {
    return fail(why, -EINVAL,
                "map_flags " + flag_text(s.map_flags & ~allowed) + " not allowed for " +
                    map_type_name(s.type) + " maps (allowed: " + flag_text(allowed) + ")");
  }
  if (!access_ok(s.map_flags)) {
    return fail(why, -EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are mutually exclusive");
  }
  return 0;
}

int check_array(const MapSpec& s, std::string* why) {
  bool percpu = s.type == BPF_MAP_TYPE_PERCPU_ARRAY;
  uint32_t allowed =
      BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
  if (int err = check_flags(s, allowed, why)) return err;
  if (s.max_entries == 0) return fail(why, -EINVAL, "max_entries must not be 0");
  if (s.key_size != 4) {
    return fail(why, -EINVAL,
                "key_size " + std::to_string(s.key_size) + " invalid for array maps (must be 4)");
  }
  if (s.value_size == 0) return fail(why, -EINVAL, "value_size must not be 0");
  if (percpu && (s.map_flags & BPF_F_NUMA_NODE)) {
    return fail(why, -EINVAL, "BPF_F_NUMA_NODE is not allowed for per-CPU arrays");
  }
  if (percpu && (s.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))) {
    return fail(why, -EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP need a plain array");
  }
  if (s.map_flags & BPF_F_PRESERVE_ELEMS) {
    return fail(why, -EINVAL, "BPF_F_PRESERVE_ELEMS is only for perf event arrays");
  }
  if (s.value_size > 0x7fffffffu) return fail(why, -E2BIG, "value_size too large");
  if (percpu && round_up8(s.value_size) > kPcpuMinUnitSize) {
    return fail(why, -E2BIG,
                "per-CPU value_size " + std::to_string(s.value_size) + " exceeds " +
                    std::to_string(kPcpuMinUnitSize));
  }
  uint64_t bytes = uint64_t{round_up8(s.value_size)} * s.max_entries;
  if (!percpu && bytes >= 0xffffffffull - 4096) {
    return fail(why, -ENOMEM, "array of " + std::to_string(bytes) + " bytes is too large");
  }
  return 0;
}

int check_hash(const MapSpec& s, std::string* why) {
  bool percpu = s.type == BPF_MAP_TYPE_PERCPU_HASH || s.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  bool lru = s.type == BPF_MAP_TYPE_LRU_HASH || s.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  uint32_t allowed =
      BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | kAccessMask | BPF_F_ZERO_SEED;
  if (int err = check_flags(s, allowed, why)) return err;
  if (!lru && (s.map_flags & BPF_F_NO_COMMON_LRU)) {
    return fail(why, -EINVAL, "BPF_F_NO_COMMON_LRU needs an LRU hash map");
  }
  if (lru && (s.map_flags & BPF_F_NO_PREALLOC)) {
    return fail(why, -kENOTSUPP, "LRU hash maps are always preallocated (BPF_F_NO_PREALLOC)");
  }
  if ((s.map_flags & BPF_F_NUMA_NODE) && (percpu || (s.map_flags & BPF_F_NO_COMMON_LRU))) {
    return fail(why, -EINVAL, "BPF_F_NUMA_NODE is not allowed for per-CPU hash maps or lists");
  }
  if (s.max_entries == 0 || s.key_size == 0 || s.value_size == 0) {
    return fail(why, -EINVAL, "max_entries, key_size and value_size must not be 0");
  }
  if (uint64_t{s.key_size} + s.value_size >= kKmallocMaxSize - 48) {
    return fail(why, -E2BIG, "key_size + value_size too large");
  }
  if (s.key_size > kMaxBpfStack) {
    return fail(why, -E2BIG,
                "key_size " + std::to_string(s.key_size) + " exceeds " +
                    std::to_string(kMaxBpfStack) + " (the BPF stack)");
  }
  if (percpu && round_up8(s.value_size) > kPcpuMinUnitSize) {
    return fail(why, -E2BIG,
                "per-CPU value_size " + std::to_string(s.value_size) + " exceeds " +
                    std::to_string(kPcpuMinUnitSize));
  }
  // Buckets are a power of two >= max_entries; Linux limits them to U32_MAX / 16 (2^28).
  if (s.max_entries > (1u << 28)) {
    return fail(
        why, -E2BIG,
        "max_entries " + std::to_string(s.max_entries) + " exceeds 2^28 (bucket count limit)");
  }
  return 0;
}

int check_lpm(const MapSpec& s, std::string* why) {
  if (s.max_entries == 0) return fail(why, -EINVAL, "max_entries must not be 0");
  if (!(s.map_flags & BPF_F_NO_PREALLOC)) {
    return fail(why, -EINVAL, "LPM trie maps need BPF_F_NO_PREALLOC");
  }
  if (int err = check_flags(s, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | kAccessMask, why)) return err;
  if (s.key_size < 4 + 1 || s.key_size > 4 + kLpmDataSizeMax) {
    return fail(why, -EINVAL,
                "key_size " + std::to_string(s.key_size) +
                    " invalid for LPM trie (4-byte prefixlen + 1..256 data bytes)");
  }
  if (s.value_size < 1 || s.value_size > kKmallocMaxSize - kLpmDataSizeMax - 32) {
    return fail(why, -EINVAL,
                "value_size " + std::to_string(s.value_size) + " invalid for LPM trie");
  }
  return 0;
}

int check_queue_stack(const MapSpec& s, std::string* why) {
  if (s.max_entries == 0) return fail(why, -EINVAL, "max_entries must not be 0");
  if (s.key_size != 0) {
    return fail(why, -EINVAL,
                std::string(map_type_name(s.type)) + " maps have no key (key_size " +
                    std::to_string(s.key_size) + ", must be 0)");
  }
  if (s.value_size == 0) return fail(why, -EINVAL, "value_size must not be 0");
  if (int err = check_flags(s, BPF_F_NUMA_NODE | kAccessMask, why)) return err;
  if (s.value_size > kKmallocMaxSize) return fail(why, -E2BIG, "value_size too large");
  if (uint64_t{s.value_size} * (uint64_t{s.max_entries} + 1) >= (1ull << 40)) {
    return fail(why, -ENOMEM, "queue/stack storage too large");
  }
  return 0;
}

int check_bloom(const MapSpec& s, std::string* why) {
  if (s.key_size != 0) {
    return fail(why, -EINVAL, "bloom filter maps have no key (key_size must be 0)");
  }
  if (s.value_size == 0) return fail(why, -EINVAL, "value_size must not be 0");
  if (s.max_entries == 0) return fail(why, -EINVAL, "max_entries must not be 0");
  if (int err = check_flags(s, BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | kAccessMask, why)) return err;
  if (s.map_extra & ~uint64_t{0xf}) {
    return fail(why, -EINVAL,
                "map_extra holds the number of hash functions in bits 0-3; other bits must be 0");
  }
  return 0;
}

// kernel/bpf/ringbuf.c ringbuf_map_alloc: no key or value, a power-of-two page-multiple size.
int check_ringbuf(const MapSpec& s, std::string* why) {
  if (s.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) {
    return fail(why, -EINVAL,
                "map_flags " + flag_text(s.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) +
                    " not allowed for ringbuf maps (allowed: BPF_F_NUMA_NODE)");
  }
  if (s.key_size != 0 || s.value_size != 0) {
    return fail(why, -EINVAL, "ringbuf maps have no key or value (key_size and value_size 0)");
  }
  const uint32_t n = s.max_entries;
  if (n == 0 || (n & (n - 1)) != 0 || n % 4096 != 0) {
    return fail(why, -EINVAL,
                "ringbuf max_entries " + std::to_string(n) +
                    " must be a power of two and a multiple of the 4096-byte page size");
  }
  return 0;
}

// kernel/bpf/arraymap.c fd_array_map_alloc_check + array_map_alloc_check for the arrays of
// program and perf event references (only perf event arrays take BPF_F_PRESERVE_ELEMS).
int check_fd_array(const MapSpec& s, std::string* why) {
  const std::string type = map_type_name(s.type);
  if (s.value_size != 4) {
    return fail(why, -EINVAL,
                "value_size " + std::to_string(s.value_size) + " invalid for " + type +
                    " (must be 4)");
  }
  if (s.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) {
    return fail(why, -EINVAL, "BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG are not allowed for " + type);
  }
  uint32_t allowed = BPF_F_NUMA_NODE | kAccessMask;
  if (s.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) allowed |= BPF_F_PRESERVE_ELEMS;
  if (int err = check_flags(s, allowed, why)) return err;
  if (s.max_entries == 0) return fail(why, -EINVAL, "max_entries must not be 0");
  if (s.key_size != 4) {
    return fail(why, -EINVAL,
                "key_size " + std::to_string(s.key_size) + " invalid for " + type + " (must be 4)");
  }
  return 0;
}

// Outer maps of map-in-map: the array or hash rules with a 4-byte value (the inner map id);
// BPF_F_INNER_MAP and BPF_F_MMAPABLE are not for outer maps.
int check_map_in_map(const MapSpec& s, std::string* why) {
  if (s.value_size != 4) {
    return fail(why, -EINVAL,
                "value_size " + std::to_string(s.value_size) + " invalid for " +
                    map_type_name(s.type) + " (must be 4, the inner map id)");
  }
  MapSpec storage = s;
  if (s.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
    if (s.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP | BPF_F_PRESERVE_ELEMS)) {
      return fail(why, -EINVAL, "BPF_F_MMAPABLE/BPF_F_INNER_MAP not allowed for array_of_maps");
    }
    storage.type = BPF_MAP_TYPE_ARRAY;
    return check_array(storage, why);
  }
  storage.type = BPF_MAP_TYPE_HASH;
  return check_hash(storage, why);
}

}  // namespace

int check_spec(const MapSpec& s, std::string* why) {
  if (s.name.size() >= BPF_OBJ_NAME_LEN) {
    return fail(why, -EINVAL,
                "map name '" + s.name + "' longer than " + std::to_string(BPF_OBJ_NAME_LEN - 1) +
                    " characters");
  }
  for (char c : s.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') {
      return fail(why, -EINVAL,
                  "map name '" + s.name + "' has a character other than [A-Za-z0-9_.]");
    }
  }
  if ((s.map_flags & BPF_F_RDONLY) && (s.map_flags & BPF_F_WRONLY)) {
    return fail(why, -EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY are mutually exclusive");
  }
  if (s.type != BPF_MAP_TYPE_BLOOM_FILTER && s.map_extra != 0) {
    return fail(why, -EINVAL,
                "map_extra must be 0 for " + std::string(map_type_name(s.type)) + " maps");
  }
  int err = 0;
  switch (s.type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: err = check_array(s, why); break;
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: err = check_hash(s, why); break;
    case BPF_MAP_TYPE_LPM_TRIE: err = check_lpm(s, why); break;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK: err = check_queue_stack(s, why); break;
    case BPF_MAP_TYPE_BLOOM_FILTER: err = check_bloom(s, why); break;
    case BPF_MAP_TYPE_RINGBUF: err = check_ringbuf(s, why); break;
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS: err = check_map_in_map(s, why); break;
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY: err = check_fd_array(s, why); break;
    case BPF_MAP_TYPE_STACK_TRACE: err = check_stack_trace_spec(s, why); break;
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_CPUMAP:
    case BPF_MAP_TYPE_XSKMAP: err = check_redirect_map_spec(s, why); break;
    default:
      if (std::string(map_type_name(s.type)) != "unknown") {
        return fail(
            why, -EOPNOTSUPP,
            std::string(map_type_name(s.type)) + " maps are not data-structure maps of src/maps");
      }
      return fail(why, -EINVAL, "unknown map type " + std::to_string(s.type));
  }
  if (err != 0) return err;
  if (s.spin_lock_off >= 0) {
    if (s.type != BPF_MAP_TYPE_HASH && s.type != BPF_MAP_TYPE_ARRAY) {
      return fail(why, -EOPNOTSUPP,
                  std::string("a bpf_spin_lock in the value needs a hash or "
                              "array map, not ") +
                      map_type_name(s.type));
    }
    if (s.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) {
      return fail(why, -EACCES, "a value with a bpf_spin_lock needs programs to read and write");
    }
    if (s.spin_lock_off % 4 != 0 ||
        uint64_t(s.spin_lock_off) + kSpinLockSize > uint64_t{s.value_size}) {
      return fail(why, -EINVAL,
                  "bpf_spin_lock offset " + std::to_string(s.spin_lock_off) +
                      " is not an aligned 4-byte field inside the " + std::to_string(s.value_size) +
                      "-byte value");
    }
  }
  return 0;
}

}  // namespace userbpf::maps

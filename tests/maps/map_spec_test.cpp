// Impossible specs are refused with Linux's errno and a precise reason; valid ones create.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "maps/map_test_util.hpp"

namespace userbpf::maps::testing {
namespace {

struct BadSpec {
  const char* what;
  MapSpec spec;
  int err;
  const char* reason;  // a part of the explanation
};

MapSpec with_lock(MapSpec s, int32_t off) {
  s.spin_lock_off = off;
  return s;
}
MapSpec with_extra(MapSpec s, uint64_t extra) {
  s.map_extra = extra;
  return s;
}

TEST(MapSpec, RefusesImpossibleSpecsWithLinuxErrno) {
  const BadSpec cases[] = {
      {"array key not 4", make_spec(BPF_MAP_TYPE_ARRAY, 8, 4, 1), -EINVAL, "key_size 8"},
      {"array no entries", make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 0), -EINVAL, "max_entries"},
      {"array no value", make_spec(BPF_MAP_TYPE_ARRAY, 4, 0, 1), -EINVAL, "value_size"},
      {"percpu array mmapable", make_spec(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, BPF_F_MMAPABLE),
       -EINVAL, "BPF_F_MMAPABLE"},
      {"percpu value too big", make_spec(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 1), -E2BIG,
       "per-CPU value_size"},
      {"array no_prealloc", make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_NO_PREALLOC), -EINVAL,
       "not allowed"},
      {"hash zero key", make_spec(BPF_MAP_TYPE_HASH, 0, 4, 1), -EINVAL, "key_size"},
      {"hash key > stack", make_spec(BPF_MAP_TYPE_HASH, 513, 4, 1), -E2BIG, "512"},
      {"hash mmapable", make_spec(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_MMAPABLE), -EINVAL,
       "not allowed"},
      {"hash no_common_lru", make_spec(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_NO_COMMON_LRU), -EINVAL,
       "LRU"},
      {"lru no_prealloc", make_spec(BPF_MAP_TYPE_LRU_HASH, 4, 4, 1, BPF_F_NO_PREALLOC), -524,
       "preallocated"},
      {"rdonly_prog+wronly_prog",
       make_spec(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG), -EINVAL,
       "mutually exclusive"},
      {"rdonly+wronly", make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_RDONLY | BPF_F_WRONLY),
       -EINVAL, "mutually exclusive"},
      {"hash too many", make_spec(BPF_MAP_TYPE_HASH, 4, 4, (1u << 28) + 1), -E2BIG, "2^28"},
      {"lpm prealloc", make_spec(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16), -EINVAL, "BPF_F_NO_PREALLOC"},
      {"lpm key too small", make_spec(BPF_MAP_TYPE_LPM_TRIE, 4, 4, 16, BPF_F_NO_PREALLOC), -EINVAL,
       "key_size 4"},
      {"lpm key too big", make_spec(BPF_MAP_TYPE_LPM_TRIE, 261, 4, 16, BPF_F_NO_PREALLOC), -EINVAL,
       "key_size 261"},
      {"queue with key", make_spec(BPF_MAP_TYPE_QUEUE, 4, 4, 16), -EINVAL, "no key"},
      {"stack no entries", make_spec(BPF_MAP_TYPE_STACK, 0, 4, 0), -EINVAL, "max_entries"},
      {"queue no_prealloc", make_spec(BPF_MAP_TYPE_QUEUE, 0, 4, 4, BPF_F_NO_PREALLOC), -EINVAL,
       "not allowed"},
      {"bloom with key", make_spec(BPF_MAP_TYPE_BLOOM_FILTER, 4, 4, 16), -EINVAL, "no key"},
      {"bloom extra bits", with_extra(make_spec(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 16), 0x10),
       -EINVAL, "map_extra"},
      {"extra on hash", with_extra(make_spec(BPF_MAP_TYPE_HASH, 4, 4, 16), 1), -EINVAL,
       "map_extra"},
      {"lock in percpu hash", with_lock(make_spec(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4), 0),
       -EOPNOTSUPP, "bpf_spin_lock"},
      {"lock outside value", with_lock(make_spec(BPF_MAP_TYPE_HASH, 4, 8, 4), 6), -EINVAL,
       "offset 6"},
      {"lock with rdonly_prog",
       with_lock(make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY_PROG), 0), -EACCES,
       "read and write"},
      {"name too long", make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, "sixteen_chars_xx"), -EINVAL,
       "longer than 15"},
      {"name bad char", make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, "a-b"), -EINVAL, "character"},
      {"unknown type", make_spec(1000, 4, 4, 1), -EINVAL, "unknown map type 1000"},
      {"not a data map", make_spec(BPF_MAP_TYPE_SOCKMAP, 4, 4, 1), -EOPNOTSUPP, "sockmap"},
  };
  for (const BadSpec& c : cases) {
    std::string why;
    EXPECT_EQ(check_spec(c.spec, &why), c.err) << c.what << ": " << why;
    EXPECT_NE(why.find(c.reason), std::string::npos) << c.what << ": " << why;
    auto map = create_map(c.spec);
    ASSERT_FALSE(map.ok()) << c.what;
    EXPECT_NE(map.error().message.find(c.reason), std::string::npos) << map.error().message;
  }
}

TEST(MapSpec, CreatesEveryTypeWithValidSpecs) {
  MapSpec bloom = make_spec(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 100);
  bloom.map_extra = 3;
  const MapSpec valid[] = {
      make_spec(BPF_MAP_TYPE_ARRAY, 4, 12, 10, BPF_F_MMAPABLE),
      make_spec(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 10),
      make_spec(BPF_MAP_TYPE_HASH, 6, 12, 10, BPF_F_NO_PREALLOC),
      make_spec(BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 10),
      make_spec(BPF_MAP_TYPE_LRU_HASH, 4, 12, 10),
      make_spec(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 12, 10, BPF_F_NO_COMMON_LRU),
      make_spec(BPF_MAP_TYPE_LPM_TRIE, 8, 12, 10, BPF_F_NO_PREALLOC),
      make_spec(BPF_MAP_TYPE_QUEUE, 0, 12, 10),
      make_spec(BPF_MAP_TYPE_STACK, 0, 12, 10),
      bloom,
  };
  for (const MapSpec& spec : valid) {
    auto map = create_map(spec);
    ASSERT_TRUE(map.ok()) << spec.type << ": " << map.error().to_string();
    EXPECT_EQ(map.value()->spec().type, spec.type);
    EXPECT_EQ(map.value()->path(), "");  // memfd
    EXPECT_GE(map.value()->fd(), 0);
  }
}

TEST(MapSpec, NoCommonLruRoundsMaxEntriesToCpuCount) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_LRU_HASH, 4, 4, 7, BPF_F_NO_COMMON_LRU));
  ASSERT_TRUE(map);
  uint32_t n = possible_cpus();
  EXPECT_EQ(map->spec().max_entries, (7 + n - 1) / n * n);
}

}  // namespace
}  // namespace userbpf::maps::testing

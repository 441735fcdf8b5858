// BPF_MAP_TYPE_STACK_TRACE: creation rules, stack ids (Linux's jhash2 formula), dedup,
// collisions and BPF_F_REUSE_STACKID, running out of elements, user-space lookup / delete /
// get_next_key / update, a second process's view through the file, and the host kernel's
// answers to the same creation specs and user-space calls.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <vector>

#include "maps/jhash.hpp"
#include "maps/map_test_util.hpp"
#include "userbpf/stack_trace.hpp"

namespace userbpf::maps::testing {
namespace {

MapSpec stack_spec(uint32_t max_entries, uint32_t value_size = 64, uint32_t flags = 0) {
  return make_spec(BPF_MAP_TYPE_STACK_TRACE, 4, value_size, max_entries, flags, "stacks");
}

// Linux's id of a stack: jhash2 over the ips' u32 words, seed 0, masked to the buckets.
uint32_t linux_id(const std::vector<uint64_t>& ips, uint32_t n_buckets) {
  return jhash(ips.data(), ips.size() * 8, 0) & (n_buckets - 1);
}

std::vector<uint64_t> lookup_ips(Map& map, uint32_t id, int* rc = nullptr) {
  std::vector<uint64_t> value(map.spec().value_size / 8, 0xdeadbeef);
  const int r = map.lookup_copy(&id, value.data());
  if (rc) *rc = r;
  return value;
}

// A stack of `n` ips starting at `base` whose id (among n_buckets) is `want`.
std::vector<uint64_t> stack_with_id(uint32_t want, uint32_t n_buckets, uint64_t base,
                                    size_t n = 3) {
  for (uint64_t ip = base;; ++ip) {
    std::vector<uint64_t> ips(n);
    for (size_t i = 0; i < n; ++i) ips[i] = ip + 0x1000 * i;
    if (linux_id(ips, n_buckets) == want) return ips;
  }
}

TEST(StackTraceMap, CreationRules) {
  struct Case {
    MapSpec spec;
    int err;
  };
  const uint32_t max_stack = perf_event_max_stack();
  const Case cases[] = {
      {stack_spec(8), 0},
      {stack_spec(8, 8), 0},
      {stack_spec(8, max_stack * 8), 0},
      {stack_spec(8, (max_stack + 1) * 8), -EINVAL},
      {stack_spec(0), -EINVAL},
      {make_spec(BPF_MAP_TYPE_STACK_TRACE, 8, 64, 8), -EINVAL},
      {stack_spec(8, 0), -EINVAL},
      {stack_spec(8, 4), -EINVAL},
      {stack_spec(8, 12), -EINVAL},
      {stack_spec(8, 64, BPF_F_NO_PREALLOC), -EINVAL},
      {stack_spec(8, 64, BPF_F_RDONLY_PROG), -EINVAL},
      {stack_spec(8, 64, BPF_F_RDONLY), 0},
      {stack_spec(8, 64, BPF_F_STACK_BUILD_ID), 0},
      {stack_spec(8, 32, BPF_F_STACK_BUILD_ID), 0},
      {stack_spec(8, 40, BPF_F_STACK_BUILD_ID), -EINVAL},
      {stack_spec(8, 8, BPF_F_STACK_BUILD_ID), -EINVAL},
      {stack_spec((1u << 31) + 1), -E2BIG},
  };
  for (const Case& c : cases) {
    std::string why;
    EXPECT_EQ(check_spec(c.spec, &why), c.err)
        << "value_size " << c.spec.value_size << " flags " << c.spec.map_flags << ": " << why;
    if (c.err != 0) {
      EXPECT_FALSE(why.empty());
      EXPECT_FALSE(create_map(c.spec).ok());
    }
  }
}

TEST(StackTraceMap, IdsFollowLinuxHashAndDeduplicate) {
  auto map = must_create(stack_spec(60));  // 64 buckets
  ASSERT_TRUE(map);
  // A stack whose tail (skip 1) lands in another bucket, so the two ids can be told apart.
  std::vector<uint64_t> a;
  for (uint64_t base = 0x401000;; base += 0x10) {
    a = {base, base + 0x1000, base + 0x2000};
    if (linux_id(a, 64) != linux_id({a[1], a[2]}, 64)) break;
  }
  const long id = stack_trace_get_id(*map, a, 0);
  ASSERT_GE(id, 0);
  EXPECT_EQ(static_cast<uint32_t>(id), linux_id(a, 64));
  EXPECT_EQ(stack_trace_get_id(*map, a, 0), id);  // same stack, same id
  EXPECT_EQ(map->size(), 1u);
  int rc = 0;
  std::vector<uint64_t> got = lookup_ips(*map, static_cast<uint32_t>(id), &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(got, (std::vector<uint64_t>{a[0], a[1], a[2], 0, 0, 0, 0, 0}));

  // Skip: the first frames are dropped before hashing.
  const long skipped = stack_trace_get_id(*map, a, 1);
  ASSERT_GE(skipped, 0);
  EXPECT_EQ(static_cast<uint32_t>(skipped), linux_id({a[1], a[2]}, 64));
  EXPECT_EQ(lookup_ips(*map, static_cast<uint32_t>(skipped))[0], a[1]);
  EXPECT_EQ(stack_trace_get_id(*map, a, 3), -EFAULT);  // nothing left after the skip
  EXPECT_EQ(stack_trace_get_id(*map, std::vector<uint64_t>{}, 0), -EFAULT);
}

TEST(StackTraceMap, DepthIsLimitedByTheValue) {
  auto map = must_create(stack_spec(4, 16));  // two frames per stack
  ASSERT_TRUE(map);
  const std::vector<uint64_t> deep = {1, 2, 3, 4, 5};
  const long id = stack_trace_get_id(*map, deep, 0);
  ASSERT_GE(id, 0);
  EXPECT_EQ(static_cast<uint32_t>(id), linux_id({1, 2}, 4));
  EXPECT_EQ(lookup_ips(*map, static_cast<uint32_t>(id)), (std::vector<uint64_t>{1, 2}));
  // With a skip the depth grows by the skip (stack_map_calculate_max_depth).
  const long id2 = stack_trace_get_id(*map, deep, 2);
  EXPECT_EQ(lookup_ips(*map, static_cast<uint32_t>(id2)), (std::vector<uint64_t>{3, 4}));
}

TEST(StackTraceMap, CollisionsAndReuse) {
  auto map = must_create(stack_spec(8));
  ASSERT_TRUE(map);
  const std::vector<uint64_t> first = stack_with_id(3, 8, 0x1000);
  const std::vector<uint64_t> second = stack_with_id(3, 8, first[0] + 1);
  ASSERT_NE(first, second);
  ASSERT_EQ(stack_trace_get_id(*map, first, 0), 3);
  EXPECT_EQ(stack_trace_get_id(*map, second, 0), -EEXIST);
  EXPECT_EQ(lookup_ips(*map, 3)[0], first[0]);
  EXPECT_EQ(stack_trace_get_id(*map, second, BPF_F_REUSE_STACKID), 3);
  EXPECT_EQ(lookup_ips(*map, 3)[0], second[0]);  // replaced
  EXPECT_EQ(map->size(), 1u);
  // Fast compare trusts the hash: the stored stack answers for itself.
  EXPECT_EQ(stack_trace_get_id(*map, second, BPF_F_FAST_STACK_CMP), 3);
}

TEST(StackTraceMap, RunsOutOfElements) {
  auto map = must_create(stack_spec(3));  // 3 elements, 4 buckets
  ASSERT_TRUE(map);
  for (uint32_t id = 0; id < 3; ++id)
    ASSERT_EQ(stack_trace_get_id(*map, stack_with_id(id, 4, 0x10000 * (id + 1)), 0), id);
  EXPECT_EQ(stack_trace_get_id(*map, stack_with_id(3, 4, 0x90000), 0), -ENOMEM);
  // Replacing needs a fresh element before the old one is freed, as in Linux.
  EXPECT_EQ(stack_trace_get_id(*map, stack_with_id(0, 4, 0xa0000), BPF_F_REUSE_STACKID), -ENOMEM);
  uint32_t key = 1;
  ASSERT_EQ(map->delete_copy(&key), 0);
  EXPECT_EQ(stack_trace_get_id(*map, stack_with_id(3, 4, 0x90000), 0), 3);
}

TEST(StackTraceMap, UserSpaceOperations) {
  auto map = must_create(stack_spec(5));  // 8 buckets
  ASSERT_TRUE(map);
  uint32_t key = 2;
  std::vector<uint64_t> value(8, 0);
  EXPECT_EQ(map->lookup_copy(&key, value.data()), -ENOENT);
  key = 100;
  EXPECT_EQ(map->lookup_copy(&key, value.data()), -ENOENT);
  EXPECT_EQ(map->update_copy(&key, value.data(), 0), -EINVAL);
  key = 7;
  EXPECT_EQ(map->delete_copy(&key), -ENOENT);
  key = 8;
  EXPECT_EQ(map->delete_copy(&key), -E2BIG);
  uint32_t next = 0;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
  // Programs cannot look stacks up.
  key = 0;
  EXPECT_EQ(map->lookup(&key), nullptr);

  const std::vector<uint64_t> s1 = stack_with_id(1, 8, 0x5000);
  const std::vector<uint64_t> s6 = stack_with_id(6, 8, 0x7000);
  ASSERT_EQ(stack_trace_get_id(*map, s6, 0), 6);
  ASSERT_EQ(stack_trace_get_id(*map, s1, 0), 1);
  std::vector<uint32_t> ids;
  const uint32_t* cur = nullptr;
  uint32_t at = 0;
  while (map->get_next_key(cur, &next) == 0) {
    ids.push_back(next);
    at = next;
    cur = &at;
  }
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 6}));
  key = 3;  // an empty bucket restarts the walk from the first stack
  EXPECT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 1u);
  key = 1;
  EXPECT_EQ(map->delete_copy(&key), 0);
  EXPECT_EQ(map->lookup_copy(&key, value.data()), -ENOENT);
  EXPECT_EQ(map->size(), 1u);
}

TEST(StackTraceMap, BuildIdMapsFallBackToIps) {
  auto map = must_create(stack_spec(4, 3 * sizeof(bpf_stack_build_id), BPF_F_STACK_BUILD_ID));
  ASSERT_TRUE(map);
  const std::vector<uint64_t> ips = {0x1111, 0x2222};
  const long id = stack_trace_get_id(*map, ips, 0);
  ASSERT_GE(id, 0);
  EXPECT_EQ(stack_trace_get_id(*map, ips, 0), id);
  std::vector<bpf_stack_build_id> value(3);
  std::memset(value.data(), 0xab, value.size() * sizeof(value[0]));
  const uint32_t key = static_cast<uint32_t>(id);
  ASSERT_EQ(map->lookup_copy(&key, value.data()), 0);
  EXPECT_EQ(value[0].status, BPF_STACK_BUILD_ID_IP);
  EXPECT_EQ(value[0].ip, 0x1111u);
  EXPECT_EQ(value[1].ip, 0x2222u);
  EXPECT_EQ(value[2].status, 0);  // unused entries are zero
  EXPECT_EQ(value[2].ip, 0u);
}

TEST(StackTraceMap, SharedThroughTheFile) {
  TempDir dir;
  auto map = must_create(stack_spec(16), Backing{dir.path(), "stacks"});
  ASSERT_TRUE(map);
  const std::vector<uint64_t> ips = {10, 20, 30};
  const long id = stack_trace_get_id(*map, ips, 0);
  ASSERT_GE(id, 0);
  auto other = open_map(dir.path() + "/stacks");
  ASSERT_TRUE(other.ok()) << other.error().to_string();
  EXPECT_EQ(lookup_ips(**other, static_cast<uint32_t>(id))[2], 30u);
  EXPECT_EQ(stack_trace_get_id(**other, ips, 0), id);  // the other side dedups against ours
}

TEST(StackTraceMap, KernelAgreesOnCreationAndUserSpaceCalls) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  const MapSpec specs[] = {
      stack_spec(8),
      stack_spec(8, 8),
      stack_spec(0),
      make_spec(BPF_MAP_TYPE_STACK_TRACE, 8, 64, 8, 0, "stacks"),
      stack_spec(8, 4),
      stack_spec(8, 12),
      stack_spec(8, (perf_event_max_stack() + 1) * 8),
      stack_spec(8, 64, BPF_F_NO_PREALLOC),
      stack_spec(8, 64, BPF_F_RDONLY_PROG),
      stack_spec(8, 64, BPF_F_STACK_BUILD_ID),
      stack_spec(8, 40, BPF_F_STACK_BUILD_ID),
      stack_spec(8, 64, BPF_F_RDONLY | BPF_F_WRONLY),
  };
  for (const MapSpec& spec : specs) {
    KernelMap kernel(spec);
    EXPECT_EQ(check_spec(spec), kernel.ok() ? 0 : -kernel.error())
        << "key " << spec.key_size << " value " << spec.value_size << " max " << spec.max_entries
        << " flags " << spec.map_flags;
  }

  // An empty map (the kernel's stacks only come from programs): every user-space call agrees.
  const MapSpec spec = stack_spec(5);
  KernelMap kernel(spec);
  ASSERT_TRUE(kernel.ok());
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  std::vector<uint64_t> v1(8), v2(8);
  for (uint32_t key : {0u, 3u, 7u, 8u, 100u}) {
    SCOPED_TRACE("key " + std::to_string(key));
    EXPECT_EQ(map->lookup_copy(&key, v1.data()), kernel.lookup(&key, v2.data()));
    EXPECT_EQ(map->delete_copy(&key), kernel.erase(&key));
    EXPECT_EQ(map->update_copy(&key, v1.data(), 0), kernel.update(&key, v2.data(), 0));
    uint32_t n1 = 0, n2 = 0;
    EXPECT_EQ(map->get_next_key(&key, &n1), kernel.next_key(&key, &n2));
  }
  uint32_t n1 = 0, n2 = 0;
  EXPECT_EQ(map->get_next_key(nullptr, &n1), kernel.next_key(nullptr, &n2));
}

}  // namespace
}  // namespace userbpf::maps::testing

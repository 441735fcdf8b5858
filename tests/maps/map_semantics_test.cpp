// Each map type against Linux's documented behaviour (Documentation/bpf/map_*.rst and the
// kernel sources): flags, errno values, iteration, per-CPU slots, BPF_F_LOCK, access flags.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <set>

#include "maps/map_test_util.hpp"

namespace userbpf::maps::testing {
namespace {

TEST(ArrayMap, ElementsExistZeroedAndCannotBeDeleted) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 12, 4));
  ASSERT_TRUE(map);
  uint32_t k = 3;
  auto* v = static_cast<uint8_t*>(map->lookup(&k));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(Bytes(v, v + 12), Bytes(12, 0));
  k = 4;
  EXPECT_EQ(map->lookup(&k), nullptr);
  uint8_t value[12] = {1, 2, 3};
  EXPECT_EQ(map->update(&k, value, BPF_ANY), -E2BIG);
  k = 1;
  EXPECT_EQ(map->update(&k, value, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(map->update(&k, value, BPF_EXIST), 0);
  EXPECT_EQ(map->update(&k, value, 3), -EINVAL);
  EXPECT_EQ(map->update(&k, value, BPF_F_LOCK), -EINVAL);  // no bpf_spin_lock in the value
  EXPECT_EQ(map->erase(&k), -EINVAL);
  uint8_t out[12] = {};
  EXPECT_EQ(map->lookup_copy(&k, out), 0);
  EXPECT_EQ(Bytes(out, out + 12), Bytes(value, value + 12));
  EXPECT_EQ(map->lookup_and_delete_copy(&k, out), -524);
  EXPECT_EQ(map->size(), 4u);
}

TEST(ArrayMap, GetNextKeyWalksIndexes) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 3));
  ASSERT_TRUE(map);
  uint32_t next = 99;
  EXPECT_EQ(map->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  uint32_t k = 1;
  EXPECT_EQ(map->get_next_key(&k, &next), 0);
  EXPECT_EQ(next, 2u);
  k = 2;
  EXPECT_EQ(map->get_next_key(&k, &next), -ENOENT);
  k = 77;  // out of range: restart at 0, as Linux does
  EXPECT_EQ(map->get_next_key(&k, &next), 0);
  EXPECT_EQ(next, 0u);
}

TEST(ArrayMap, MmapableDataIsPageAlignedAndIsTheValues) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 16, BPF_F_MMAPABLE));
  ASSERT_TRUE(map);
  auto* data = static_cast<uint32_t*>(map->data());
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % 4096, 0u);
  data[5 * 2] = 0xabcd;  // values are 8-byte aligned slots, as in Linux
  uint32_t k = 5;
  EXPECT_EQ(load<uint32_t>(map->lookup(&k)), 0xabcdu);
}

TEST(PercpuArrayMap, ProgramSeesOneSlotUserSpaceSeesAll) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2));
  ASSERT_TRUE(map);
  const uint32_t n = map->ncpus();
  EXPECT_EQ(map->user_value_size(), 8 * n);
  uint32_t k = 1;
  for (uint32_t cpu = 0; cpu < n; ++cpu) {
    auto* slot = static_cast<uint32_t*>(map->lookup_percpu(&k, cpu));
    ASSERT_NE(slot, nullptr);
    *slot = 100 + cpu;
  }
  EXPECT_EQ(map->lookup_percpu(&k, n), nullptr);
  std::vector<uint64_t> all(n);
  ASSERT_EQ(map->lookup_copy(&k, all.data()), 0);
  for (uint32_t cpu = 0; cpu < n; ++cpu) EXPECT_EQ(all[cpu] & 0xffffffff, 100 + cpu);
  for (uint32_t cpu = 0; cpu < n; ++cpu) all[cpu] = 7 * cpu;
  ASSERT_EQ(map->update_copy(&k, all.data(), BPF_ANY), 0);
  for (uint32_t cpu = 0; cpu < n; ++cpu) {
    EXPECT_EQ(load<uint32_t>(map->lookup_percpu(&k, cpu)), 7 * cpu);
  }
  // The program-side lookup is the calling thread's CPU's slot.
  void* mine = map->lookup(&k);
  EXPECT_TRUE(mine == map->lookup_percpu(&k, current_cpu()) ||
              mine == map->lookup_percpu(&k, (current_cpu() + 1) % n));  // may migrate
  EXPECT_EQ(map->update_copy(&k, all.data(), BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(map->data(), nullptr);
}

TEST(HashMap, FlagsAndErrnoAsLinux) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 4, 8, 2));
  ASSERT_TRUE(map);
  uint32_t k1 = 1, k2 = 2, k3 = 3;
  uint64_t v = 10;
  EXPECT_EQ(map->lookup(&k1), nullptr);
  EXPECT_EQ(map->update(&k1, &v, BPF_EXIST), -ENOENT);
  EXPECT_EQ(map->update(&k1, &v, BPF_NOEXIST), 0);
  EXPECT_EQ(map->update(&k1, &v, BPF_NOEXIST), -EEXIST);
  v = 11;
  EXPECT_EQ(map->update(&k1, &v, BPF_EXIST), 0);
  EXPECT_EQ(load<uint64_t>(map->lookup(&k1)), 11u);
  EXPECT_EQ(map->update(&k2, &v, BPF_ANY), 0);
  EXPECT_EQ(map->update(&k3, &v, BPF_ANY), -E2BIG);  // full
  EXPECT_EQ(map->update(&k1, &v, BPF_ANY), 0);       // replacing works when full
  EXPECT_EQ(map->update(&k1, &v, 3), -EINVAL);
  EXPECT_EQ(map->update(&k1, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(map->erase(&k3), -ENOENT);
  EXPECT_EQ(map->erase(&k2), 0);
  EXPECT_EQ(map->size(), 1u);
  EXPECT_EQ(map->update(&k3, &v, BPF_ANY), 0);  // the freed element is reused
  uint64_t out = 0;
  EXPECT_EQ(map->lookup_and_delete_copy(&k3, &out), 0);
  EXPECT_EQ(out, 11u);
  EXPECT_EQ(map->lookup_and_delete_copy(&k3, &out), -ENOENT);
  EXPECT_EQ(map->lookup_copy(&k3, &out), -ENOENT);
  EXPECT_EQ(map->push(&v, 0), -EOPNOTSUPP);
}

TEST(HashMap, GetNextKeyVisitsEveryKeyOnce) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 8, 4, 1000, BPF_F_NO_PREALLOC));
  ASSERT_TRUE(map);
  std::set<uint64_t> inserted;
  for (uint64_t i = 0; i < 700; ++i) {
    uint64_t key = i * 0x10001 + 5;
    uint32_t v = static_cast<uint32_t>(i);
    ASSERT_EQ(map->update(&key, &v, BPF_NOEXIST), 0);
    inserted.insert(key);
  }
  std::set<uint64_t> seen;
  uint64_t key = 0;
  uint64_t next = 0;
  const void* prev = nullptr;
  while (map->get_next_key(prev, &next) == 0) {
    EXPECT_TRUE(seen.insert(next).second) << "key visited twice: " << next;
    key = next;
    prev = &key;
    ASSERT_LE(seen.size(), inserted.size());
  }
  EXPECT_EQ(seen, inserted);
  uint64_t missing = 1;  // not in the map: iteration restarts at the first key
  EXPECT_EQ(map->get_next_key(&missing, &next), 0);
  EXPECT_TRUE(inserted.count(next));
}

TEST(HashMap, SpinLockValueWithBpfFLock) {
  MapSpec spec = make_spec(BPF_MAP_TYPE_HASH, 4, 16, 4);
  spec.spin_lock_off = 4;
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  uint32_t k = 9;
  uint32_t value[4] = {1, 0xdead, 3, 4};
  ASSERT_EQ(map->update_copy(&k, value, BPF_F_LOCK), 0);
  auto* in_map = static_cast<uint32_t*>(map->lookup(&k));
  ASSERT_NE(in_map, nullptr);
  EXPECT_EQ(in_map[1], 0u);  // the lock word is the map's, never copied in
  spin_lock(&in_map[1]);
  EXPECT_EQ(in_map[1], 1u);
  spin_unlock(&in_map[1]);
  in_map[1] = 0;
  uint32_t out[4] = {};
  ASSERT_EQ(map->lookup_copy(&k, out, BPF_F_LOCK), 0);
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[1], 0u);
  EXPECT_EQ(out[2], 3u);
  EXPECT_EQ(map->update_copy(&k, value, BPF_F_LOCK | BPF_NOEXIST), -EEXIST);
  uint32_t k2 = 10;
  EXPECT_EQ(map->update_copy(&k2, value, BPF_F_LOCK | BPF_EXIST), -ENOENT);
  EXPECT_EQ(map->lookup_copy(&k, out, BPF_F_LOCK | 0x10), -EINVAL);
}

TEST(HashMap, AccessFlagsRefuseUserSpaceAsLinux) {
  auto ro = must_create(make_spec(BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY));
  ASSERT_TRUE(ro);
  uint32_t k = 1, v = 2;
  EXPECT_EQ(ro->update_copy(&k, &v), -EPERM);
  EXPECT_EQ(ro->delete_copy(&k), -EPERM);
  EXPECT_EQ(ro->lookup_copy(&k, &v), -ENOENT);
  EXPECT_EQ(ro->update(&k, &v, 0), 0);  // programs may still write (BPF_F_RDONLY is user side)
  auto wo = must_create(make_spec(BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_WRONLY));
  ASSERT_TRUE(wo);
  EXPECT_EQ(wo->update_copy(&k, &v), 0);
  EXPECT_EQ(wo->lookup_copy(&k, &v), -EPERM);
  EXPECT_EQ(wo->lookup_and_delete_copy(&k, &v), -EPERM);
}

TEST(PercpuHashMap, NewElementZeroesOtherCpus) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4));
  ASSERT_TRUE(map);
  const uint32_t n = map->ncpus();
  uint32_t k = 5;
  std::vector<uint64_t> all(n, 0xffff);
  ASSERT_EQ(map->update_copy(&k, all.data(), BPF_ANY), 0);
  ASSERT_EQ(map->erase(&k), 0);
  uint64_t v = 42;
  ASSERT_EQ(map->update(&k, &v, BPF_ANY), 0);  // program side: this CPU's slot only
  ASSERT_EQ(map->lookup_copy(&k, all.data()), 0);
  int nonzero = 0;
  for (uint64_t x : all) {
    if (x != 0) {
      EXPECT_EQ(x, 42u);
      ++nonzero;
    }
  }
  EXPECT_EQ(nonzero, 1);
  EXPECT_EQ(map->update(&k, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_NE(map->lookup_percpu(&k, n - 1), nullptr);
  EXPECT_EQ(map->lookup_percpu(&k, n), nullptr);
}

TEST(LruHashMap, EvictsInsteadOfFailingAndKeepsReferencedKeys) {
  const uint32_t max = 64;
  auto map = must_create(make_spec(BPF_MAP_TYPE_LRU_HASH, 4, 4, max));
  ASSERT_TRUE(map);
  for (uint32_t k = 0; k < max; ++k) ASSERT_EQ(map->update(&k, &k, BPF_NOEXIST), 0);
  // Programs touch the first half: those have their reference bit set.
  for (uint32_t k = 0; k < max / 2; ++k) ASSERT_NE(map->lookup(&k), nullptr);
  for (uint32_t k = max; k < max + max / 2; ++k) {
    ASSERT_EQ(map->update(&k, &k, BPF_ANY), 0) << "an LRU map never answers E2BIG";
  }
  EXPECT_LE(map->size(), max);
  for (uint32_t k = 0; k < max / 2; ++k) EXPECT_NE(map->lookup(&k), nullptr) << k;
  for (uint32_t k = max; k < max + max / 2; ++k) EXPECT_NE(map->lookup(&k), nullptr) << k;
  uint32_t evicted = 0;
  for (uint32_t k = max / 2; k < max; ++k) evicted += map->lookup(&k) == nullptr;
  EXPECT_EQ(evicted, max / 2);
  uint32_t v = 1;
  EXPECT_EQ(map->update(&v, &v, BPF_F_LOCK), -EINVAL);
}

TEST(LruPercpuHashMap, UserSpaceCopiesAllCpus) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 8, BPF_F_NO_COMMON_LRU));
  ASSERT_TRUE(map);
  const uint32_t n = map->ncpus();
  std::vector<uint64_t> all(n);
  for (uint32_t k = 0; k < 100; ++k) {
    for (uint32_t c = 0; c < n; ++c) all[c] = k * 10 + c;
    ASSERT_EQ(map->update_copy(&k, all.data(), BPF_ANY), 0);
  }
  EXPECT_LE(map->size(), map->spec().max_entries);
  uint32_t k = 99;
  ASSERT_EQ(map->lookup_copy(&k, all.data()), 0);
  for (uint32_t c = 0; c < n; ++c) EXPECT_EQ(all[c], 990u + c);
}

// struct bpf_lpm_trie_key_u8 with 4 data bytes (IPv4).
struct Ipv4Key {
  uint32_t prefixlen;
  uint8_t addr[4];
};

Ipv4Key ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint32_t len) {
  return Ipv4Key{len, {a, b, c, d}};
}

TEST(LpmTrieMap, LongestPrefixMatch) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC));
  ASSERT_TRUE(map);
  auto put = [&](Ipv4Key k, uint32_t v) { return map->update(&k, &v, BPF_ANY); };
  auto get = [&](Ipv4Key k) -> int64_t {
    void* v = map->lookup(&k);
    return v ? load<uint32_t>(v) : -1;
  };
  ASSERT_EQ(put(ip(192, 168, 0, 0, 16), 16), 0);
  ASSERT_EQ(put(ip(192, 168, 0, 0, 24), 24), 0);
  ASSERT_EQ(put(ip(192, 168, 1, 0, 24), 124), 0);
  ASSERT_EQ(put(ip(192, 168, 128, 0, 24), 1024), 0);
  ASSERT_EQ(put(ip(0, 0, 0, 0, 0), 0), 0);
  EXPECT_EQ(get(ip(192, 168, 0, 7, 32)), 24);
  EXPECT_EQ(get(ip(192, 168, 1, 200, 32)), 124);
  EXPECT_EQ(get(ip(192, 168, 2, 1, 32)), 16);
  EXPECT_EQ(get(ip(192, 168, 128, 9, 32)), 1024);
  EXPECT_EQ(get(ip(10, 0, 0, 1, 32)), 0);
  EXPECT_EQ(get(ip(192, 168, 0, 7, 20)), 16);  // the lookup key's prefixlen limits the match
  // Flags as Linux >= 6.14, delete needs the exact prefix.
  uint32_t v = 1;
  Ipv4Key k = ip(192, 168, 0, 0, 24);
  EXPECT_EQ(map->update(&k, &v, BPF_NOEXIST), -EEXIST);
  k = ip(192, 168, 3, 0, 24);
  EXPECT_EQ(map->update(&k, &v, BPF_EXIST), -ENOENT);
  k = ip(192, 168, 0, 0, 33);
  EXPECT_EQ(map->update(&k, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(map->update(&k, &v, 4), -EINVAL);
  k = ip(192, 168, 0, 0, 23);
  EXPECT_EQ(map->erase(&k), -ENOENT);
  k = ip(192, 168, 0, 0, 16);
  EXPECT_EQ(map->erase(&k), 0);
  EXPECT_EQ(get(ip(192, 168, 2, 1, 32)), 0);
  EXPECT_EQ(get(ip(192, 168, 1, 2, 32)), 124);
  EXPECT_EQ(map->size(), 4u);
}

TEST(LpmTrieMap, IterationIsPostOrderAsLinux) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC));
  ASSERT_TRUE(map);
  uint32_t v = 0;
  // The example of lpm_trie.c's get_next_key comment, inserted in another order.
  for (Ipv4Key k : {ip(192, 168, 0, 0, 16), ip(192, 168, 128, 0, 24), ip(192, 168, 0, 0, 24),
                    ip(192, 168, 1, 0, 24)}) {
    ASSERT_EQ(map->update(&k, &v, BPF_ANY), 0);
  }
  std::vector<std::string> order;
  Ipv4Key cur{};
  Ipv4Key next{};
  const void* prev = nullptr;
  while (map->get_next_key(prev, &next) == 0) {
    order.push_back(std::to_string(next.addr[2]) + "/" + std::to_string(next.prefixlen));
    cur = next;
    prev = &cur;
    ASSERT_LE(order.size(), 4u);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"0/24", "1/24", "128/24", "0/16"}));
}

TEST(LpmTrieMap, FullTrieAnswersEnospc) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 2, BPF_F_NO_PREALLOC));
  ASSERT_TRUE(map);
  uint32_t v = 0;
  Ipv4Key a = ip(10, 0, 0, 0, 8), b = ip(11, 0, 0, 0, 8), c = ip(12, 0, 0, 0, 8);
  ASSERT_EQ(map->update(&a, &v, BPF_ANY), 0);
  ASSERT_EQ(map->update(&b, &v, BPF_ANY), 0);
  EXPECT_EQ(map->update(&c, &v, BPF_ANY), -ENOSPC);
  EXPECT_EQ(map->update(&a, &v, BPF_ANY), 0);  // replacing is not adding
}

TEST(QueueMap, FifoWithOverwrite) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_QUEUE, 0, 4, 3));
  ASSERT_TRUE(map);
  uint32_t out = 0;
  EXPECT_EQ(map->pop(&out), -ENOENT);
  EXPECT_EQ(map->peek(&out), -ENOENT);
  for (uint32_t v : {1u, 2u, 3u}) ASSERT_EQ(map->push(&v, BPF_ANY), 0);
  uint32_t four = 4;
  EXPECT_EQ(map->push(&four, BPF_ANY), -E2BIG);
  EXPECT_EQ(map->push(&four, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(map->push(&four, 4), -EINVAL);
  EXPECT_EQ(map->push(&four, BPF_EXIST), 0);  // drops the oldest (1)
  EXPECT_EQ(map->peek(&out), 0);
  EXPECT_EQ(out, 2u);
  EXPECT_EQ(map->lookup_and_delete_copy(nullptr, &out), 0);
  EXPECT_EQ(out, 2u);
  EXPECT_EQ(map->lookup_copy(nullptr, &out), 0);  // peek
  EXPECT_EQ(out, 3u);
  uint32_t five = 5;
  EXPECT_EQ(map->update_copy(nullptr, &five, BPF_ANY), 0);  // push
  for (uint32_t want : {3u, 4u, 5u}) {
    ASSERT_EQ(map->pop(&out), 0);
    EXPECT_EQ(out, want);
  }
  EXPECT_EQ(map->lookup(&out), nullptr);
  EXPECT_EQ(map->erase(&out), -EINVAL);
  EXPECT_EQ(map->get_next_key(nullptr, &out), -EINVAL);
  EXPECT_EQ(map->lookup_and_delete_copy(nullptr, &out, BPF_F_LOCK), -EINVAL);
}

TEST(StackMap, LifoWithOverwrite) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_STACK, 0, 4, 3));
  ASSERT_TRUE(map);
  for (uint32_t v : {1u, 2u, 3u}) ASSERT_EQ(map->push(&v, BPF_ANY), 0);
  uint32_t four = 4;
  EXPECT_EQ(map->push(&four, BPF_ANY), -E2BIG);
  EXPECT_EQ(map->push(&four, BPF_EXIST), 0);  // the oldest (1) is overwritten
  uint32_t out = 0;
  for (uint32_t want : {4u, 3u, 2u}) {
    ASSERT_EQ(map->pop(&out), 0);
    EXPECT_EQ(out, want);
  }
  EXPECT_EQ(map->pop(&out), -ENOENT);
}

TEST(BloomFilterMap, NoFalseNegativesFewFalsePositives) {
  MapSpec spec = make_spec(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 1000);
  spec.map_extra = 3;
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  for (uint64_t v = 0; v < 1000; ++v) {
    uint64_t x = v * 2654435761u;
    ASSERT_EQ(map->push(&x, BPF_ANY), 0);
  }
  for (uint64_t v = 0; v < 1000; ++v) {
    uint64_t x = v * 2654435761u;
    EXPECT_EQ(map->peek(&x), 0);
  }
  int false_positives = 0;
  for (uint64_t v = 1000; v < 11000; ++v) {
    uint64_t x = v * 2654435761u;
    false_positives += map->peek(&x) == 0;
  }
  EXPECT_LT(false_positives, 1000);  // ~1-5% expected with 3 hashes at 4096 bits / 1000
  uint64_t x = 1;
  EXPECT_EQ(map->push(&x, BPF_EXIST), -EINVAL);
  EXPECT_EQ(map->pop(&x), -EOPNOTSUPP);
  EXPECT_EQ(map->erase(&x), -EOPNOTSUPP);
  EXPECT_EQ(map->get_next_key(nullptr, &x), -EOPNOTSUPP);
  EXPECT_EQ(map->update(nullptr, &x, 0), -EINVAL);
  EXPECT_EQ(map->update_copy(nullptr, &x, 0), 0);  // the syscall's update is push
}

}  // namespace
}  // namespace userbpf::maps::testing

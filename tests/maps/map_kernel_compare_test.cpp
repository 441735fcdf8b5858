// The same operation sequences on a userbpf map and on the host kernel's map of the same spec
// (through libbpf's bpf_map_* calls): every return code and every value read must agree.
// Skipped, with the reason, where this process cannot create kernel maps.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <random>
#include <set>

#include "maps/map_test_util.hpp"

namespace userbpf::maps::testing {
namespace {

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// All keys by get_next_key from NULL, as a sorted set of byte strings.
template <class Next>
std::set<Bytes> all_keys(Next next, size_t key_size, size_t limit) {
  std::set<Bytes> keys;
  Bytes cur(key_size);
  Bytes nxt(key_size);
  bool first = true;
  while (next(first ? nullptr : cur.data(), nxt.data()) == 0 && keys.size() <= limit) {
    keys.insert(nxt);
    cur = nxt;
    first = false;
  }
  return keys;
}

// Random updates (all flag values, some invalid), lookups, deletes, lookup-and-deletes and
// get_next_key over a small key space, so that EEXIST, ENOENT and E2BIG all happen.
void compare_random_sequence(const MapSpec& spec, uint32_t key_space, int steps) {
  KernelMap kernel(spec);
  ASSERT_TRUE(kernel.ok()) << "kernel refused the spec: " << std::strerror(kernel.error());
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  const bool array = spec.type == BPF_MAP_TYPE_ARRAY || spec.type == BPF_MAP_TYPE_PERCPU_ARRAY;
  const size_t vsize = map->user_value_size();
  std::mt19937 rng(spec.type * 7919 + spec.key_size);
  auto make_key = [&] {
    Bytes key(spec.key_size, 0);
    uint32_t id = rng() % key_space;
    std::memcpy(key.data(), &id, std::min<size_t>(4, key.size()));
    if (key.size() > 4) key[4] = static_cast<uint8_t>(id * 3);
    return key;
  };
  const uint64_t flag_choices[] = {BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_ANY, 3, BPF_F_LOCK};
  for (int step = 0; step < steps; ++step) {
    Bytes key = make_key();
    Bytes value = random_bytes(rng, vsize);
    Bytes out_u(vsize, 0xee);
    Bytes out_k(vsize, 0xee);
    int op = rng() % 10;
    SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op));
    switch (op) {
      case 0:
      case 1:
      case 2:
      case 3: {
        uint64_t flags = flag_choices[rng() % 6];
        ASSERT_EQ(map->update_copy(key.data(), value.data(), flags),
                  kernel.update(key.data(), value.data(), flags))
            << "update flags " << flags;
        break;
      }
      case 4:
      case 5: {
        int ru = map->lookup_copy(key.data(), out_u.data());
        ASSERT_EQ(ru, kernel.lookup(key.data(), out_k.data()));
        if (ru == 0) {
          ASSERT_EQ(out_u, out_k);
        }
        break;
      }
      case 6:
      case 7: ASSERT_EQ(map->delete_copy(key.data()), kernel.erase(key.data())); break;
      case 8: {
        int ru = map->lookup_and_delete_copy(key.data(), out_u.data());
        ASSERT_EQ(ru, kernel.lookup_and_delete(key.data(), out_k.data()));
        if (ru == 0) {
          ASSERT_EQ(out_u, out_k);
        }
        break;
      }
      case 9: {
        Bytes nu(spec.key_size), nk(spec.key_size);
        int ru = map->get_next_key(key.data(), nu.data());
        int rk = kernel.next_key(key.data(), nk.data());
        if (array) {
          ASSERT_EQ(ru, rk);
          if (ru == 0) {
            ASSERT_EQ(nu, nk);
          }
        } else {
          // Hash order differs (different hash functions); emptiness must agree.
          ASSERT_EQ(ru == -ENOENT && map->size() == 0, rk == -ENOENT && map->size() == 0);
        }
        break;
      }
    }
  }
  auto mine = all_keys([&](const void* k, void* n) { return map->get_next_key(k, n); },
                       spec.key_size, spec.max_entries + 1);
  auto theirs = all_keys([&](const void* k, void* n) { return kernel.next_key(k, n); },
                         spec.key_size, spec.max_entries + 1);
  EXPECT_EQ(mine, theirs);
  for (const Bytes& key : theirs) {
    Bytes out_u(vsize), out_k(vsize);
    ASSERT_EQ(map->lookup_copy(key.data(), out_u.data()), 0);
    ASSERT_EQ(kernel.lookup(key.data(), out_k.data()), 0);
    EXPECT_EQ(out_u, out_k);
  }
}

TEST(MapKernelCompare, Hash) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  compare_random_sequence(make_spec(BPF_MAP_TYPE_HASH, 6, 12, 24), 40, 4000);
  compare_random_sequence(make_spec(BPF_MAP_TYPE_HASH, 4, 8, 24, BPF_F_NO_PREALLOC), 40, 4000);
}

TEST(MapKernelCompare, PercpuHash) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  compare_random_sequence(make_spec(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 24), 40, 3000);
}

TEST(MapKernelCompare, LruHashWithoutPressure) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  // Far from full, an LRU map must behave as a hash map (except it never answers E2BIG).
  compare_random_sequence(make_spec(BPF_MAP_TYPE_LRU_HASH, 4, 8, 1024), 60, 3000);
  compare_random_sequence(make_spec(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 1024), 60, 2000);
}

TEST(MapKernelCompare, Array) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  compare_random_sequence(make_spec(BPF_MAP_TYPE_ARRAY, 4, 12, 24), 30, 3000);
  compare_random_sequence(make_spec(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 24), 30, 3000);
}

TEST(MapKernelCompare, LruUnderPressureNeverFails) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  MapSpec spec = make_spec(BPF_MAP_TYPE_LRU_HASH, 4, 4, 256);
  KernelMap kernel(spec);
  ASSERT_TRUE(kernel.ok());
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  for (uint32_t k = 0; k < 5000; ++k) {
    ASSERT_EQ(map->update_copy(&k, &k, BPF_NOEXIST), kernel.update(&k, &k, BPF_NOEXIST)) << k;
  }
  auto mine = all_keys([&](const void* k, void* n) { return map->get_next_key(k, n); }, 4, 300);
  auto theirs = all_keys([&](const void* k, void* n) { return kernel.next_key(k, n); }, 4, 300);
  EXPECT_LE(mine.size(), 256u);
  EXPECT_LE(theirs.size(), 256u);
  uint32_t last = 4999;
  EXPECT_TRUE(mine.count(bytes_of(last)));
  EXPECT_TRUE(theirs.count(bytes_of(last)));
}

struct LpmKey {
  uint32_t prefixlen;
  uint8_t data[3];
} __attribute__((packed));

std::string key_text(const LpmKey& k) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02x%02x%02x/%u", k.data[0], k.data[1], k.data[2], k.prefixlen);
  return buf;
}

// The whole get_next_key walk, for failure messages.
template <class M>
std::string order_text(M& m) {
  std::string text;
  LpmKey cur{}, nxt{};
  int guard = 0;
  for (const void* prev = nullptr; m.get_next_key(prev, &nxt) == 0 && ++guard < 100; prev = &cur) {
    text += key_text(nxt) + " ";
    cur = nxt;
  }
  return text;
}

TEST(MapKernelCompare, LpmTrie) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  MapSpec spec = make_spec(BPF_MAP_TYPE_LPM_TRIE, 7, 4, 48, BPF_F_NO_PREALLOC);
  KernelMap kernel(spec);
  ASSERT_TRUE(kernel.ok()) << std::strerror(kernel.error());
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  std::mt19937 rng(42);
  auto random_key = [&](bool lookup) {
    LpmKey k{};
    k.prefixlen = lookup ? 24 : rng() % 26;  // 25 is invalid: > 24 bits
    // Few distinct prefixes so that nodes nest, split and get replaced.
    k.data[0] = static_cast<uint8_t>(0xa0 | (rng() % 4));
    k.data[1] = static_cast<uint8_t>((rng() % 4) << 6);
    k.data[2] = static_cast<uint8_t>(rng());
    return k;
  };
  for (int step = 0; step < 6000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    int op = rng() % 8;
    LpmKey k = random_key(op >= 5);
    uint32_t v = rng();
    if (op < 3) {
      uint64_t flags = rng() % 4;
      ASSERT_EQ(map->update_copy(&k, &v, flags), kernel.update(&k, &v, flags)) << flags;
    } else if (op < 5) {
      ASSERT_EQ(map->delete_copy(&k), kernel.erase(&k));
    } else if (op < 7) {
      uint32_t u = 0, w = 0;
      int ru = map->lookup_copy(&k, &u);
      ASSERT_EQ(ru, kernel.lookup(&k, &w));
      if (ru == 0) {
        ASSERT_EQ(u, w);
      }
    } else {
      LpmKey nu{}, nk{};
      int ru = map->get_next_key(&k, &nu);
      ASSERT_EQ(ru, kernel.next_key(&k, &nk));
      if (ru == 0) {
        ASSERT_EQ(key_text(nu), key_text(nk))
            << "after " << key_text(k) << "; userbpf order: " << order_text(*map)
            << "; kernel order: " << order_text(kernel);
      }
    }
  }
  // Iteration order is the kernel's post-order, key by key.
  std::vector<Bytes> mine, theirs;
  LpmKey cur{}, nxt{};
  for (const void* prev = nullptr; map->get_next_key(prev, &nxt) == 0; prev = &cur) {
    mine.emplace_back((uint8_t*)&nxt, (uint8_t*)&nxt + 7);
    cur = nxt;
  }
  for (const void* prev = nullptr; kernel.next_key(prev, &nxt) == 0; prev = &cur) {
    theirs.emplace_back((uint8_t*)&nxt, (uint8_t*)&nxt + 7);
    cur = nxt;
  }
  EXPECT_EQ(mine, theirs);
  EXPECT_FALSE(mine.empty());
}

void compare_queue_stack(uint32_t type) {
  MapSpec spec = make_spec(type, 0, 4, 5);
  KernelMap kernel(spec);
  ASSERT_TRUE(kernel.ok()) << std::strerror(kernel.error());
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  std::mt19937 rng(type);
  for (int step = 0; step < 3000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    uint32_t v = rng() % 1000;
    uint32_t u = 0, w = 0;
    switch (rng() % 4) {
      case 0:
      case 1: {
        uint64_t flags = rng() % 4;
        ASSERT_EQ(map->update_copy(nullptr, &v, flags), kernel.update(nullptr, &v, flags));
        break;
      }
      case 2: {
        int ru = map->lookup_and_delete_copy(nullptr, &u);
        ASSERT_EQ(ru, kernel.lookup_and_delete(nullptr, &w));
        if (ru == 0) {
          ASSERT_EQ(u, w);
        }
        break;
      }
      case 3: {
        int ru = map->lookup_copy(nullptr, &u);
        ASSERT_EQ(ru, kernel.lookup(nullptr, &w));
        if (ru == 0) {
          ASSERT_EQ(u, w);
        }
        break;
      }
    }
  }
}

TEST(MapKernelCompare, Queue) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  compare_queue_stack(BPF_MAP_TYPE_QUEUE);
}

TEST(MapKernelCompare, Stack) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  compare_queue_stack(BPF_MAP_TYPE_STACK);
}

TEST(MapKernelCompare, BloomFilterZeroSeedIsBitExact) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  for (uint32_t value_size : {8u, 6u}) {  // jhash2 and jhash paths of the kernel
    MapSpec spec = make_spec(BPF_MAP_TYPE_BLOOM_FILTER, 0, value_size, 200, BPF_F_ZERO_SEED);
    spec.map_extra = 2;
    KernelMap kernel(spec);
    ASSERT_TRUE(kernel.ok()) << std::strerror(kernel.error());
    auto map = must_create(spec);
    ASSERT_TRUE(map);
    std::mt19937 rng(value_size);
    for (int i = 0; i < 200; ++i) {
      Bytes v = random_bytes(rng, value_size);
      ASSERT_EQ(map->update_copy(nullptr, v.data(), 0), kernel.update(nullptr, v.data(), 0));
    }
    Bytes bad(value_size, 1);
    ASSERT_EQ(map->update_copy(nullptr, bad.data(), BPF_EXIST),
              kernel.update(nullptr, bad.data(), BPF_EXIST));
    int positives = 0;
    for (int i = 0; i < 20000; ++i) {
      Bytes v = random_bytes(rng, value_size);
      Bytes out_u = v, out_k = v;
      int ru = map->lookup_copy(nullptr, out_u.data());
      ASSERT_EQ(ru, kernel.lookup(nullptr, out_k.data())) << "probe " << i;
      positives += ru == 0;
    }
    EXPECT_GT(positives, 0) << "some false positives are expected, and must match the kernel's";
  }
}

}  // namespace
}  // namespace userbpf::maps::testing

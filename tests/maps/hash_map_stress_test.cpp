// The hash map's bucket design under load: crowded buckets whose elements spill into the
// overflow lists, slots freed and reused, elements recycled between keys, and all of it with
// lock-free readers running beside the writers. A reader must never miss a key that stays in the
// map, never see another key's value, and concurrent writers must leave whole values behind.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "maps/map_test_util.hpp"

namespace userbpf::maps::testing {
namespace {

// Iteration must visit exactly `expected`, each key once.
void expect_iteration(Map& map, const std::map<uint64_t, uint64_t>& expected) {
  std::set<uint64_t> seen;
  uint64_t cur = 0, next = 0;
  for (const void* prev = nullptr; map.get_next_key(prev, &next) == 0; prev = &cur) {
    ASSERT_TRUE(seen.insert(next).second) << "key visited twice: " << next;
    ASSERT_LE(seen.size(), expected.size());
    cur = next;
  }
  EXPECT_EQ(seen.size(), expected.size());
  for (const auto& [key, value] : expected) EXPECT_TRUE(seen.count(key)) << key;
}

// A full map (about four elements per bucket, so some buckets overflow their seven slots) driven
// by random inserts, updates, deletes and lookups, checked against std::map at every step.
TEST(HashMapStress, FullMapMatchesAModel) {
  for (uint32_t flags : {0u, uint32_t{BPF_F_ZERO_SEED}}) {
    constexpr uint32_t kMax = 1000;
    auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 8, 8, kMax, flags));
    ASSERT_TRUE(map);
    std::map<uint64_t, uint64_t> model;
    std::mt19937_64 rng(7);
    for (int step = 0; step < 200000; ++step) {
      const uint64_t key = rng() % 1500;  // more keys than room: E2BIG happens too
      const uint64_t value = rng();
      const bool present = model.count(key) != 0;
      switch (rng() % 4) {
        case 0: {
          int rc = map->update(&key, &value, BPF_NOEXIST);
          int want = present ? -EEXIST : model.size() == kMax ? -E2BIG : 0;
          ASSERT_EQ(rc, want) << "step " << step;
          if (rc == 0) model[key] = value;
          break;
        }
        case 1: {
          int rc = map->update(&key, &value, BPF_ANY);
          int want = !present && model.size() == kMax ? -E2BIG : 0;
          ASSERT_EQ(rc, want) << "step " << step;
          if (rc == 0) model[key] = value;
          break;
        }
        case 2: {
          ASSERT_EQ(map->erase(&key), present ? 0 : -ENOENT) << "step " << step;
          model.erase(key);
          break;
        }
        default: {
          void* v = map->lookup(&key);
          ASSERT_EQ(v != nullptr, present) << "step " << step;
          if (present) {
            ASSERT_EQ(load<uint64_t>(v), model[key]) << "step " << step;
          }
        }
      }
      ASSERT_EQ(map->size(), model.size());
    }
    for (const auto& [key, value] : model) {
      uint64_t out = 0;
      ASSERT_EQ(map->lookup_copy(&key, &out), 0);
      EXPECT_EQ(out, value);
    }
    expect_iteration(*map, model);
  }
}

// Odd key sizes take the generic hash and compare; the full map still behaves.
TEST(HashMapStress, OddKeySizeFullMap) {
  constexpr uint32_t kMax = 512;
  auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 13, 4, kMax));
  ASSERT_TRUE(map);
  auto key_of = [](uint32_t i) {
    Bytes k(13, 0);
    for (int b = 0; b < 13; ++b) k[b] = static_cast<uint8_t>(i * 31 + b * (i >> 3));
    std::memcpy(k.data() + 9, &i, 4);
    return k;
  };
  for (uint32_t i = 0; i < kMax; ++i) ASSERT_EQ(map->update(key_of(i).data(), &i, BPF_NOEXIST), 0);
  uint32_t extra = kMax;
  EXPECT_EQ(map->update(key_of(extra).data(), &extra, BPF_NOEXIST), -E2BIG);
  for (uint32_t i = 0; i < kMax; i += 3) ASSERT_EQ(map->erase(key_of(i).data()), 0);
  for (uint32_t i = 0; i < kMax; ++i) {
    void* v = map->lookup(key_of(i).data());
    if (i % 3 == 0) {
      EXPECT_EQ(v, nullptr) << i;
    } else {
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(load<uint32_t>(v), i);
    }
  }
}

// Stable keys stay in the map while writers insert and delete other keys into the same crowded
// buckets (slots emptied and refilled, overflow lists growing and shrinking, elements recycled
// from key to key). Readers must always find every stable key with its own value. (A churned
// key's value is not checked: its element may be recycled between lookup and read, as in Linux.)
TEST(HashMapStress, ReadersNeverMissStableKeysDuringChurn) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    constexpr uint32_t kMax = 128;  // 32 buckets
    constexpr uint64_t kStable = 64;
    constexpr uint64_t kChurnPerWriter = 28;
    constexpr int kWriters = 2;
    constexpr int kReaders = 2;
    auto map = must_create(make_spec(type, 8, 8, kMax));
    ASSERT_TRUE(map);
    for (uint64_t k = 0; k < kStable; ++k) ASSERT_EQ(map->update(&k, &k, BPF_NOEXIST), 0);
    std::atomic<bool> stop{false};
    std::atomic<int> readers_started{0};
    std::atomic<uint64_t> missed{0}, wrong{0}, write_errors{0}, reads{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        const uint64_t base = 1000 + uint64_t(w) * 1000;
        while (readers_started.load() < kReaders) std::this_thread::yield();
        for (int round = 0; round < 3000; ++round) {
          for (uint64_t i = 0; i < kChurnPerWriter; ++i) {
            uint64_t key = base + (round % 7) * 100 + i;
            if (map->update(&key, &key, BPF_NOEXIST) != 0) ++write_errors;
          }
          for (uint64_t i = 0; i < kChurnPerWriter; ++i) {
            uint64_t key = base + (round % 7) * 100 + i;
            if (map->erase(&key) != 0) ++write_errors;
          }
        }
      });
    }
    for (int r = 0; r < kReaders; ++r) {
      threads.emplace_back([&] {
        uint64_t n = 0;
        ++readers_started;
        do {
          for (uint64_t k = 0; k < kStable; ++k) {
            void* v = map->lookup(&k);
            if (v == nullptr) {
              ++missed;
            } else if (load<uint64_t>(v) != k) {
              ++wrong;
            }
            ++n;
          }
        } while (!stop.load(std::memory_order_relaxed));
        reads += n;
      });
    }
    for (int w = 0; w < kWriters; ++w) threads[w].join();
    stop = true;
    for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
    EXPECT_EQ(write_errors.load(), 0u) << type;
    EXPECT_EQ(missed.load(), 0u) << type << " after " << reads.load() << " reads";
    EXPECT_EQ(wrong.load(), 0u) << type;
    EXPECT_GT(reads.load(), 0u);
    EXPECT_EQ(map->size(), kStable);
    std::map<uint64_t, uint64_t> expected;
    for (uint64_t k = 0; k < kStable; ++k) expected[k] = k;
    expect_iteration(*map, expected);
  }
}

// All threads update, delete and re-insert the same keys, so the element an updater finds may be
// deleted and recycled for another key by another thread at any moment. Each value names its key
// in its high half; an update that landed in a recycled element would leave a foreign value
// behind, which the checks between rounds (no writer running) catch.
TEST(HashMapStress, UpdatesNeverLandInRecycledElements) {
  constexpr uint32_t kMax = 64;
  auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 8, 8, kMax));
  ASSERT_TRUE(map);
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::atomic<uint64_t> errors{0};
  std::vector<std::string> bad;
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      for (int round = 0; round < kRounds; ++round) {
        for (uint32_t i = 0; i < 2000; ++i) {
          uint64_t key = rng() % kMax;  // kMax keys: the map is never full
          uint64_t value = key << 32 | i;
          int rc;
          switch (rng() % 3) {
            case 0: rc = map->update(&key, &value, BPF_ANY); break;
            case 1: rc = map->update(&key, &value, BPF_EXIST); break;
            default: rc = map->erase(&key); break;
          }
          if (rc != 0 && rc != -ENOENT) ++errors;
        }
        sync.arrive_and_wait();
        if (t == 0) {
          for (uint64_t key = 0; key < kMax; ++key) {
            if (void* v = map->lookup(&key); v != nullptr && load<uint64_t>(v) >> 32 != key) {
              bad.push_back("round " + std::to_string(round) + " key " + std::to_string(key));
            }
          }
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_TRUE(bad.empty()) << bad.size() << " foreign values, first: " << bad.front();
}

// Writers of the same keys are serialised: whatever the interleaving, every stored value is one
// writer's whole value (a value read during a write may be torn, as in Linux, but the map never
// keeps a mix of two writes).
TEST(HashMapStress, ConcurrentWritersLeaveWholeValues) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    constexpr uint32_t kWords = 16;
    auto map = must_create(make_spec(type, 4, kWords * 8, 64));
    ASSERT_TRUE(map);
    std::vector<uint64_t> zero(kWords, 0);
    for (uint32_t k = 0; k < 8; ++k) ASSERT_EQ(map->update(&k, zero.data(), BPF_NOEXIST), 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::vector<uint64_t> v(kWords);
        for (uint32_t i = 0; i < 50000; ++i) {
          uint32_t k = i % 8;
          std::fill(v.begin(), v.end(), uint64_t(t + 1) << 32 | i);
          if (i % 2 == 0) {
            map->update(&k, v.data(), BPF_ANY);
          } else {
            map->update_copy(&k, v.data(), BPF_EXIST);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    for (uint32_t k = 0; k < 8; ++k) {
      std::vector<uint64_t> out(kWords);
      ASSERT_EQ(map->lookup_copy(&k, out.data()), 0);
      for (uint32_t w = 1; w < kWords; ++w)
        EXPECT_EQ(out[w], out[0]) << "key " << k << " word " << w;
      EXPECT_NE(out[0], 0u);
    }
  }
}

}  // namespace
}  // namespace userbpf::maps::testing

// BPF_MAP_TYPE_RINGBUF: spec checks, the kernel's record layout, reserve/submit/discard order,
// wrap-around, full ring, wake-up rules, several producer threads and a consumer in another
// process.
#include "userbpf/ringbuf.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "maps/map_test_util.hpp"

namespace userbpf::maps {
namespace {

using testing::TempDir;

std::shared_ptr<Map> make_ring(uint32_t size, const Backing& backing = {}) {
  return testing::must_create(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, size, 0, "rb"),
                              backing);
}

TEST(Ringbuf, SpecFollowsLinux) {
  std::string why;
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096)), 0);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, 1 << 20)), 0);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, 6 * 4096), &why), -EINVAL);
  EXPECT_NE(why.find("power of two"), std::string::npos);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, 2048)), -EINVAL);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 4, 0, 4096)), -EINVAL);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 8, 4096)), -EINVAL);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_MMAPABLE)),
            -EINVAL);
  EXPECT_EQ(check_spec(testing::make_spec(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_NUMA_NODE)), 0);
}

TEST(Ringbuf, RecordLayoutIsTheKernels) {
  auto map = make_ring(4096);
  ASSERT_TRUE(map);
  auto* p = static_cast<uint8_t*>(ringbuf_reserve(*map, 5, 0));
  ASSERT_NE(p, nullptr);
  uint32_t len, pg_off;
  std::memcpy(&len, p - 8, 4);
  std::memcpy(&pg_off, p - 4, 4);
  EXPECT_EQ(len, 5u | kRingbufBusyBit);
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_PROD_POS), 16u);  // 8-byte header + 5 rounded up to 8
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_CONS_POS), 0u);
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_AVAIL_DATA), 16u);
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_RING_SIZE), 4096u);
  EXPECT_EQ(ringbuf_query(*map, 99), 0u);
  EXPECT_TRUE(ringbuf_is_reserved(p));
  ringbuf_discard(p, 0);
  std::memcpy(&len, p - 8, 4);
  EXPECT_EQ(len, 5u | kRingbufDiscardBit);
  EXPECT_FALSE(ringbuf_is_reserved(p));
  // The shared file holds the positions where the kernel's mmap shows them: consumer page,
  // producer page, then data.
  const auto* file = static_cast<const uint8_t*>(map->mapping());
  uint64_t prod;
  std::memcpy(&prod, file + 4096 + 4096, 8);
  EXPECT_EQ(prod, 16u);
  std::memcpy(&len, file + 4096 + 2 * 4096, 4);
  EXPECT_EQ(len, 5u | kRingbufDiscardBit);
  EXPECT_FALSE(ringbuf_is_reserved(&len));
}

TEST(Ringbuf, ConsumesInOrderAndSkipsDiscarded) {
  auto map = make_ring(4096);
  std::vector<uint32_t> seen;
  auto rb = RingBuffer::create(map, [&](const void* data, size_t size) {
    EXPECT_EQ(size, 4u);
    uint32_t v;
    std::memcpy(&v, data, 4);
    seen.push_back(v);
    return 0;
  });
  ASSERT_TRUE(rb) << rb.error().to_string();
  void* a = ringbuf_reserve(*map, 4, 0);
  void* b = ringbuf_reserve(*map, 4, 0);
  void* c = ringbuf_reserve(*map, 4, 0);
  uint32_t one = 1, two = 2, three = 3;
  std::memcpy(a, &one, 4);
  std::memcpy(b, &two, 4);
  std::memcpy(c, &three, 4);
  ringbuf_submit(c, 0);  // committed, but behind a busy record: not visible yet
  EXPECT_EQ((*rb)->consume(), 0);
  ringbuf_submit(a, 0);
  EXPECT_EQ((*rb)->consume(), 1);
  ringbuf_discard(b, 0);
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_EQ(seen, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_AVAIL_DATA), 0u);
  EXPECT_EQ(ringbuf_output(*map, &two, 4, 0), 0);
  EXPECT_EQ(ringbuf_output(*map, &two, 4, 4), -EINVAL);
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_EQ(seen.back(), 2u);
}

TEST(Ringbuf, FullRingRefusesAndWrapsAround) {
  auto map = make_ring(4096);
  EXPECT_EQ(ringbuf_reserve(*map, 4096, 0), nullptr);  // header does not fit
  EXPECT_EQ(ringbuf_reserve(*map, 100, 1), nullptr);   // flags must be 0
  // Fill: 1000-byte records take 1008 bytes; 4 fit in the 4095 usable bytes.
  std::vector<void*> recs;
  for (int i = 0; i < 4; ++i) {
    void* r = ringbuf_reserve(*map, 1000, 0);
    ASSERT_NE(r, nullptr) << i;
    recs.push_back(r);
  }
  EXPECT_EQ(ringbuf_reserve(*map, 1000, 0), nullptr);
  // 63 bytes left: three 1-byte records (16 bytes each) fit, a fourth would make 4096 > 4095.
  uint8_t byte = 7;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ringbuf_output(*map, &byte, 1, 0), 0) << i;
  EXPECT_EQ(ringbuf_output(*map, &byte, 1, 0), -EAGAIN);
  for (void* r : recs) ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  size_t total = 0;
  int records = 0;
  auto rb = RingBuffer::create(map, [&](const void*, size_t size) {
    total += size;
    ++records;
    return 0;
  });
  ASSERT_TRUE(rb);
  EXPECT_EQ((*rb)->consume(), 7);
  EXPECT_EQ(total, 4003u);
  // Now a record straddles the end of the data area: it must still be contiguous.
  std::vector<uint8_t> pattern(3000);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i * 31 + 1);
  ASSERT_EQ(ringbuf_output(*map, pattern.data(), pattern.size(), 0), 0);
  EXPECT_GT(ringbuf_query(*map, BPF_RB_PROD_POS), 4096u);
  std::vector<uint8_t> got;
  auto rb2 = RingBuffer::create(map, [&](const void* data, size_t size) {
    got.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
    return 0;
  });
  ASSERT_TRUE(rb2);
  EXPECT_EQ((*rb2)->consume(), 1);
  EXPECT_EQ(got, pattern);
}

TEST(Ringbuf, CallbackErrorStopsAfterConsumingThatRecord) {
  auto map = make_ring(4096);
  uint32_t v = 1;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(ringbuf_output(*map, &v, 4, 0), 0);
  int calls = 0;
  auto rb = RingBuffer::create(map, [&](const void*, size_t) { return ++calls == 2 ? -42 : 0; });
  ASSERT_TRUE(rb);
  EXPECT_EQ((*rb)->consume(), -42);
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_CONS_POS), 32u);
  EXPECT_EQ((*rb)->consume(), 1);
}

TEST(Ringbuf, WakeupFlags) {
  auto map = make_ring(4096);
  uint32_t v = 0;
  EXPECT_EQ(ringbuf_wakeups(*map), 0u);
  ASSERT_EQ(ringbuf_output(*map, &v, 4, BPF_RB_NO_WAKEUP), 0);
  EXPECT_EQ(ringbuf_wakeups(*map), 0u);
  // Default: a wake-up only when the consumer has caught up with this record. The first record
  // is still unconsumed, so the second one does not wake.
  ASSERT_EQ(ringbuf_output(*map, &v, 4, 0), 0);
  EXPECT_EQ(ringbuf_wakeups(*map), 0u);
  ASSERT_EQ(ringbuf_output(*map, &v, 4, BPF_RB_FORCE_WAKEUP), 0);
  EXPECT_EQ(ringbuf_wakeups(*map), 1u);
  auto rb = RingBuffer::create(map, [](const void*, size_t) { return 0; });
  ASSERT_TRUE(rb);
  EXPECT_EQ((*rb)->consume(), 3);
  ASSERT_EQ(ringbuf_output(*map, &v, 4, 0), 0);  // consumer caught up: wakes
  EXPECT_EQ(ringbuf_wakeups(*map), 2u);
  // A poll with nothing to read times out; a producer thread's commit wakes a blocked poll.
  EXPECT_EQ((*rb)->poll(0), 1);
  EXPECT_EQ((*rb)->poll(20), 0);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ringbuf_output(*map, &v, 4, 0);
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*rb)->poll(10000), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  producer.join();
}

TEST(Ringbuf, NotARingbuf) {
  auto array = testing::must_create(testing::make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
  EXPECT_FALSE(RingBuffer::create(array, [](const void*, size_t) { return 0; }));
  EXPECT_EQ(ringbuf_reserve(*array, 8, 0), nullptr);
  EXPECT_EQ(ringbuf_output(*array, "x", 1, 0), -EINVAL);
}

TEST(Ringbuf, ManyProducerThreadsLoseNothing) {
  auto map = make_ring(1 << 16);
  constexpr int kThreads = 4;
  constexpr uint32_t kPerThread = 20000;
  std::atomic<bool> done{false};
  std::vector<uint32_t> next(kThreads, 0);
  uint64_t received = 0;
  bool in_order = true;
  auto rb = RingBuffer::create(map, [&](const void* data, size_t size) {
    uint32_t rec[2];
    if (size != sizeof(rec)) return -1;
    std::memcpy(rec, data, sizeof(rec));
    if (rec[0] >= kThreads || rec[1] != next[rec[0]]) in_order = false;
    if (rec[0] < kThreads) next[rec[0]] = rec[1] + 1;
    ++received;
    return 0;
  });
  ASSERT_TRUE(rb);
  std::vector<std::thread> producers;
  for (uint32_t t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (uint32_t i = 0; i < kPerThread;) {
        auto* rec = static_cast<uint32_t*>(ringbuf_reserve(*map, 8, 0));
        if (rec == nullptr) {
          std::this_thread::yield();  // full: wait for the consumer
          continue;
        }
        rec[0] = t;
        rec[1] = i++;
        if (i % 7 == 0) {
          ringbuf_submit(rec, 0);
        } else {
          ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
        }
      }
    });
  }
  std::thread stopper([&] {
    for (auto& p : producers) p.join();
    done = true;
  });
  while (!done || ringbuf_query(*map, BPF_RB_AVAIL_DATA) != 0) {
    ASSERT_GE((*rb)->poll(10), 0);
  }
  stopper.join();
  EXPECT_EQ(received, uint64_t{kThreads} * kPerThread);
  EXPECT_TRUE(in_order);
}

TEST(Ringbuf, ConsumerInAnotherProcess) {
  TempDir dir;
  auto map = make_ring(8192, Backing{dir.path(), "ring"});
  ASSERT_TRUE(map);
  constexpr uint32_t kRecords = 5000;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: opens the map file by path and consumes until it saw every record.
    close(pipe_fds[0]);
    auto opened = open_map(dir.path() + "/ring");
    if (!opened) _exit(2);
    uint32_t expected = 0;
    bool ok = true;
    auto rb = RingBuffer::create(*opened, [&](const void* data, size_t size) {
      uint32_t v;
      std::memcpy(&v, data, 4);
      if (size != 4 || v != expected) ok = false;
      ++expected;
      return 0;
    });
    if (!rb) _exit(3);
    char ready = 'r';
    if (write(pipe_fds[1], &ready, 1) != 1) _exit(4);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (expected < kRecords && std::chrono::steady_clock::now() < deadline) {
      if ((*rb)->poll(100) < 0) _exit(5);
    }
    _exit(ok && expected == kRecords ? 0 : 6);
  }
  close(pipe_fds[1]);
  char ready;
  ASSERT_EQ(read(pipe_fds[0], &ready, 1), 1);
  close(pipe_fds[0]);
  for (uint32_t i = 0; i < kRecords;) {
    if (ringbuf_output(*map, &i, 4, 0) == 0) {
      ++i;
    } else {
      std::this_thread::yield();
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(ringbuf_query(*map, BPF_RB_AVAIL_DATA), 0u);
}

}  // namespace
}  // namespace userbpf::maps

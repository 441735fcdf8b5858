// The pollable descriptors of RingBuffer and PerfBuffer: readable exactly when a producer
// signalled a wake-up (libbpf's epoll semantics, BPF_RB_NO_WAKEUP/BPF_RB_FORCE_WAKEUP included),
// reset by consume(), stable across add(), woken from another thread and another process.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "api/api_test_util.hpp"
#include "userbpf/userbpf.hpp"

namespace userbpf {
namespace {

std::shared_ptr<maps::Map> make_ring(const std::string& name) {
  maps::MapSpec spec;
  spec.type = BPF_MAP_TYPE_RINGBUF;
  spec.max_entries = 4096;
  spec.name = name;
  auto map = maps::create_map(spec);
  EXPECT_TRUE(map.ok()) << map.error().to_string();
  return map.ok() ? *map : nullptr;
}

// poll() on one descriptor: true when readable within `timeout_ms`.
bool readable(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

int output(maps::Map& ring, uint64_t value, uint64_t flags = 0) {
  return maps::ringbuf_output(ring, &value, sizeof(value), flags);
}

TEST(ApiConsumerFd, RingBufferFdFollowsWakeups) {
  auto ring = make_ring("rb_fd");
  std::vector<uint64_t> got;
  auto rb = RingBuffer::create(ring, [&](const void* data, size_t size) {
    EXPECT_EQ(size, 8u);
    uint64_t v;
    std::memcpy(&v, data, 8);
    got.push_back(v);
    return 0;
  });
  ASSERT_TRUE(rb.ok());
  auto fd = (*rb)->fd();
  ASSERT_TRUE(fd.ok()) << fd.error().to_string();
  EXPECT_EQ(*(*rb)->fd(), *fd);  // one descriptor per consumer
  EXPECT_FALSE(readable(*fd));

  ASSERT_EQ(output(*ring, 1), 0);
  EXPECT_TRUE(readable(*fd, 2000));
  EXPECT_TRUE(readable(*fd));  // level: stays readable until consumed
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_FALSE(readable(*fd, 50));

  // No wake-up requested: data waits, the fd stays quiet (as the kernel's epoll does).
  ASSERT_EQ(output(*ring, 2, BPF_RB_NO_WAKEUP), 0);
  EXPECT_FALSE(readable(*fd, 50));
  // A second record while the consumer lags behind: no wake-up either (not caught up).
  ASSERT_EQ(output(*ring, 3), 0);
  EXPECT_FALSE(readable(*fd, 50));
  // Forced: readable even though the consumer lags.
  ASSERT_EQ(output(*ring, 4, BPF_RB_FORCE_WAKEUP), 0);
  EXPECT_TRUE(readable(*fd, 2000));
  EXPECT_EQ((*rb)->consume(), 3);
  EXPECT_EQ(got, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_FALSE(readable(*fd, 50));
}

TEST(ApiConsumerFd, RingBufferFdIsReadableAtOnceWhenDataWaits) {
  auto ring = make_ring("rb_waiting");
  ASSERT_EQ(output(*ring, 7), 0);
  int seen = 0;
  auto rb = RingBuffer::create(ring, [&](const void*, size_t) { return ++seen, 0; });
  ASSERT_TRUE(rb.ok());
  auto fd = (*rb)->fd();
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(readable(*fd));
  EXPECT_EQ((*rb)->poll(0), 1);  // poll() resets the descriptor too
  EXPECT_FALSE(readable(*fd, 20));
}

TEST(ApiConsumerFd, StoppedCallbackLeavesTheFdReadable) {
  auto ring = make_ring("rb_stop");
  int calls = 0;
  auto rb = RingBuffer::create(ring, [&](const void*, size_t) { return ++calls == 1 ? -42 : 0; });
  ASSERT_TRUE(rb.ok());
  auto fd = (*rb)->fd();
  ASSERT_TRUE(fd.ok());
  ASSERT_EQ(output(*ring, 1), 0);
  ASSERT_EQ(output(*ring, 2, BPF_RB_FORCE_WAKEUP), 0);
  ASSERT_TRUE(readable(*fd, 2000));
  EXPECT_EQ((*rb)->consume(), -42);
  EXPECT_TRUE(readable(*fd));  // the second record still waits
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_FALSE(readable(*fd, 20));
}

TEST(ApiConsumerFd, AddedRingWakesTheSameFd) {
  auto first = make_ring("rb_first");
  auto second = make_ring("rb_second");
  int seen = 0;
  auto count = [&](const void*, size_t) { return ++seen, 0; };
  auto rb = RingBuffer::create(first, count);
  ASSERT_TRUE(rb.ok());
  const int fd = *(*rb)->fd();
  ASSERT_TRUE((*rb)->add(second, count).ok());
  EXPECT_EQ(*(*rb)->fd(), fd);
  (*rb)->consume();
  EXPECT_FALSE(readable(fd, 20));
  ASSERT_EQ(output(*second, 5), 0);
  EXPECT_TRUE(readable(fd, 2000));
  EXPECT_EQ((*rb)->consume(), 1);
  ASSERT_EQ(output(*first, 6), 0);
  EXPECT_TRUE(readable(fd, 2000));
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_EQ(seen, 2);
}

TEST(ApiConsumerFd, ProducerThreadWakesAPollingConsumer) {
  auto ring = make_ring("rb_thread");
  int seen = 0;
  auto rb = RingBuffer::create(ring, [&](const void*, size_t) { return ++seen, 0; });
  ASSERT_TRUE(rb.ok());
  const int fd = *(*rb)->fd();
  constexpr int kEvents = 200;
  std::thread producer([&] {
    for (int i = 0; i < kEvents; ++i) {
      while (output(*ring, i) != 0) std::this_thread::yield();  // full: wait for the consumer
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const auto start = std::chrono::steady_clock::now();
  while (seen < kEvents && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    if (readable(fd, 1000)) (*rb)->consume();
  }
  producer.join();
  (*rb)->consume();
  EXPECT_EQ(seen, kEvents);
}

// The producer is another process that opened the map by its file: the futex word in the shared
// file reaches the watcher of this process.
TEST(ApiConsumerFd, ProducerProcessWakesTheFd) {
  api_test::ScratchDir dir;
  maps::MapSpec spec;
  spec.type = BPF_MAP_TYPE_RINGBUF;
  spec.max_entries = 4096;
  spec.name = "rb_process";
  auto ring = maps::create_map(spec, {dir.path().string(), "ring.map"});
  ASSERT_TRUE(ring.ok()) << ring.error().to_string();
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  // Fork before the watcher thread exists, then let the child produce once the fd is armed.
  const pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    auto mine = maps::open_map((dir.path() / "ring.map").string());
    if (!mine) _exit(3);
    uint64_t v = 77;
    _exit(maps::ringbuf_output(**mine, &v, sizeof(v), 0) == 0 ? 0 : 4);
  }
  uint64_t got = 0;
  auto rb = RingBuffer::create(*ring, [&](const void* data, size_t) {
    std::memcpy(&got, data, 8);
    return 0;
  });
  ASSERT_TRUE(rb.ok());
  const int fd = *(*rb)->fd();
  EXPECT_FALSE(readable(fd));
  ASSERT_EQ(write(go[1], "x", 1), 1);
  EXPECT_TRUE(readable(fd, 5000));
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_EQ(got, 77u);
  close(go[0]);
  close(go[1]);
}

TEST(ApiConsumerFd, DestroyingAConsumerStopsItsWatcherPromptly) {
  auto ring = make_ring("rb_stop_fast");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    auto rb = RingBuffer::create(ring, [](const void*, size_t) { return 0; });
    ASSERT_TRUE(rb.ok());
    ASSERT_TRUE((*rb)->fd().ok());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_LT(ms, 500) << "20 watcher threads took " << ms << " ms to start and stop";
}

TEST(ApiConsumerFd, PerfBufferFdFollowsSamples) {
  maps::MapSpec spec;
  spec.type = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
  spec.key_size = 4;
  spec.value_size = 4;
  spec.max_entries = maps::possible_cpus();
  spec.name = "perf_fd";
  auto map = maps::create_map(spec);
  ASSERT_TRUE(map.ok()) << map.error().to_string();
  std::vector<uint64_t> got;
  auto pb = PerfBuffer::create(*map, [&](int cpu, const void* data, uint32_t size) {
    EXPECT_EQ(cpu, static_cast<int>(maps::possible_cpus() - 1));
    EXPECT_GE(size, 8u);
    uint64_t v;
    std::memcpy(&v, data, 8);
    got.push_back(v);
  });
  ASSERT_TRUE(pb.ok());
  auto fd = (*pb)->fd();
  ASSERT_TRUE(fd.ok()) << fd.error().to_string();
  EXPECT_FALSE(readable(*fd));
  const uint64_t v = 31;
  ASSERT_EQ(maps::perf_event_output(**map, maps::possible_cpus() - 1, &v, sizeof(v)), 0);
  EXPECT_TRUE(readable(*fd, 2000));
  EXPECT_EQ((*pb)->consume(), 1);
  EXPECT_FALSE(readable(*fd, 50));
  EXPECT_EQ(got, (std::vector<uint64_t>{31}));
}

// The whole flow through the API: a program's bpf_ringbuf_output and bpf_perf_event_output
// wake the consumers' descriptors.
TEST(ApiConsumerFd, ProgramEventsThroughTheObject) {
  auto obj = Object::open(api_test::test_object());
  ASSERT_TRUE(obj.ok());
  ASSERT_TRUE(obj->load().ok());
  uint64_t from_ring = 0, from_perf = 0;
  auto rb = RingBuffer::create(*obj->map("events"), [&](const void* d, size_t) {
    std::memcpy(&from_ring, d, 8);
    return 0;
  });
  auto pb = PerfBuffer::create(
      *obj->map("samples"), [&](int, const void* d, uint32_t) { std::memcpy(&from_perf, d, 8); });
  ASSERT_TRUE(rb.ok() && pb.ok());
  const int rfd = *(*rb)->fd(), pfd = *(*pb)->fd();
  std::vector<uint8_t> ctx(16, 0);
  ctx[0] = 4;
  ASSERT_TRUE(obj->program("compute")->run_context(ctx).ok());
  EXPECT_TRUE(readable(rfd, 2000));
  EXPECT_TRUE(readable(pfd, 2000));
  EXPECT_EQ((*rb)->consume(), 1);
  EXPECT_EQ((*pb)->consume(), 1);
  EXPECT_EQ(from_ring, 1012u);  // 4 * 3 + 1000
  EXPECT_EQ(from_perf, 1012u);
}

}  // namespace
}  // namespace userbpf

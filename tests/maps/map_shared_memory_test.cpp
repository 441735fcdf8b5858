// Maps as shared memory: a second process opens the file and reads and writes live; the file
// outlives its creator; damaged or half-created files are refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "maps/map_test_util.hpp"

namespace userbpf::maps::testing {
namespace {

// Small maps are mapped below 2 GiB where the platform offers it (the JIT then addresses an
// array's values with a 32-bit displacement), both when created and when opened again; a map
// larger than that region's share goes anywhere and works the same.
TEST(MapSharedMemory, SmallMapsAreMappedBelowTwoGigabytes) {
#if !defined(MAP_32BIT)
  GTEST_SKIP() << "no MAP_32BIT on this platform";
#else
  void* probe =
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (probe == MAP_FAILED) GTEST_SKIP() << "mmap(MAP_32BIT) refused: " << std::strerror(errno);
  munmap(probe, 4096);
  TempDir dir;
  auto small = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 256, 0, "small"),
                           Backing{dir.path(), "small"});
  auto large = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 4u << 20, 0, "large"),
                           Backing{dir.path(), "large"});
  ASSERT_TRUE(small && large);
  const auto below = [](const void* p) { return reinterpret_cast<uintptr_t>(p) < (1u << 31); };
  EXPECT_TRUE(below(small->data()));
  EXPECT_FALSE(below(large->data())) << "a 32 MiB map is not put into the low region";
  auto reopened = open_map(dir.path() + "/small");
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(below(reopened.value()->data()));
  const uint32_t key = 255;
  const uint64_t value = 0x1122334455667788ull;
  ASSERT_EQ(large->update(&key, &value, BPF_ANY), 0);
  ASSERT_EQ(small->update(&key, &value, BPF_ANY), 0);
  EXPECT_EQ(load<uint64_t>(reopened.value()->lookup(&key)), value);
#endif
}

TEST(MapSharedMemory, ForkedProcessReadsAndWritesLive) {
  TempDir dir;
  Backing backing{dir.path(), "counters"};
  auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 4, 8, 64, 0, "counters"), backing);
  ASSERT_TRUE(map);
  ASSERT_EQ(map->path(), dir.path() + "/counters");
  uint32_t key = 7;
  uint64_t value = 0;
  ASSERT_EQ(map->update(&key, &value, BPF_ANY), 0);
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: open by path (not the inherited mapping), wait until the parent wrote 1000, then
    // answer with a new key. Exit code tells the parent what failed.
    auto opened = open_map(dir.path() + "/counters");
    if (!opened) _exit(10);
    auto& m = *opened.value();
    char c;
    if (read(to_child[0], &c, 1) != 1) _exit(11);
    void* v = m.lookup(&key);
    if (v == nullptr || load<uint64_t>(v) != 1000) _exit(12);
    uint32_t k2 = 8;
    uint64_t v2 = 4242;
    if (m.update_copy(&k2, &v2, BPF_NOEXIST) != 0) _exit(13);
    if (m.generation() == 0) _exit(14);
    if (write(to_parent[1], "x", 1) != 1) _exit(15);
    _exit(0);
  }
  for (int i = 0; i < 1000; ++i)
    __atomic_fetch_add(static_cast<uint64_t*>(map->lookup(&key)), 1, __ATOMIC_RELAXED);
  ASSERT_EQ(write(to_child[1], "x", 1), 1);
  char c;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  uint32_t k2 = 8;
  void* v2 = map->lookup(&k2);
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(load<uint64_t>(v2), 4242u);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST(MapSharedMemory, ConcurrentProcessesDoNotLoseUpdates) {
  TempDir dir;
  auto map = must_create(make_spec(BPF_MAP_TYPE_HASH, 4, 8, 4096), Backing{dir.path(), "m"});
  ASSERT_TRUE(map);
  constexpr int kChildren = 2;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto opened = open_map(dir.path() + "/m");
      if (!opened) _exit(10);
      for (uint32_t i = 0; i < 1000; ++i) {
        uint32_t k = c * 1000 + i;
        uint64_t v = k;
        if (opened.value()->update(&k, &v, BPF_NOEXIST) != 0) _exit(11);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (uint32_t i = 0; i < 1000; ++i) {
    uint32_t k = kChildren * 1000 + i;
    uint64_t v = k;
    ASSERT_EQ(map->update(&k, &v, BPF_NOEXIST), 0);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  EXPECT_EQ(map->size(), (kChildren + 1) * 1000u);
  for (uint32_t k = 0; k < (kChildren + 1) * 1000u; ++k) {
    void* v = map->lookup(&k);
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(load<uint64_t>(v), k);
  }
}

TEST(MapSharedMemory, FileOutlivesCreatorAndKeepsContent) {
  TempDir dir;
  std::string path;
  {
    MapSpec spec = make_spec(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 8, BPF_F_NO_PREALLOC, "routes");
    auto map = must_create(spec, Backing{dir.path(), ""});
    ASSERT_TRUE(map);
    path = map->path();
    uint8_t key[8] = {8, 0, 0, 0, 10, 0, 0, 0};
    uint32_t v = 77;
    ASSERT_EQ(map->update(key, &v, BPF_ANY), 0);
  }
  auto reopened = open_map(path);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  EXPECT_EQ(reopened.value()->spec().name, "routes");
  EXPECT_EQ(reopened.value()->spec().type, uint32_t{BPF_MAP_TYPE_LPM_TRIE});
  uint8_t addr[8] = {32, 0, 0, 0, 10, 1, 2, 3};
  void* v = reopened.value()->lookup(addr);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(load<uint32_t>(v), 77u);
  // No temporary file is left behind.
  for (auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos);
  }
}

TEST(MapSharedMemory, RefusesDamagedAndDuplicateFiles) {
  TempDir dir;
  auto map = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 4), Backing{dir.path(), "a"});
  ASSERT_TRUE(map);
  auto again = create_map(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 4), Backing{dir.path(), "a"});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("File exists"), std::string::npos) << again.error().message;

  EXPECT_EQ(open_map(dir.path() + "/missing").error().code, Errc::not_found);
  { std::ofstream(dir.path() + "/small") << "hello"; }
  EXPECT_NE(open_map(dir.path() + "/small").error().message.find("not a userbpf map"),
            std::string::npos);

  // Copy the good file, then damage one field at a time.
  auto damaged = [&](size_t offset, uint32_t word) {
    std::filesystem::copy_file(dir.path() + "/a", dir.path() + "/b",
                               std::filesystem::copy_options::overwrite_existing);
    int fd = open((dir.path() + "/b").c_str(), O_RDWR);
    EXPECT_EQ(pwrite(fd, &word, 4, static_cast<off_t>(offset)), 4);
    close(fd);
    return open_map(dir.path() + "/b");
  };
  EXPECT_FALSE(damaged(0, 0x12345678).ok());  // magic
  EXPECT_FALSE(damaged(8, 99).ok());          // version
  auto not_ready = damaged(12, 0);            // ready flag cleared: a creator died
  ASSERT_FALSE(not_ready.ok());
  EXPECT_NE(not_ready.error().message.find("not initialised"), std::string::npos);
  EXPECT_FALSE(damaged(32, 9999).ok());     // type
  EXPECT_FALSE(damaged(36, 3).ok());        // key_size (array needs 4)
  EXPECT_FALSE(damaged(44, 1 << 20).ok());  // max_entries: size no longer matches
  EXPECT_TRUE(damaged(40, 4).ok());         // untouched value: still fine
}

}  // namespace
}  // namespace userbpf::maps::testing

// bpf_redirect_map in XDP test runs: present and absent keys, the fallback action in the flags'
// low bits, invalid flags, BPF_F_BROADCAST on devmaps and not elsewhere, 64-bit keys truncated
// to the map's u32 key. userbpf's return values are compared with the host kernel's
// BPF_PROG_TEST_RUN of the same object with the maps filled the same way, and userbpf's test
// run must report the chosen map and key.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oracle/skip_without_kernel.hpp"
#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

constexpr char kObject[] = "xdp_redirect_map.bpf.o";
constexpr char kProgram[] = "xdp_redirect_map";

struct Command {
  uint8_t which;
  uint64_t key;
  uint64_t flags;
};

std::vector<uint8_t> packet_for(const Command& c) {
  std::vector<uint8_t> p(64, 0);
  p[12] = 0x08;  // an IPv4 EtherType, irrelevant to the program
  p[14] = c.which;
  std::memcpy(&p[16], &c.key, 8);
  std::memcpy(&p[24], &c.flags, 8);
  return p;
}

struct Entry {
  const char* map;
  uint32_t key;
  std::vector<uint8_t> value;  // an empty value: the AF_XDP socket's fd
};

std::vector<uint8_t> u32s(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> out;
  for (uint32_t w : words) {
    const auto* p = reinterpret_cast<const uint8_t*>(&w);
    out.insert(out.end(), p, p + 4);
  }
  return out;
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> e = {
      {"devs", 0, u32s({1})},  {"devs", 5, u32s({1})}, {"dev_hash", 77, u32s({1, 0})},
      {"cpus", 0, u32s({64})}, {"xsks", 1, {}},
  };
  return e;
}

std::vector<Command> commands() {
  std::vector<Command> c;
  const uint64_t flag_values[] = {0,
                                  1,
                                  2,
                                  3,
                                  4,
                                  BPF_F_BROADCAST,
                                  BPF_F_BROADCAST | 2,
                                  BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS,
                                  BPF_F_EXCLUDE_INGRESS,
                                  1ull << 40};
  const uint64_t keys[] = {0, 1, 3, 5, 77, 100, (1ull << 32) | 5};
  for (uint8_t which = 0; which < 4; ++which) {
    for (uint64_t key : keys) {
      for (uint64_t flags : flag_values) c.push_back({which, key, flags});
    }
  }
  return c;
}

maps::Map* map_named(RunnableProgram& prog, const std::string& name) {
  for (const auto& m : prog.maps()) {
    if (m && m->spec().name == name) return m.get();
  }
  return nullptr;
}

std::string label(const Command& c) {
  return "map " + std::to_string(c.which) + " key " + std::to_string(c.key) + " flags " +
         std::to_string(c.flags);
}

TEST(RedirectMapTestRun, ReportsTargetAndFallback) {
  auto loaded = testing::load_program(kObject, kProgram);
  ASSERT_TRUE(loaded->prog) << loaded->error;
  RunnableProgram& prog = *loaded->prog;
  maps::Map* devs = map_named(prog, "devs");
  ASSERT_NE(devs, nullptr);
  EXPECT_EQ(devs->spec().map_flags, uint32_t{BPF_F_RDONLY_PROG});
  const uint32_t key = 5, lo = 1;
  ASSERT_EQ(devs->update_copy(&key, &lo), 0);

  TestRunInput in;
  in.data_in = packet_for({0, 5, 0});
  auto hit = test_run(prog, in);
  ASSERT_TRUE(hit.ok()) << hit.error().to_string();
  EXPECT_EQ(hit->retval, uint64_t{XDP_REDIRECT});
  EXPECT_TRUE(hit->redirected);
  EXPECT_EQ(hit->redirect_map_type, uint32_t{BPF_MAP_TYPE_DEVMAP});
  EXPECT_EQ(hit->redirect_key, 5u);
  auto record = loaded->rt->map_record(hit->redirect_map_id);
  ASSERT_TRUE(record.ok()) << "no map record with id " << hit->redirect_map_id;
  EXPECT_EQ(record->spec.name, "devs");

  in.data_in = packet_for({0, 6, XDP_TX});
  auto miss = test_run(prog, in);
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(miss->retval, uint64_t{XDP_TX});
  EXPECT_FALSE(miss->redirected);

  in.data_in = packet_for({0, 6, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS});
  auto all = test_run(prog, in);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->retval, uint64_t{XDP_REDIRECT});
  EXPECT_TRUE(all->redirected);
  EXPECT_EQ(all->redirect_flags, uint64_t{BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS});

  in.data_in = packet_for({2, 0, BPF_F_BROADCAST});  // cpumap takes no broadcast
  auto bad = test_run(prog, in);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->retval, uint64_t{XDP_ABORTED});
}

TEST(RedirectMapTestRun, MatchesKernel) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const int xsk = socket(AF_XDP, SOCK_RAW, 0);
  if (xsk < 0) GTEST_SKIP() << "no AF_XDP sockets here";
  // The kernel: libbpf loads only this program, then the maps are filled.
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });
  bpf_object* obj = bpf_object__open_file(testing::runtime_prog(kObject).c_str(), nullptr);
  ASSERT_NE(obj, nullptr);
  ASSERT_EQ(bpf_object__load(obj), 0);
  bpf_program* kprog = bpf_object__find_program_by_name(obj, kProgram);
  ASSERT_NE(kprog, nullptr);

  auto loaded = testing::load_program(kObject, kProgram);
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (const Entry& e : entries()) {
    std::vector<uint8_t> value = e.value.empty() ? u32s({uint32_t(xsk)}) : e.value;
    bpf_map* kmap = bpf_object__find_map_by_name(obj, e.map);
    ASSERT_NE(kmap, nullptr) << e.map;
    ASSERT_EQ(bpf_map__update_elem(kmap, &e.key, 4, value.data(), value.size(), BPF_ANY), 0)
        << e.map;
    maps::Map* ours = map_named(*loaded->prog, e.map);
    ASSERT_NE(ours, nullptr) << e.map;
    ASSERT_EQ(ours->update_copy(&e.key, value.data()), 0) << e.map;
  }
  int compared = 0;
  for (const Command& c : commands()) {
    SCOPED_TRACE(label(c));
    const std::vector<uint8_t> packet = packet_for(c);
    std::vector<uint8_t> out(4096);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = out.data(),
                .data_size_in = uint32_t(packet.size()), .data_size_out = uint32_t(out.size()));
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(kprog), &opts), 0);
    for (bool checked : {true, false}) {
      TestRunInput in;
      in.data_in = packet;
      in.checked = checked;
      auto got = test_run(*loaded->prog, in);
      ASSERT_TRUE(got.ok()) << got.error().to_string();
      EXPECT_EQ(static_cast<uint32_t>(got->retval), opts.retval);
      EXPECT_EQ(got->redirected, opts.retval == XDP_REDIRECT);
    }
    ++compared;
  }
  EXPECT_EQ(compared, 280);
  bpf_object__close(obj);
  close(xsk);
}

}  // namespace
}  // namespace userbpf::runtime

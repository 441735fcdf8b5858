// The JIT's inlined helpers in real programs (tests/runtime/progs/jit_inline.bpf.c), loaded and
// verified by the runtime: the verifier's map at each helper call reaches the JIT
// (RunnableProgram::jit_options), and the interpreter and the JIT, each in its own runtime with
// its own maps, give the same r0, frame and map contents for in-range and out-of-range keys,
// every update flag, and bpf_loop counts that run out, stop early, are 0 or too large.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/jit.hpp"
#include "runtime/test_run_util.hpp"

namespace userbpf::jit::testing {
namespace {

struct Instance {
  std::filesystem::path dir;
  std::optional<runtime::Runtime> rt;
  std::unique_ptr<runtime::RunnableProgram> prog;

  ~Instance() {
    prog.reset();
    rt.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<Instance> instantiate(const std::string& name, runtime::Engine engine) {
  static int counter = 0;
  auto out = std::make_unique<Instance>();
  out->dir = std::filesystem::temp_directory_path() /
             ("userbpf-jit-inline-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(out->dir);
  auto obj = object::open(userbpf::testing::runtime_prog("jit_inline.bpf.o"));
  EXPECT_TRUE(obj.ok()) << obj.error().to_string();
  if (!obj) return nullptr;
  auto rt = runtime::Runtime::open(out->dir);
  EXPECT_TRUE(rt.ok()) << rt.error().to_string();
  if (!rt) return nullptr;
  out->rt.emplace(std::move(*rt));
  out->rt->set_engine(engine);
  runtime::LoadOptions options;
  options.only_program = name;
  auto records = out->rt->load(*obj, options);
  EXPECT_TRUE(records.ok()) << records.error().to_string();
  if (!records) return nullptr;
  auto prog = out->rt->instantiate(records->front());
  EXPECT_TRUE(prog.ok()) << prog.error().to_string();
  if (!prog) return nullptr;
  out->prog = std::move(*prog);
  return out;
}

// Every map's values as bytes, by map name.
std::vector<std::pair<std::string, std::vector<uint8_t>>> map_bytes(
    runtime::RunnableProgram& prog) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (const auto& map : prog.maps()) {
    const maps::MapSpec& spec = map->spec();
    std::vector<uint8_t> bytes;
    for (uint32_t key = 0; key < spec.max_entries; ++key) {
      const auto* value = static_cast<const uint8_t*>(map->lookup(&key));
      if (value) bytes.insert(bytes.end(), value, value + spec.value_size);
    }
    out.emplace_back(spec.name, std::move(bytes));
  }
  return out;
}

class JitInlineMaps : public ::testing::Test {
 protected:
  void load(const std::string& name) {
    if (!jit::available()) GTEST_SKIP() << "the JIT runs on x86-64 only";
    interp_ = instantiate(name, runtime::Engine::interpreter);
    jit_ = instantiate(name, runtime::Engine::jit);
    ASSERT_TRUE(interp_ && jit_);
    ASSERT_EQ(interp_->prog->interpreter().native(), nullptr);
    ASSERT_NE(jit_->prog->interpreter().native(), nullptr);
  }

  // One test run (unchecked, as verified programs run) of `frame` in both engines; maps keep
  // their contents from earlier runs, in both.
  void run_both(const std::vector<uint8_t>& frame, const std::string& what) {
    SCOPED_TRACE(what);
    runtime::TestRunInput in;
    in.data_in = frame;
    in.checked = false;
    auto a = runtime::test_run(*interp_->prog, in);
    auto b = runtime::test_run(*jit_->prog, in);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    EXPECT_EQ(a->retval, b->retval);
    EXPECT_EQ(a->data_out, b->data_out);
    EXPECT_EQ(map_bytes(*interp_->prog), map_bytes(*jit_->prog));
  }

  int64_t result(size_t slot) {
    for (const auto& map : jit_->prog->maps()) {
      if (map->spec().name != "results") continue;
      const uint32_t key = static_cast<uint32_t>(slot);
      int64_t v = 0;
      std::memcpy(&v, map->lookup(&key), sizeof v);
      return v;
    }
    ADD_FAILURE() << "no results map";
    return 0;
  }

  std::unique_ptr<Instance> interp_;
  std::unique_ptr<Instance> jit_;
};

std::vector<uint8_t> frame_with(const std::vector<uint8_t>& bytes) {
  std::vector<uint8_t> frame(64, 0);
  frame[12] = 0x08;  // IPv4, though nothing parses it
  std::copy(bytes.begin(), bytes.end(), frame.begin() + 14);
  return frame;
}

TEST_F(JitInlineMaps, TheVerifiersMapsReachTheJit) {
  load("array_ops");
  // Every lookup and update names one array map on every path: all of them are described.
  const auto& maps = jit_->prog->jit_options().array_maps;
  ASSERT_FALSE(maps.empty());
  for (const InlineArrayMap& m : maps) {
    EXPECT_TRUE(m.max_entries == 8 || m.max_entries == 32);
    EXPECT_EQ(m.stride, m.max_entries == 8 ? 16u : 8u);  // 13-byte values take 16
    EXPECT_EQ(m.value_size, m.max_entries == 8 ? 13u : 8u);
    EXPECT_TRUE(m.plain_values);
  }
  // The record keeps them (instantiate in another process reads them back).
  EXPECT_FALSE(jit_->prog->record().call_maps.empty());
}

// An address below 2 GiB can be in the code as a 4-byte displacement, any other as 8 bytes.
bool code_contains(const vm::NativeCode& code, uint64_t value) {
  const size_t width = value <= uint64_t{INT32_MAX} ? 4 : 8;
  for (size_t i = 0; i + width <= code.code_size; ++i)
    if (std::memcmp(code.code + i, &value, width) == 0) return true;
  return false;
}

// With constant blinding the inlined forms are not used (they would carry the maps' addresses
// as immediates, which Linux blinds): the helpers are called and no map address is in the code.
TEST_F(JitInlineMaps, BlindingKeepsMapAddressesOutOfTheCode) {
  load("array_ops");
  jit::CompileOptions options = jit_->prog->jit_options();
  auto inlined = jit::compile(jit_->prog->interpreter(), options);
  options.blind_constants = true;
  auto blinded = jit::compile(jit_->prog->interpreter(), options);
  ASSERT_TRUE(inlined.ok() && blinded.ok());
  for (const InlineArrayMap& m : options.array_maps) {
    const auto values = reinterpret_cast<uint64_t>(m.values);
    EXPECT_TRUE(code_contains(**inlined, values)) << "inlined: the check works";
    EXPECT_FALSE(code_contains(**blinded, values));
    EXPECT_FALSE(code_contains(**blinded, m.handle));
  }
}

TEST_F(JitInlineMaps, ArrayLookupsAndUpdatesAgree) {
  load("array_ops");
  // {key, flags, payload} x 8: in-range keys with every flag, out-of-range keys (8, 200,
  // 0xffffffff), BPF_NOEXIST, BPF_F_LOCK without a lock, invalid flags.
  const std::vector<std::vector<uint8_t>> frames = {
      {0,    BPF_ANY, 1, 1,   BPF_EXIST, 2, 7, BPF_ANY,     3, 8, BPF_ANY, 4,
       0xff, BPF_ANY, 5, 200, BPF_EXIST, 6, 3, BPF_NOEXIST, 7, 3, BPF_ANY, 8},
      {2, BPF_F_LOCK,  9,  2, 3,           10, 2,    0x80,      11, 4, BPF_EXIST, 12,
       4, BPF_NOEXIST, 13, 8, BPF_NOEXIST, 14, 0xff, BPF_EXIST, 15, 5, BPF_ANY,   16},
      {6, BPF_ANY, 0xff, 6, BPF_ANY, 0xfe, 6,    BPF_EXIST,   0xfd, 0, BPF_ANY, 0,
       1, BPF_ANY, 0,    7, BPF_ANY, 0,    0xff, BPF_NOEXIST, 0,    9, 3,       0},
  };
  for (size_t i = 0; i < frames.size(); ++i)
    run_both(frame_with(frames[i]), "frame " + std::to_string(i));
  // A few answers checked outright (frame 3's ops): an update of key 6 answers 0, of key 0xff
  // -E2BIG... (op 7: key 9, flags 3: -EINVAL), and key 9's lookup fails.
  EXPECT_EQ(result(0), 0);
  EXPECT_EQ(result(6), -E2BIG);
  EXPECT_EQ(result(7), -EINVAL);
  EXPECT_EQ(result(8 + 7), -1);
  EXPECT_EQ(result(8 + 0), 6 * 3 + 0 + 1000);
}

std::vector<uint8_t> loop_frame(uint32_t nr, uint32_t stop) {
  std::vector<uint8_t> b(8);
  std::memcpy(b.data(), &nr, 4);
  std::memcpy(b.data() + 4, &stop, 4);
  return frame_with(b);
}

TEST_F(JitInlineMaps, LoopAgreesForEveryCount) {
  load("loop_ops");
  struct Case {
    uint32_t nr, stop;
    int64_t answer, calls;
  };
  const uint32_t max = 1u << 23;
  const Case cases[] = {
      {0, 5, 0, 0},  {1, 5, 1, 1},   {10, 100, 10, 10},       {10, 3, 4, 4},
      {10, 0, 1, 1}, {max, 2, 3, 3}, {max + 1, 2, -E2BIG, 0}, {0xffffffffu, 0, -E2BIG, 0},
  };
  for (const Case& c : cases) {
    run_both(loop_frame(c.nr, c.stop),
             "nr " + std::to_string(c.nr) + " stop " + std::to_string(c.stop));
    EXPECT_EQ(result(0), c.answer) << "nr " << c.nr << " stop " << c.stop;
    EXPECT_EQ(result(2), c.calls) << "nr " << c.nr << " stop " << c.stop;
  }
}

}  // namespace
}  // namespace userbpf::jit::testing

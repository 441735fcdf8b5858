// userbpf::Object and userbpf::Program: opening, facts, globals, loading, runs, pins, and every
// misuse answered with a precise error.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <array>
#include <cstring>
#include <fstream>

#include "api/api_test_util.hpp"
#include "cli/subprocess.hpp"
#include "userbpf/userbpf.hpp"

namespace userbpf {
namespace {

using api_test::ScratchDir;
using api_test::test_object;

struct ComputeArgs {
  uint32_t input;
  uint32_t pad;
  uint64_t output;
};

std::vector<uint8_t> bytes_of(const ComputeArgs& a) {
  std::vector<uint8_t> out(sizeof(a));
  std::memcpy(out.data(), &a, sizeof(a));
  return out;
}

ComputeArgs args_of(const std::vector<uint8_t>& bytes) {
  ComputeArgs a{};
  EXPECT_EQ(bytes.size(), sizeof(a));
  std::memcpy(&a, bytes.data(), std::min(bytes.size(), sizeof(a)));
  return a;
}

Object open_test_object() {
  auto obj = Object::open(test_object());
  EXPECT_TRUE(obj.ok()) << obj.error().to_string();
  return std::move(obj).value();
}

TEST(ApiObject, OpenMissingFileIsAnIoErrorNamingThePath) {
  auto obj = Object::open("/nonexistent/dir/prog.bpf.o");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().code, Errc::io);
  EXPECT_NE(obj.error().to_string().find("/nonexistent/dir/prog.bpf.o"), std::string::npos)
      << obj.error().to_string();
  // The same with an object name given (the file is read by the API then).
  auto named = Object::open("/nonexistent/dir/prog.bpf.o", {.object_name = "x"});
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().code, Errc::io);
  EXPECT_NE(named.error().to_string().find("/nonexistent/dir/prog.bpf.o"), std::string::npos);
}

TEST(ApiObject, OpenNonElfIsRefused) {
  ScratchDir dir;
  const auto path = dir.path() / "not_elf.o";
  std::ofstream(path) << "this is not an ELF file\n";
  auto obj = Object::open(path);
  ASSERT_FALSE(obj.ok());
  EXPECT_NE(obj.error().code, Errc::io);
}

TEST(ApiObject, ProgramsMapsAndGlobalsBeforeLoad) {
  Object obj = open_test_object();
  EXPECT_EQ(obj.name(), "api_test");
  EXPECT_EQ(obj.license(), "GPL");
  EXPECT_FALSE(obj.loaded());

  auto progs = obj.programs();
  ASSERT_EQ(progs.size(), 2u);
  EXPECT_EQ(progs[0].name(), "compute");
  EXPECT_EQ(progs[0].section(), "syscall");
  EXPECT_EQ(progs[0].type(), static_cast<uint32_t>(BPF_PROG_TYPE_SYSCALL));
  EXPECT_EQ(progs[1].name(), "xdp_mark");
  EXPECT_EQ(progs[1].type_name(), "xdp");
  EXPECT_GT(progs[1].insn_count(), 3u);
  EXPECT_FALSE(progs[1].loaded());
  EXPECT_EQ(progs[1].id(), 0u);

  auto table = obj.map_info("table");
  ASSERT_TRUE(table.ok()) << table.error().to_string();
  EXPECT_EQ(table->type, static_cast<uint32_t>(BPF_MAP_TYPE_HASH));
  EXPECT_EQ(table->key_size, 4u);
  EXPECT_EQ(table->value_size, 8u);
  EXPECT_EQ(table->max_entries, 64u);
  EXPECT_FALSE(table->internal);
  EXPECT_EQ(table->id, 0u);
  size_t internal = 0;
  for (const auto& m : obj.maps()) internal += m.internal;
  EXPECT_EQ(internal, 3u);  // .rodata, .data, .bss

  auto globals = obj.globals();
  ASSERT_EQ(globals.size(), 4u);
  for (const auto& g : globals) {
    if (g.name == "multiplier") {
      EXPECT_TRUE(g.read_only);
      EXPECT_EQ(g.section, ".rodata");
      EXPECT_EQ(g.size, 4u);
    } else if (g.name == "calls") {
      EXPECT_FALSE(g.read_only);
      EXPECT_EQ(g.section, ".data");
    } else if (g.name == "last_result") {
      EXPECT_EQ(g.section, ".bss");
      EXPECT_EQ(g.size, 8u);
    } else {
      EXPECT_EQ(g.name, "offset_value");
    }
  }
  EXPECT_EQ(*obj.global<uint32_t>("multiplier"), 3u);
  EXPECT_EQ(*obj.global<uint64_t>("offset_value"), 1000u);
  EXPECT_EQ(*obj.global<uint32_t>("calls"), 5u);
  EXPECT_EQ(*obj.global<uint64_t>("last_result"), 0u);  // .bss starts zeroed
  // bpf_printk's format string is a static variable in .rodata: not a global of the object.
  auto fmt = obj.global("compute.____fmt");
  EXPECT_EQ(fmt.error().code, Errc::not_found);
}

TEST(ApiObject, UnknownNamesAreNotFound) {
  Object obj = open_test_object();
  auto prog = obj.program("nope");
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().code, Errc::not_found);
  EXPECT_EQ(prog.error().message, "object 'api_test': no program 'nope'");
  EXPECT_EQ(prog.error().where.file, test_object());

  auto map = obj.map_info("nope");
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.error().code, Errc::not_found);
  EXPECT_EQ(map.error().message, "object 'api_test': no map 'nope'");
  EXPECT_EQ(obj.map("nope").error().code, Errc::not_found);

  auto set = obj.set_global("nope", uint32_t{1});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, Errc::not_found);
  EXPECT_EQ(set.error().message, "object 'api_test': no global variable 'nope'");
  EXPECT_EQ(obj.global("nope").error().code, Errc::not_found);
  EXPECT_EQ(obj.set_max_entries("nope", 8).error().code, Errc::not_found);
}

TEST(ApiObject, GlobalOfTheWrongSizeIsRefused) {
  Object obj = open_test_object();
  auto set = obj.set_global("multiplier", uint64_t{7});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, Errc::invalid_argument);
  EXPECT_EQ(set.error().message, "object 'api_test': variable 'multiplier' has 4 bytes, not 8");
  const std::array<uint8_t, 2> two{1, 2};
  EXPECT_EQ(obj.set_global("multiplier", two).error().code, Errc::invalid_argument);
  auto read = obj.global<uint16_t>("multiplier");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message, "variable 'multiplier' has 4 bytes, not 2");
  EXPECT_EQ(*obj.global<uint32_t>("multiplier"), 3u);  // unchanged by the refused writes
}

TEST(ApiObject, UseBeforeLoadIsRefused) {
  Object obj = open_test_object();
  auto map = obj.map("table");
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.error().code, Errc::invalid_argument);
  EXPECT_NE(map.error().message.find("call load() first"), std::string::npos);
  auto run = obj.program("xdp_mark")->run_packet(std::vector<uint8_t>(16));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().message,
            "object 'api_test': program 'xdp_mark' is not loaded: a test run needs "
            "Object::load() first");
  EXPECT_FALSE(obj.program("xdp_mark")->pin("/sys/fs/bpf/x").ok());
  EXPECT_FALSE(obj.pin_map("table", "/sys/fs/bpf/x").ok());
  EXPECT_EQ(obj.runtime().error().code, Errc::not_found);
}

TEST(ApiObject, GlobalsSetBeforeLoadReachThePrograms) {
  Object obj = open_test_object();
  ASSERT_TRUE(obj.set_global("multiplier", uint32_t{7}).ok());
  ASSERT_TRUE(obj.set_global("offset_value", uint64_t{5}).ok());
  ASSERT_TRUE(obj.set_global("last_result", uint64_t{99}).ok());  // .bss may be set too
  ASSERT_TRUE(obj.load().ok());
  EXPECT_EQ(*obj.global<uint64_t>("last_result"), 99u);

  auto compute = obj.program("compute");
  ASSERT_TRUE(compute.ok());
  auto r = compute->run_context(bytes_of({.input = 6, .pad = 0, .output = 0}));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->retval, 47u);  // 6 * 7 + 5
  EXPECT_EQ(args_of(r->ctx_out).output, 47u);
  // After load, globals read the live memory the program wrote.
  EXPECT_EQ(*obj.global<uint64_t>("last_result"), 47u);
  EXPECT_EQ(*obj.global<uint32_t>("calls"), 6u);
  EXPECT_EQ(*obj.global<uint32_t>("multiplier"), 7u);

  auto after = obj.set_global("multiplier", uint32_t{2});
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, Errc::invalid_argument);
  EXPECT_NE(after.error().message.find("is set before load, the object is loaded"),
            std::string::npos)
      << after.error().message;
  EXPECT_EQ(*obj.global<uint32_t>("multiplier"), 7u);
}

TEST(ApiObject, LoadsOnceAndReportsIds) {
  Object obj = open_test_object();
  ASSERT_TRUE(obj.load().ok());
  EXPECT_TRUE(obj.loaded());
  auto again = obj.load();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "object 'api_test': the object is already loaded");
  for (const auto& p : obj.programs()) {
    EXPECT_TRUE(p.loaded());
    EXPECT_GT(p.id(), 0u);
  }
  for (const auto& m : obj.maps()) EXPECT_GT(m.id, 0u) << m.name;
  auto rt = obj.runtime();
  ASSERT_TRUE(rt.ok());
  EXPECT_TRUE(rt->is_private());
}

TEST(ApiObject, SetMaxEntriesBeforeLoad) {
  Object obj = open_test_object();
  ASSERT_TRUE(obj.set_max_entries("table", 128).ok());
  EXPECT_EQ(obj.map_info("table")->max_entries, 128u);
  auto zero = obj.set_max_entries("table", 0);
  EXPECT_EQ(zero.error().code, Errc::invalid_argument);
  EXPECT_NE(zero.error().message.find("must not be 0"), std::string::npos);
  auto internal = obj.set_max_entries(obj.maps().back().name, 4);
  EXPECT_NE(internal.error().message.find("holds global data"), std::string::npos);
  ASSERT_TRUE(obj.load().ok());
  EXPECT_EQ((*obj.map("table"))->spec().max_entries, 128u);
  auto late = obj.set_max_entries("table", 256);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("the object is loaded"), std::string::npos);
}

TEST(ApiProgram, XdpRunGivesRetvalPacketAndDuration) {
  Object obj = open_test_object();
  ASSERT_TRUE(obj.load().ok());
  auto xdp = obj.program("xdp_mark");
  std::vector<uint8_t> frame(60, 0x11);
  auto r = xdp->run_packet(frame, 10);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->retval, 60u);
  ASSERT_EQ(r->data_out.size(), 60u);
  EXPECT_EQ(r->data_out[0], 0xab);
  EXPECT_EQ(r->data_out[1], 0x11);
  EXPECT_FALSE(r->redirected);

  RunOptions opts;
  opts.data_in.assign(14, 0);  // the smallest frame Linux's XDP test run takes
  opts.checked = false;
  auto small = xdp->run(opts);
  ASSERT_TRUE(small.ok()) << small.error().to_string();
  EXPECT_EQ(small->retval, 14u);

  // The test run's own input checks: an XDP run without a packet.
  auto empty = xdp->run(RunOptions{});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::invalid_argument);
  EXPECT_NE(empty.error().message.find("xdp_mark"), std::string::npos) << empty.error().message;
}

TEST(ApiProgram, HandlesOutliveTheirObject) {
  std::optional<Program> prog;
  std::filesystem::path dir;
  {
    Object obj = open_test_object();
    ASSERT_TRUE(obj.load().ok());
    prog = *obj.program("xdp_mark");
    dir = obj.runtime()->state_dir();
  }
  EXPECT_TRUE(std::filesystem::exists(dir));
  auto r = prog->run_packet(std::vector<uint8_t>(20));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->retval, 20u);
  prog.reset();
  // The last handle took the private runtime's directory with it.
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(ApiRuntime, TraceLinesOfTheRuns) {
  Object obj = open_test_object();
  ASSERT_TRUE(obj.load().ok());
  ASSERT_TRUE(obj.program("compute")->run_context(bytes_of({.input = 2, .pad = 0, .output = 0})));
  auto line = obj.runtime()->read_trace(std::chrono::milliseconds(1000));
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find(": bpf_trace_printk: compute 2 -> 1006\n"), std::string::npos) << *line;
  EXPECT_FALSE(obj.runtime()->read_trace().has_value());
}

// A program loaded through the API into the shared state directory is what the CLI lists.
TEST(ApiRuntime, SharedRuntimeIsWhatTheCliSees) {
  ScratchDir dir;
  auto rt = Runtime::open(dir.path());
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  EXPECT_FALSE(rt->is_private());
  EXPECT_EQ(rt->state_dir(), dir.path());
  Object obj = open_test_object();
  ASSERT_TRUE(obj.load(*rt).ok());
  const uint32_t id = obj.program("xdp_mark")->id();
  const std::string cli = std::string(USERBPF_BIN_DIR) + "/userbpf";
  auto shown = testing::run_process(
      cli, {"--state-dir", dir.path().string(), "prog", "show", "id", std::to_string(id)});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(std::to_string(id) + ": xdp  name xdp_mark"), std::string::npos)
      << shown.out;

  ASSERT_TRUE(obj.program("xdp_mark")->pin("/sys/fs/bpf/api_xdp").ok());
  ASSERT_TRUE(obj.pin_map("table", "/sys/fs/bpf/api_table").ok());
  auto table = obj.map("table");
  ASSERT_TRUE(update(**table, uint32_t{9}, uint64_t{81}).ok());
  auto dumped =
      testing::run_process(cli, {"--state-dir", dir.path().string(), "-j", "map", "lookup",
                                 "pinned", "/sys/fs/bpf/api_table", "key", "9", "0", "0", "0"});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  EXPECT_NE(dumped.out.find("81"), std::string::npos) << dumped.out;
  auto pinned = testing::run_process(
      cli, {"--state-dir", dir.path().string(), "prog", "show", "pinned", "/sys/fs/bpf/api_xdp"});
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  EXPECT_NE(pinned.out.find("name xdp_mark"), std::string::npos) << pinned.out;
  auto twice = obj.program("xdp_mark")->pin("/sys/fs/bpf/api_xdp");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("File exists"), std::string::npos);
}

TEST(ApiObject, OpenMemoryAndObjectName) {
  std::ifstream in(test_object(), std::ios::binary);
  std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)), {});
  auto obj = Object::open_memory(image, "in_memory.o");
  ASSERT_TRUE(obj.ok()) << obj.error().to_string();
  EXPECT_EQ(obj->name(), "in_memory");
  EXPECT_EQ(obj->path(), "in_memory.o");
  bool renamed = false;
  auto named = Object::open(test_object(), {.object_name = "custom"});
  ASSERT_TRUE(named.ok()) << named.error().to_string();
  EXPECT_EQ(named->name(), "custom");
  EXPECT_EQ(named->path(), test_object());
  for (const auto& m : named->maps()) renamed |= m.name == "custom.rodata";
  EXPECT_TRUE(renamed);
  EXPECT_FALSE(Object::open_memory(std::span<const uint8_t>(image.data(), 10), "cut.o").ok());
}

}  // namespace
}  // namespace userbpf

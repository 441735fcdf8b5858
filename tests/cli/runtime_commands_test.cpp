// The bpftool commands over the runtime, run as separate `userbpf` processes against a temporary
// state directory: loading and pinning (the tutorial flow), listing, running loaded programs and
// objects, trace_pipe in a concurrent process, map commands on maps loaded from an object, btf
// dump (compared with the host's bpftool when it is installed) and the error cases.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/background_process.hpp"
#include "cli/subprocess.hpp"
#include "object/object.hpp"
#include "runtime/tag.hpp"

namespace userbpf::cli {
namespace {

using testing::BackgroundProcess;
using testing::ProcessResult;
namespace fs = std::filesystem;

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kObjects = USERBPF_BPF_OBJECT_DIR;
const std::string kHello = kObjects + "/seed/hello_kern.o";
const std::string kLegacyMaps = kObjects + "/legacy_maps.bpf.o";
constexpr int kFailure = 255;

class RuntimeCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary << " is missing: build the userbpf target";
    ASSERT_TRUE(fs::exists(kHello)) << kHello << " is missing";
    char pattern[] = "/tmp/userbpf-cli-rt-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    state_ = dir_ + "/state";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs userbpf with --state-dir pointing at this test's state directory.
  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return testing::run_process(kBinary, args);
  }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  void expect_error(const ProcessResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, kFailure);
    EXPECT_EQ(r.err, "Error: " + message + "\n");
    EXPECT_EQ(r.out, "");
  }

  std::string dir_;
  std::string state_;
};

const std::regex kReturnLine(R"(^Return value: (\d+), duration(?: \(average\))?: \d+ns\n$)");

// The whole tutorial: load and pin in one process, list, run and read the trace in others.
TEST_F(RuntimeCommands, TutorialFlow) {
  const ProcessResult load = run({"prog", "load", kHello, "/sys/fs/bpf/hello"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "");

  const ProcessResult list = run({"prog", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto obj = object::open(kHello);
  ASSERT_TRUE(obj) << obj.error().to_string();
  const std::string tag = runtime::program_tag(obj->programs.at(0).insns);
  const std::regex listing(
      "^(\\d+): tracepoint  name hello  tag " + tag +
      "  gpl\n"
      "\tloaded_at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d{4}  uid \\d+\n"
      "\txlated (\\d+)B  not jited  memlock 4096B(  map_ids [0-9,]+)?\n"
      "\tpinned /sys/fs/bpf/hello\n$");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(list.out, m, listing)) << list.out;
  const std::string id = m[1];
  EXPECT_EQ(std::stoul(m[2].str()), obj->programs.at(0).insns.size() * 8);

  BackgroundProcess pipe(kBinary, {"--state-dir", state_, "trace_pipe"});
  const ProcessResult by_pin = run({"prog", "run", "pinned", "/sys/fs/bpf/hello", "ctx_in",
                                    write("rec", std::string(64, '\0'))});
  ASSERT_EQ(by_pin.exit_code, 0) << by_pin.err;
  EXPECT_TRUE(std::regex_match(by_pin.out, m, kReturnLine)) << by_pin.out;
  EXPECT_EQ(m[1], "0");
  const std::string line = "bpf_trace_printk: Hello, eBPF World!\n";
  const std::string traced = pipe.read_until(line, 10000);
  const std::regex trace_line(
      R"(^ *userbpf-\d+ +\[\d{3}\] d\.\.1\. +\d+\.\d{6}: bpf_trace_printk: Hello, eBPF World!\n$)");
  EXPECT_TRUE(std::regex_match(traced, trace_line)) << traced;

  const ProcessResult by_id = run({"prog", "run", "id", id, "repeat", "3"});
  ASSERT_EQ(by_id.exit_code, 0) << by_id.err;
  EXPECT_TRUE(by_id.out.starts_with("Return value: 0, duration (average): ")) << by_id.out;
  std::string three = pipe.read_until("Hello, eBPF World!\n", 10000);
  for (int i = 0; i < 10 && std::count(three.begin(), three.end(), '\n') < 4; ++i)
    three = pipe.read_until("impossible", 200);
  EXPECT_EQ(std::count(three.begin(), three.end(), '\n'), 4) << three;
  EXPECT_EQ(pipe.stop(SIGTERM), 0);  // ends cleanly on SIGTERM
}

TEST_F(RuntimeCommands, ShowJsonAndHandles) {
  ASSERT_EQ(run({"prog", "load", kHello, "/sys/fs/bpf/hello"}).exit_code, 0);
  const ProcessResult all = run({"-j", "prog", "show"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const auto list = nlohmann::json::parse(all.out);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  const auto& p = list[0];
  EXPECT_EQ(p.at("type"), "tracepoint");
  EXPECT_EQ(p.at("name"), "hello");
  EXPECT_EQ(p.at("gpl_compatible"), true);
  EXPECT_EQ(p.at("jited"), false);
  EXPECT_TRUE(p.at("loaded_at").is_number_unsigned());
  EXPECT_EQ(p.at("bytes_memlock"), 4096);
  EXPECT_EQ(p.at("pinned"), nlohmann::json::array({"/sys/fs/bpf/hello"}));
  const std::string id = std::to_string(p.at("id").get<uint32_t>());
  const std::string tag = p.at("tag");

  // Each handle names the same program; a lone program is an object, not an array.
  for (const std::vector<std::string>& handle : {std::vector<std::string>{"id", id},
                                                 {"name", "hello"},
                                                 {"tag", tag},
                                                 {"pinned", "/sys/fs/bpf/hello"}}) {
    std::vector<std::string> args{"-j", "prog", "show"};
    args.insert(args.end(), handle.begin(), handle.end());
    const ProcessResult one = run(args);
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_EQ(nlohmann::json::parse(one.out), p) << handle[0];
  }
  // A second pin of the same program shows up in the listing.
  ASSERT_EQ(run({"prog", "pin", "id", id, "/sys/fs/bpf/again"}).exit_code, 0);
  const ProcessResult shown = run({"prog", "show", "id", id});
  EXPECT_NE(shown.out.find("\tpinned /sys/fs/bpf/again\n"), std::string::npos) << shown.out;
}

TEST_F(RuntimeCommands, Errors) {
  expect_error(run({"prog", "show", "id", "999"}),
               "can't get prog by id (999): No such file or directory");
  expect_error(run({"map", "show", "id", "999"}),
               "can't get map by id (999): No such file or directory");
  expect_error(run({"prog", "show", "pinned", "/sys/fs/bpf/nothing"}),
               "bpf obj get (/sys/fs/bpf/nothing): No such file or directory");
  expect_error(run({"prog", "show", "idx", "1"}),
               "expected 'id', 'tag', 'name' or 'pinned', got: 'idx'?");
  expect_error(run({"prog", "load", dir_ + "/missing.o", "/sys/fs/bpf/x"}),
               dir_ + "/missing.o: cannot open: No such file or directory");
  ASSERT_EQ(run({"prog", "load", kHello, "/sys/fs/bpf/hello"}).exit_code, 0);
  expect_error(run({"prog", "load", kHello, "/sys/fs/bpf/hello"}),
               "can't pin the object (/sys/fs/bpf/hello): File exists");
  expect_error(run({"prog", "show", "pinned", "/sys/fs/bpf/hello", "extra"}),
               "unexpected argument 'extra'");
  expect_error(run({"map", "show", "pinned", "/sys/fs/bpf/hello"}), "incorrect object type: prog");
  // The failed second load did not leave a program behind once its process ended.
  const ProcessResult list = run({"-j", "prog", "list"});
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 1u) << list.out;
}

// `prog run OBJ`: the program is loaded for the run and gone when the command ends.
TEST_F(RuntimeCommands, RunObjectDirectly) {
  const ProcessResult r = run({"prog", "run", kHello});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, kReturnLine)) << r.out;
  const ProcessResult json = run({"-j", "prog", "run", kHello, "--prog", "hello"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out).at("retval"), 0);
  expect_error(run({"prog", "run", kHello, "--prog", "nope"}),
               kHello + ": no program 'nope' in the object");
  // Both runs' messages are in the trace buffer for a later reader.
  BackgroundProcess pipe(kBinary, {"--state-dir", state_, "trace_pipe"});
  std::string text = pipe.read_until("World!\n", 10000);
  for (int i = 0; i < 10 && std::count(text.begin(), text.end(), '\n') < 2; ++i)
    text = pipe.read_until("impossible", 200);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(pipe.stop(SIGINT), 0);
  const ProcessResult list = run({"prog", "list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.out, "");
}

// --engine picks the engine of verified programs; both run the object the same way, and an
// unknown engine is refused before anything runs.
TEST_F(RuntimeCommands, RunObjectInEitherEngine) {
  for (const char* engine : {"interp", "jit"}) {
    const ProcessResult r = run({"--engine", engine, "prog", "run", kHello});
    ASSERT_EQ(r.exit_code, 0) << engine << ": " << r.err;
    EXPECT_TRUE(std::regex_match(r.out, kReturnLine)) << r.out;
    const ProcessResult checked = run({"prog", "run", kHello, "--checked", "--engine", engine});
    ASSERT_EQ(checked.exit_code, 0) << engine << ": " << checked.err;
  }
  expect_error(run({"--engine", "llvm", "prog", "run", kHello}),
               "unknown engine 'llvm' (expected interp or jit)");
}

// A raw/asm program calling trace_printk (helper 6) through Linux's helper table.
TEST_F(RuntimeCommands, RawProgramTracePrintk) {
  const std::string prog = write("p.asm",
                                 "mov %r1, 0x216968\n"  // "hi!\0"
                                 "stxw [%r10-4], %r1\n"
                                 "mov %r1, %r10\n"
                                 "add %r1, -4\n"
                                 "mov %r2, 4\n"
                                 "call 6\n"
                                 "mov %r0, 9\n"
                                 "exit\n");
  const ProcessResult r = run({"prog", "run", prog});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 16), "Return value: 9,");
  BackgroundProcess pipe(kBinary, {"--state-dir", state_, "prog", "tracelog"});
  const std::string text = pipe.read_until("\n", 10000);
  EXPECT_NE(text.find(": bpf_trace_printk: hi!\n"), std::string::npos) << text;
  EXPECT_EQ(pipe.stop(SIGTERM), 0);
}

TEST_F(RuntimeCommands, MapCommands) {
  ASSERT_EQ(run({"prog", "load", kLegacyMaps, "/sys/fs/bpf/lm", "pinmaps", "/sys/fs/bpf/lmaps"})
                .exit_code,
            0);
  const ProcessResult maps = run({"-j", "map", "list"});
  ASSERT_EQ(maps.exit_code, 0) << maps.err;
  const auto list = nlohmann::json::parse(maps.out);
  ASSERT_EQ(list.size(), 2u) << maps.out;
  EXPECT_EQ(list[0].at("name"), "legacy_hash");
  EXPECT_EQ(list[0].at("type"), "hash");
  EXPECT_EQ(list[0].at("bytes_key"), 4);
  EXPECT_EQ(list[0].at("bytes_value"), 8);
  EXPECT_EQ(list[0].at("max_entries"), 128);
  EXPECT_EQ(list[0].at("pinned"), nlohmann::json::array({"/sys/fs/bpf/lmaps/legacy_hash"}));
  const std::string hash_id = std::to_string(list[0].at("id").get<uint32_t>());

  const ProcessResult shown = run({"map", "show", "name", "legacy_array"});
  EXPECT_TRUE(
      std::regex_match(shown.out, std::regex("^\\d+: array  name legacy_array  flags 0x0\n"
                                             "\tkey 4B  value 8B  max_entries 2  memlock 4096B\n"
                                             "\tpinned /sys/fs/bpf/lmaps/legacy_array\n$")))
      << shown.out;

  // The program increments key 0 when it exists: update, run twice, read back.
  ASSERT_EQ(run({"map", "update", "id", hash_id, "key", "0", "0", "0", "0", "value", "hex", "28",
                 "00", "00", "00", "00", "00", "00", "00"})
                .exit_code,
            0);
  ASSERT_EQ(run({"prog", "run", "pinned", "/sys/fs/bpf/lm", "repeat", "2"}).exit_code, 0);
  const ProcessResult lookup = run(
      {"map", "lookup", "pinned", "/sys/fs/bpf/lmaps/legacy_hash", "key", "0x0", "0", "0", "0"});
  ASSERT_EQ(lookup.exit_code, 0) << lookup.err;
  EXPECT_EQ(lookup.out, "key: 00 00 00 00  value: 2a 00 00 00 00 00 00 00\n");

  ASSERT_EQ(run({"map", "update", "id", hash_id, "key", "7", "0", "0", "0", "value", "1", "2", "3",
                 "4", "5", "6", "7", "8", "noexist"})
                .exit_code,
            0);
  expect_error(run({"map", "update", "id", hash_id, "key", "7", "0", "0", "0", "value", "1", "2",
                    "3", "4", "5", "6", "7", "8", "noexist"}),
               "update failed: File exists");
  const ProcessResult dump = run({"map", "dump", "id", hash_id});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_NE(dump.out.find("key: 00 00 00 00  value: 2a 00 00 00 00 00 00 00\n"), std::string::npos);
  EXPECT_NE(dump.out.find("key: 07 00 00 00  value: 01 02 03 04 05 06 07 08\n"), std::string::npos);
  EXPECT_TRUE(dump.out.ends_with("Found 2 elements\n")) << dump.out;
  const ProcessResult json = run({"-j", "map", "dump", "name", "legacy_hash"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto entries = nlohmann::json::parse(json.out);
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    if (e.at("key")[0] != "0x07") continue;
    EXPECT_EQ(e.at("key"), nlohmann::json::array({"0x07", "0x00", "0x00", "0x00"}));
    EXPECT_EQ(e.at("value"), nlohmann::json::array(
                                 {"0x01", "0x02", "0x03", "0x04", "0x05", "0x06", "0x07", "0x08"}));
  }

  const ProcessResult first = run({"map", "getnext", "id", hash_id});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(first.out.starts_with("key: None\nnext key:\n")) << first.out;

  ASSERT_EQ(run({"map", "delete", "id", hash_id, "key", "7", "0", "0", "0"}).exit_code, 0);
  const ProcessResult gone = run({"map", "lookup", "id", hash_id, "key", "7", "0", "0", "0"});
  EXPECT_EQ(gone.out, "key:\n07 00 00 00\n\nNot found\n");
  const ProcessResult gone_json =
      run({"-j", "map", "lookup", "id", hash_id, "key", "7", "0", "0", "0"});
  EXPECT_EQ(gone_json.out, "null\n");
  expect_error(run({"map", "delete", "id", hash_id, "key", "7", "0", "0", "0"}),
               "delete failed: No such file or directory");

  // Bad key sizes and bytes.
  expect_error(run({"map", "lookup", "id", hash_id, "key", "1", "2"}),
               "key expected 4 bytes got 2");
  expect_error(run({"map", "lookup", "id", hash_id, "key", "1", "2", "3", "zz"}),
               "error parsing byte: zz");
  expect_error(run({"map", "update", "id", hash_id, "key", "1", "2", "3", "4", "value", "1"}),
               "value expected 8 bytes got 1");
  expect_error(run({"map", "peek", "id", hash_id}),
               "peek is only for queue and stack maps, not hash");

  ASSERT_EQ(run({"map", "pin", "id", hash_id, "/sys/fs/bpf/h2"}).exit_code, 0);
  expect_error(run({"map", "pin", "id", hash_id, "/sys/fs/bpf/h2"}),
               "can't pin the object (/sys/fs/bpf/h2): File exists");
  const ProcessResult by_pin =
      run({"map", "lookup", "pinned", "/sys/fs/bpf/h2", "key", "0", "0", "0", "0"});
  EXPECT_EQ(by_pin.out, lookup.out);
}

TEST_F(RuntimeCommands, DumpXlatedWithSourceLines) {
  ASSERT_EQ(run({"prog", "load", kLegacyMaps, "/sys/fs/bpf/lm"}).exit_code, 0);
  const ProcessResult maps = run({"-j", "map", "list"});
  const auto list = nlohmann::json::parse(maps.out);
  ASSERT_EQ(list.size(), 2u);
  const ProcessResult dump = run({"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/lm"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  // bpftool prints the function's BTF signature (func_info) before its first instruction.
  EXPECT_TRUE(dump.out.starts_with(
      "int legacy_prog(void * ctx):\n; int legacy_prog(void *ctx) {\n   0: (b7) r1 = 0\n"))
      << dump.out;
  EXPECT_NE(dump.out.find("; int key = 0;\n   1: (63) *(u32 *)(r10 -4) = r1\n"), std::string::npos);
  EXPECT_NE(dump.out.find("(18) r1 = map[id:" + std::to_string(list[0].at("id").get<int>()) + "]"),
            std::string::npos)
      << dump.out;
  EXPECT_TRUE(dump.out.ends_with("  17: (95) exit\n")) << dump.out;

  const ProcessResult linum = run({"prog", "dump", "xlated", "name", "legacy_prog", "linum"});
  EXPECT_NE(linum.out.find("; int key = 0; [file:"), std::string::npos);
  EXPECT_NE(linum.out.find("legacy_maps.bpf.c line_num:35 line_col:7]\n"), std::string::npos)
      << linum.out;
  const ProcessResult json = run({"-j", "prog", "dump", "xlated", "name", "legacy_prog", "linum"});
  const auto insns = nlohmann::json::parse(json.out);
  ASSERT_EQ(insns.size(), 16u);  // 18 slots, two lddw
  EXPECT_EQ(insns[1].at("src"), "int key = 0;");
  EXPECT_EQ(insns[1].at("line_num"), 35);
  EXPECT_EQ(insns[1].at("disasm"), "(63) *(u32 *)(r10 -4) = r1");
}

// btf dump file: the raw listing and the C header equal the host bpftool's when it is installed
// (bpftool before 7.3 prints no __ksym/__weak block, which is dropped for the comparison).
TEST_F(RuntimeCommands, BtfDumpMatchesBpftool) {
  const ProcessResult raw = run({"btf", "dump", "file", kLegacyMaps});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_NE(raw.out.find("] STRUCT 'bpf_map_def' size=20 vlen=5\n\t'type' type_id="),
            std::string::npos)
      << raw.out;
  const ProcessResult c = run({"btf", "dump", "file", kLegacyMaps, "format", "c"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("struct bpf_map_def {\n\tunsigned int type;\n"), std::string::npos);
  expect_error(run({"btf", "dump", "file", kLegacyMaps, "format", "x"}),
               "unrecognized format specifier: 'x', possible values: raw, c");

  const std::string bpftool = fs::exists("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : "";
  if (bpftool.empty()) GTEST_SKIP() << "no bpftool to compare with";
  for (const std::string& object :
       {kLegacyMaps, kObjects + "/core.bpf.o", kObjects + "/subprogs.bpf.o",
        kObjects + "/map_in_map.bpf.o", kObjects + "/sections.bpf.o"}) {
    const ProcessResult theirs = testing::run_process(bpftool, {"btf", "dump", "file", object});
    const ProcessResult ours = run({"btf", "dump", "file", object});
    EXPECT_EQ(ours.out, theirs.out) << object;
    const ProcessResult their_c =
        testing::run_process(bpftool, {"btf", "dump", "file", object, "format", "c"});
    std::string our_c = run({"btf", "dump", "file", object, "format", "c"}).out;
    if (their_c.out.find("__ksym") == std::string::npos) {
      for (const std::string block :
           {"#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\n",
            "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n"}) {
        const size_t at = our_c.find(block);
        ASSERT_NE(at, std::string::npos);
        our_c.erase(at, block.size());
      }
    }
    EXPECT_EQ(our_c, their_c.out) << object;
  }
}

}  // namespace
}  // namespace userbpf::cli

// Runs the built `userbpf` binary as a user would and checks exit status, stdout and stderr.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/subprocess.hpp"

namespace userbpf::cli {
namespace {

using testing::ProcessResult;
namespace fs = std::filesystem;

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kShared = USERBPF_SHARED_DIR;
constexpr int kFailure = 255;

// Sums the bytes of the data: r1 = data, r2 = length.
constexpr const char* kSumAsm =
    "# sum of the bytes at r1, r2 of them\n"
    "mov %r0, 0\n"
    "loop:\n"
    "jeq %r2, 0, done\n"
    "ldxb %r3, [%r1]\n"
    "add %r0, %r3\n"
    "add %r1, 1\n"
    "sub %r2, 1\n"
    "ja loop\n"
    "done:\n"
    "exit\n";

class CliBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary << " is missing: build the userbpf target";
    char pattern[] = "/tmp/userbpf-cli-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  ProcessResult run(std::vector<std::string> args, const std::string& stdin_text = "") {
    return testing::run_process(kBinary, args, stdin_text);
  }

  std::string dir_;
};

// Checks a failure: exit status, the exact stderr line, nothing on stdout.
void expect_error(const ProcessResult& r, const std::string& message) {
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_EQ(r.err, "Error: " + message + "\n");
  EXPECT_EQ(r.out, "");
}

uint64_t plain_retval(const std::string& out) {
  static const std::regex line(R"(^Return value: (\d+), duration(?: \(average\))?: \d+ns\n$)");
  std::smatch m;
  if (!std::regex_match(out, m, line)) {
    ADD_FAILURE() << "unexpected output: " << out;
    return ~0ull;
  }
  return std::stoull(m[1]);
}

TEST_F(CliBinary, RunAssemblyPrintsBpftoolLine) {
  const std::string prog = write("p.asm", "mov %r0, 42\nexit\n");
  const ProcessResult r = run({"prog", "run", prog});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(plain_retval(r.out), 42u);
  EXPECT_EQ(r.err, "");
}

TEST_F(CliBinary, PrefixesSelectObjectAndCommand) {
  const std::string prog = write("p.asm", "mov %r0, 7\nexit\n");
  const ProcessResult r = run({"p", "r", prog});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(plain_retval(r.out), 7u);
  const ProcessResult dump = run({"p", "d", "x", prog});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_EQ(dump.out, "   0: (b7) r0 = 7\n   1: (95) exit\n");
}

TEST_F(CliBinary, RunWithHexDataAndJson) {
  const std::string prog = write("sum.asm", kSumAsm);
  const ProcessResult r = run({"-j", "prog", "run", prog, "--data-hex", "01020304ff"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json.at("retval").get<uint64_t>(), 1u + 2 + 3 + 4 + 255);
  EXPECT_TRUE(json.at("duration_ns").is_number_unsigned());
  EXPECT_TRUE(json.at("duration").is_number_unsigned());
  EXPECT_EQ(json.at("data_out"), "01020304ff");
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1);  // -j is one line
}

TEST_F(CliBinary, GlobalOptionsBetweenWords) {
  const std::string prog = write("p.asm", "mov %r0, 5\nexit\n");
  const ProcessResult r = run({"prog", "-j", "run", prog});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("retval"), 5);
  const ProcessResult d = run({"prog", "dump", "-j", "xlated", prog});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out).size(), 2u);
}

TEST_F(CliBinary, PrettyJsonIsIndented) {
  const std::string prog = write("p.asm", "mov %r0, 1\nexit\n");
  const ProcessResult r = run({"prog", "run", prog, "-p"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\n    \"retval\": 1"), std::string::npos) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("retval"), 1);
}

TEST_F(CliBinary, BpftoolKeywordFormsAndRepeat) {
  const std::string prog = write("sum.asm", kSumAsm);
  const std::string data = write("in.bin", std::string("\x05\x06\x07", 3));
  const ProcessResult r = run({"prog", "run", prog, "data_in", data, "repeat", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(plain_retval(r.out), 18u);
  EXPECT_NE(r.out.find("duration (average): "), std::string::npos);
  // The same with GNU options.
  const ProcessResult gnu = run({"prog", "run", prog, "--data", data, "--repeat", "3"});
  ASSERT_EQ(gnu.exit_code, 0) << gnu.err;
  EXPECT_EQ(plain_retval(gnu.out), 18u);
}

TEST_F(CliBinary, DataFromStdin) {
  const std::string prog = write("sum.asm", kSumAsm);
  const ProcessResult r = run({"prog", "run", prog, "data_in", "-"}, std::string("\x01\x01", 2));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(plain_retval(r.out), 2u);
}

TEST_F(CliBinary, DataOutShowsTheProgramsWrites) {
  // Increments the first byte of the data once per run: three runs share one buffer.
  const std::string prog = write("inc.asm", "ldxb %r0, [%r1]\nadd %r0, 1\nstxb [%r1], %r0\nexit\n");
  const ProcessResult r =
      run({"prog", "run", prog, "--data-hex", "0a00", "repeat", "3", "data_out", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("0000000\t0d00 ")) << r.out;
  const ProcessResult j = run({"-j", "prog", "run", prog, "--data-hex", "0a00"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(nlohmann::json::parse(j.out).at("data_out"), "0b00");
  const std::string out_file = dir_ + "/out.bin";
  ASSERT_EQ(run({"prog", "run", prog, "--data-hex", "fe", "--data-out", out_file}).exit_code, 0);
  std::ifstream in(out_file, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "\xff");
}

TEST_F(CliBinary, RawInstructionFile) {
  const std::string raw("\xb7\x00\x00\x00\x2a\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00", 16);
  const std::string prog = write("p.bin", raw);
  const ProcessResult r = run({"prog", "run", prog});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(plain_retval(r.out), 42u);
}

TEST_F(CliBinary, ConformanceDataFileUsesItsMemory) {
  const ProcessResult r = run({"-j", "prog", "run", kShared + "/conformance/ldxb.data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json.at("retval"), 0x11);
  EXPECT_EQ(json.at("data_out"), "aabb11ccdd");
  // --data-hex replaces the file's memory.
  const ProcessResult other =
      run({"-j", "prog", "run", kShared + "/conformance/ldxb.data", "--data-hex", "000077"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(nlohmann::json::parse(other.out).at("retval"), 0x77);
}

TEST_F(CliBinary, FormatForcesTheReading) {
  // This text read as raw slots is 16 bytes of ASCII: the decoder refuses it, naming a slot.
  const std::string prog = write("p.asm", "mov %r0, 1\nexit\n");
  const ProcessResult r = run({"prog", "run", prog, "--format", "raw"});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_TRUE(r.err.starts_with("Error: " + prog + ": insn 0: ")) << r.err;
  expect_error(run({"prog", "run", prog, "--format", "bogus"}),
               "unknown format 'bogus' (expected asm, raw, data or elf)");
  expect_error(run({"prog", "run", prog, "--format", "elf"}),
               "'" + prog + "' is not an ELF object");
}

// ELF objects run through the runtime (runtime_commands_test.cpp); a broken one is named.
TEST_F(CliBinary, TruncatedElfIsRefused) {
  const std::string prog = write("p.o", std::string("\x7f"
                                                    "ELF\x02\x01\x01\x00",
                                                    8));
  expect_error(run({"prog", "run", prog, "--state-dir", dir_ + "/state"}),
               prog + ": not an ELF object: 8 bytes is too short");
  expect_error(run({"prog", "dump", "xlated", prog}), "ELF objects are not supported yet");
}

TEST_F(CliBinary, FileErrors) {
  expect_error(run({"prog", "run", "x.o"}), "can't read 'x.o': No such file or directory");
  expect_error(run({"prog", "run", dir_}), "can't read '" + dir_ + "': Is a directory");
  const std::string empty = write("empty.asm", "");
  expect_error(run({"prog", "run", empty}), "file '" + empty + "' is empty");
  const std::string prog = write("p.asm", "mov %r0, 1\nexit\n");
  expect_error(run({"prog", "run", prog, "data_in", "nope.bin"}),
               "can't read 'nope.bin': No such file or directory");
}

TEST_F(CliBinary, BadHexNamesTheOffset) {
  const std::string prog = write("p.asm", "mov %r0, 1\nexit\n");
  expect_error(run({"prog", "run", prog, "--data-hex", "00112g"}),
               "--data-hex: invalid hex character 'g' at offset 5");
  expect_error(run({"prog", "run", prog, "--data-hex", "001"}),
               "--data-hex: odd number of hex digits (last byte incomplete at offset 2)");
}

TEST_F(CliBinary, MalformedAssemblyNamesTheLine) {
  const std::string prog = write("bad.asm", "mov %r0, 1\n\nfoo %r0, 2\nexit\n");
  const ProcessResult r = run({"prog", "run", prog});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_TRUE(r.err.starts_with("Error: " + prog + ":3: ")) << r.err;
  EXPECT_NE(r.err.find("foo"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliBinary, MalformedAssemblyInDataFileNamesTheFileLine) {
  const std::string prog = write("bad.data", "# comment\n-- asm\nmov %r0, 1\nmov %r11, 1\nexit\n");
  const ProcessResult r = run({"prog", "run", prog});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_TRUE(r.err.starts_with("Error: " + prog + ":4: ")) << r.err;
  EXPECT_NE(r.err.find("%r11"), std::string::npos) << r.err;
}

TEST_F(CliBinary, MalformedRawProgram) {
  const std::string ragged =
      write("ragged.bin", std::string("\x95\x00\x00\x00\x00\x00\x00\x00\x95", 9));
  const ProcessResult r = run({"prog", "run", ragged});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_TRUE(r.err.starts_with("Error: " + ragged + ": ")) << r.err;
  EXPECT_NE(r.err.find("9"), std::string::npos) << r.err;
  // exit with a nonzero src_reg in slot 1.
  const std::string reserved =
      write("reserved.bin",
            std::string("\xb7\x00\x00\x00\x01\x00\x00\x00\x95\x10\x00\x00\x00\x00\x00\x00", 16));
  const ProcessResult d = run({"prog", "run", reserved});
  EXPECT_EQ(d.exit_code, kFailure);
  EXPECT_TRUE(d.err.starts_with("Error: " + reserved + ": insn 1: ")) << d.err;
}

TEST_F(CliBinary, RuntimeFaultNamesInstructionAndAddress) {
  const std::string prog = write("fault.asm", "mov %r0, 0\nldxdw %r0, [%r1+8]\nexit\n");
  const ProcessResult r = run({"prog", "run", prog, "--data-hex", "0001020304"});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_TRUE(r.err.starts_with("Error: " + prog + ": insn 1: ")) << r.err;
  EXPECT_NE(r.err.find("0x"), std::string::npos) << r.err;  // the address
  EXPECT_EQ(r.out, "");
}

TEST_F(CliBinary, LoopingProgramStopsAtTheBudget) {
  const std::string prog = write("loop.asm", "mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit\n");
  const ProcessResult r = run({"prog", "run", prog, "--budget", "1000"});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.err.starts_with("Error: " + prog + ": ")) << r.err;
  // The default budget ends it too.
  const ProcessResult d = run({"prog", "run", prog});
  EXPECT_EQ(d.exit_code, kFailure);
  EXPECT_FALSE(d.timed_out);
  EXPECT_NE(d.err.find("budget"), std::string::npos) << d.err;
}

TEST_F(CliBinary, UncheckedRun) {
  const std::string prog = write("sum.asm", kSumAsm);
  const ProcessResult r = run({"prog", "run", prog, "--unchecked", "--data-hex", "0909"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(plain_retval(r.out), 18u);
  expect_error(run({"prog", "run", prog, "--unchecked", "--budget", "5"}),
               "--budget needs a checked run, not --unchecked");
  expect_error(run({"prog", "run", prog, "--engine", "jit"}), "engine 'jit' is not supported yet");
}

TEST_F(CliBinary, GrammarErrors) {
  const std::string prog = write("p.asm", "mov %r0, 1\nexit\n");
  expect_error(run({"prog", "x"}), "command 'x' is unknown");
  expect_error(run({"frob"}), "command 'frob' is unknown");
  expect_error(run({"prog", "run", prog, "--foo"}), "unknown option '--foo'");
  expect_error(run({"--foo", "prog"}), "unknown option '--foo'");
  expect_error(run({"prog", "lo"}), "ambiguous prefix: 'lo' could be 'load' or 'loadall'");
  expect_error(run({"prog", "load", prog}), "'prog load' needs PATH");
  expect_error(run({"map", "frz"}), "command 'frz' is unknown");
  expect_error(run({"map", "freeze"}), "command 'map freeze' is not supported yet");
  expect_error(run({"prog", "run"}), "'prog run' needs FILE");
  expect_error(run({"prog", "run", prog, "repeat"}), "'repeat' needs an argument (N)");
  expect_error(run({"prog", "run", prog, "repeat", "x"}), "can't parse 'x' as repeat number");
  expect_error(run({"prog", "run", prog, "repeat", "4294967296"}),
               "repeat number 4294967296 is above 4294967295");
  expect_error(run({"prog", "run", "-", "data_in", "-"}),
               "the program and data_in can't both come from stdin");
  expect_error(run({"prog", "run", prog, "extra"}),
               "expected no more arguments, 'data_in', 'data_out' or 'repeat', got: 'extra'?");
  // jited dumps a loaded program's machine code: a file is no PROG.
  expect_error(run({"prog", "dump", "jited", prog}),
               "expected 'id', 'tag', 'name' or 'pinned', got: '" + prog + "'?");
  expect_error(run({"prog", "dump"}), "'prog dump' needs a command: { xlated | jited }");
}

TEST_F(CliBinary, JsonErrorsGoToStdout) {
  const ProcessResult r = run({"-j", "prog", "run", "x.o"});
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json({{"error", "can't read 'x.o': No such file or directory"}}));
  // -j after the command, and an error found while parsing.
  const ProcessResult late = run({"prog", "run", "x.o", "--foo", "--json"});
  EXPECT_EQ(late.exit_code, kFailure);
  EXPECT_EQ(nlohmann::json::parse(late.out).at("error"), "unknown option '--foo'");
}

TEST_F(CliBinary, HelpAndVersion) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"help"}, std::vector<std::string>{},
        std::vector<std::string>{"--help"}}) {
    const ProcessResult r = run(args);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.err.find("[OPTIONS] OBJECT { COMMAND | help }"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("OBJECT := { prog | map | link | btf }"), std::string::npos);
  }
  const ProcessResult prog_help = run({"prog", "help"});
  EXPECT_EQ(prog_help.exit_code, 0);
  EXPECT_NE(prog_help.err.find("prog run FILE"), std::string::npos) << prog_help.err;
  EXPECT_NE(prog_help.err.find("prog dump xlated FILE"), std::string::npos);
  EXPECT_EQ(run({"prog", "run", "-h"}).err, prog_help.err);
  EXPECT_EQ(run({"prog", "-h"}).err, prog_help.err);
  EXPECT_EQ(run({"prog", "dump", "--help"}).err, prog_help.err);
  EXPECT_EQ(run({"-j", "help"}).out, "null\n");

  const ProcessResult v = run({"-V"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find(" v0.1.0\n"), std::string::npos) << v.out;
  const ProcessResult vj = run({"version", "-j"});
  EXPECT_EQ(nlohmann::json::parse(vj.out).at("version"), "0.1.0");
}

TEST_F(CliBinary, DumpXlatedPlainAndJson) {
  const std::string prog = write("p.asm", "lddw %r1, 0x1122334455667788\nmov %r0, 3\nexit\n");
  const ProcessResult plain = run({"prog", "dump", "xlated", prog});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "   0: (18) r1 = 0x1122334455667788\n   2: (b7) r0 = 3\n   3: (95) exit\n");

  const ProcessResult json = run({"-j", "prog", "dump", "xlated", prog});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out),
            nlohmann::json::parse(R"([{"disasm":"(18) r1 = 0x1122334455667788"},
                                      {"disasm":"(b7) r0 = 3"},{"disasm":"(95) exit"}])"));

  const ProcessResult ops = run({"-j", "prog", "dump", "xlated", prog, "opcodes"});
  ASSERT_EQ(ops.exit_code, 0) << ops.err;
  const auto insns = nlohmann::json::parse(ops.out);
  ASSERT_EQ(insns.size(), 3u);
  EXPECT_EQ(insns[1].at("opcodes"), nlohmann::json::parse(R"({"code":"0xb7","src_reg":"0x0",
      "dst_reg":"0x0","off":["0x00","0x00"],"imm":["0x03","0x00","0x00","0x00"]})"));
  EXPECT_EQ(insns[0].at("opcodes").at("imm").size(), 12u);
  EXPECT_EQ(insns[0].at("opcodes").at("imm")[0], "0x88");
}

TEST_F(CliBinary, DumpXlatedToFileRoundTrips) {
  const std::string prog = write("p.asm", "mov %r0, 9\nexit\n");
  const std::string out = dir_ + "/p.bin";
  const ProcessResult r = run({"prog", "dump", "xlated", prog, "file", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::file_size(out), 16u);
  const ProcessResult again = run({"prog", "run", out});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(plain_retval(again.out), 9u);
}

}  // namespace
}  // namespace userbpf::cli

// Runs command lines in process through run_userbpf: random word salad from the grammar's
// vocabulary must always end in exit 0 or 255 with the right kind of output, never a crash, and
// under -j everything printed must be JSON.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli/userbpf_cli.hpp"

namespace userbpf::cli {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code;
  std::string out, err;
  bool json;
};

Outcome run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Context ctx(out, err);
  const int code = run_userbpf(ctx, args);
  return {code, out.str(), err.str(), ctx.json};
}

TEST(CliInProcess, JsonErrorWithInvalidUtf8StaysJson) {
  std::ostringstream out, err;
  Context ctx(out, err);
  ctx.json = true;
  ctx.print_error(make_error(Errc::invalid_argument, "bad byte \xff here"));
  const auto parsed = nlohmann::json::parse(out.str());
  EXPECT_TRUE(parsed.at("error").get<std::string>().starts_with("bad byte "));
  EXPECT_EQ(err.str(), "");
}

TEST(CliInProcess, DebugReportsTheRun) {
  char pattern[] = "/tmp/userbpf-cli-inproc-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string prog = std::string(pattern) + "/p.asm";
  std::ofstream(prog) << "mov %r0, 1\nja +0\nexit\n";
  const Outcome r = run({"-d", "prog", "run", prog, "--data-hex", "0102"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "format asm, 3 insns, 2 bytes of data, checked run, 3 insns executed per run\n");
  fs::remove_all(pattern);
}

TEST(CliInProcess, RandomCommandLinesNeverCrash) {
  char pattern[] = "/tmp/userbpf-cli-inproc-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  // `prog` and `map` alone list the runtime's objects: keep them in this test's state directory.
  setenv("USERBPF_STATE_DIR", (dir + "/state").c_str(), 1);
  std::mt19937_64 rng(20261126);
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
    return dir + "/" + name;
  };
  std::vector<std::string> files = {
      write("ok.asm", "mov %r0, 2\nexit\n"),
      write("sum.asm",
            "mov %r0, 0\nl:\njeq %r2, 0, d\nldxb %r3, [%r1]\nadd %r0, %r3\n"
            "add %r1, 1\nsub %r2, 1\nja l\nd:\nexit\n"),
      write("bad.asm", "mov %r0, \nexit\n"),
      write("case.data", "-- asm\nldxb %r0, [%r1+1]\nexit\n-- mem\n01 02\n-- result\n0x2\n"),
      write("empty.bin", ""),
      dir + "/missing",
      dir,
  };
  for (int i = 0; i < 8; ++i) {  // random raw programs: mostly refused by the decoder
    std::string bytes;
    const int slots = 1 + int(rng() % 6);
    for (int k = 0; k < slots * 8; ++k) bytes += char(rng());
    files.push_back(write("r" + std::to_string(i) + ".bin", bytes));
  }
  const std::vector<std::string> words = {
      "prog",        "p",      "run",        "r",        "dump",      "d",        "xlated",
      "x",           "jited",  "help",       "version",  "map",       "lo",       "-j",
      "-p",          "-d",     "-jp",        "--json",   "--pretty",  "-h",       "-V",
      "--state-dir", "--data", "--data-hex", "0102",     "zz",        "--repeat", "repeat",
      "3",           "0",      "data_in",    "data_out", "--format",  "asm",      "raw",
      "data",        "elf",    "--budget",   "100",      "--checked", "--engine", "interp",
      "opcodes",     "file",   "--",         "--foo",    "-z",        "x=1",      "",
  };
  int successes = 0, ran = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<std::string> args;
    if (iter % 2 == 0) args = {"prog", iter % 4 == 0 ? "run" : "dump", files[rng() % files.size()]};
    if (iter % 4 == 2) args.insert(args.begin() + 2, "xlated");
    const int n = int(rng() % (args.empty() ? 8 : 3));
    for (int k = 0; k < n; ++k) {
      if (rng() % 3 == 0) {
        args.push_back(files[rng() % files.size()]);
      } else {
        args.push_back(words[rng() % words.size()]);
      }
    }
    // Outputs written by data_out/file go to a scratch name, never over an input.
    for (size_t k = 0; k + 1 < args.size(); ++k) {
      if (args[k] == "data_out" || args[k] == "file") args[k + 1] = dir + "/out";
    }
    std::string line;
    for (const std::string& a : args) line += "'" + a + "' ";
    const Outcome r = run(args);
    ASSERT_TRUE(r.code == 0 || r.code == kExitFailure) << line;
    if (r.code == 0) ++successes;
    if (r.code == 0 && r.out.find("retval") != std::string::npos) ++ran;
    if (r.code == 0 && r.out.find("Return value") != std::string::npos) ++ran;
    if (r.json) {
      if (!r.out.empty()) {
        // Exactly one document, pretty or not.
        EXPECT_TRUE(nlohmann::json::accept(r.out)) << line << "\n" << r.out;
      }
      if (r.code != 0) {
        EXPECT_TRUE(nlohmann::json::parse(r.out).contains("error")) << line;
      }
    } else if (r.code != 0) {
      EXPECT_TRUE(r.err.starts_with("Error: ")) << line << "\n" << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << line << "\n" << r.err;
    }
  }
  // The salad reaches past the parser often enough to exercise loading and running.
  EXPECT_GT(successes, 300);
  EXPECT_GT(ran, 30);
  unsetenv("USERBPF_STATE_DIR");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace userbpf::cli

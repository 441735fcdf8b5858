// `userbpf prog dump jited`: the disassembler over known bytes, then the command on the tutorial
// object (seed hello_kern.o loaded and pinned) run as separate processes: every eBPF instruction
// of `prog dump xlated` in order, each with its machine code, the whole image covered without gaps,
// the helper call and the final ret, the JSON form, source lines (legacy_maps.bpf.o: the tutorial
// object has no line info), bpf-to-bpf callees (subprogs.bpf.o), and the errors (unverified,
// interpreter engine, no such program). The commands pass `--engine jit` so that the test means the
// same in the suite's USERBPF_ENGINE=interp run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "cli/jited_disasm.hpp"
#include "cli/subprocess.hpp"

namespace userbpf::cli {
namespace {

using testing::ProcessResult;
namespace fs = std::filesystem;

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kObjects = USERBPF_BPF_OBJECT_DIR;
const std::string kHello = kObjects + "/seed/hello_kern.o";
const std::string kLegacyMaps = kObjects + "/legacy_maps.bpf.o";
const std::string kSubprogs = kObjects + "/subprogs.bpf.o";
constexpr int kFailure = 255;

TEST(JitedDisasm, DecodesIntelSyntaxWithImageOffsets) {
  // mov rbp, rsp; mov dword ptr [r12+0x20], 5; jmp -> 0x0; ret
  const uint8_t code[] = {0x48, 0x89, 0xe5, 0x41, 0xc7, 0x44, 0x24, 0x20,
                          0x05, 0x00, 0x00, 0x00, 0xeb, 0xf2, 0xc3};
  const auto listing = disassemble_x86(code, 0, sizeof(code));
  ASSERT_EQ(listing.size(), 4u);
  EXPECT_EQ(listing[0].text, "mov rbp, rsp");
  EXPECT_EQ(listing[0].operation, "mov");
  EXPECT_EQ(listing[0].operands, (std::vector<std::string>{"rbp", "rsp"}));
  EXPECT_EQ(listing[1].offset, 3u);
  EXPECT_EQ(listing[1].bytes.size(), 9u);
  EXPECT_EQ(listing[1].text, "mov dword ptr [r12+0x20], 0x5");
  // Branch targets are image offsets: the image is disassembled as if at address 0.
  EXPECT_EQ(listing[2].text, "jmp 0x0");
  EXPECT_TRUE(listing[2].ends_flow);
  EXPECT_EQ(listing[3].text, "ret");
  EXPECT_TRUE(listing[3].ends_flow);
  EXPECT_FALSE(listing[1].ends_flow);

  // A range in the middle, and the listing cut after the first jmp.
  const auto cut = disassemble_x86(code, 3, sizeof(code), true);
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut.back().operation, "jmp");
}

TEST(JitedDisasm, UndecodableBytesBecomeBadEntries) {
  // 0x06 (push es) does not exist in 64-bit mode; a truncated instruction at the end neither.
  const uint8_t code[] = {0x06, 0xc3, 0x48, 0x89};
  const auto listing = disassemble_x86(code, 0, sizeof(code));
  ASSERT_EQ(listing.size(), 4u);
  EXPECT_EQ(listing[0].text, "(bad)");
  EXPECT_EQ(listing[1].text, "ret");
  EXPECT_EQ(listing[2].text, "(bad)");
  EXPECT_EQ(listing[3].offset, 3u);
}

class ProgDumpJited : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary << " is missing: build the userbpf target";
    char pattern[] = "/tmp/userbpf-dump-jited-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    state_ = dir_ + "/state";
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return testing::run_process(kBinary, args);
  }

  void expect_error(const ProcessResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, kFailure);
    EXPECT_EQ(r.err, "Error: " + message + "\n");
    EXPECT_EQ(r.out, "");
  }

  std::string dir_, state_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const std::regex kMachineLine(R"(^    ( *[0-9a-f]+):\t(.+)$)");
const std::regex kBytesLine(R"(^\t\t([0-9a-f]{2}( [0-9a-f]{2})*)$)");

TEST_F(ProgDumpJited, InterleavesXlatedWithMachineCode) {
  ASSERT_EQ(run({"prog", "load", kHello, "/sys/fs/bpf/hello"}).exit_code, 0);
  const ProcessResult xlated = run({"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/hello"});
  ASSERT_EQ(xlated.exit_code, 0) << xlated.err;
  const ProcessResult jited =
      run({"--engine", "jit", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/hello", "opcodes"});
  ASSERT_EQ(jited.exit_code, 0) << jited.err;
  EXPECT_EQ(jited.err, "");

  // Without the machine code (and the two headers) the dump is xlated's, line for line: every
  // eBPF instruction in order, with its signature and source lines.
  const std::vector<std::string> lines = lines_of(jited.out);
  std::string without_machine;
  std::vector<std::string> text_of_insn;               // by eBPF line, in order
  std::vector<std::vector<std::string>> code_of_insn;  // machine lines under each eBPF line
  std::string section = "";
  uint64_t next_offset = 0;
  size_t machine_lines = 0;
  std::smatch m;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (std::regex_match(line, m, kMachineLine)) {
      // Offsets are contiguous from 0: each instruction's bytes follow on the next line.
      EXPECT_EQ(std::stoull(m[1].str(), nullptr, 16), next_offset) << line;
      ASSERT_LT(i + 1, lines.size());
      std::smatch bytes;
      ASSERT_TRUE(std::regex_match(lines[i + 1], bytes, kBytesLine)) << lines[i + 1];
      next_offset += (bytes[1].str().size() + 1) / 3;
      ++machine_lines;
      if (section.empty() && !code_of_insn.empty()) code_of_insn.back().push_back(m[2].str());
      ++i;
      continue;
    }
    if (line == "entry trampoline:" || line == "out-of-line code:") {
      section = line;
      continue;
    }
    section.clear();
    without_machine += line + "\n";
    if (std::regex_search(line, std::regex(R"(^ *[0-9]+: \()"))) {
      text_of_insn.push_back(line);
      code_of_insn.emplace_back();
    }
  }
  EXPECT_EQ(without_machine, xlated.out);
  EXPECT_TRUE(jited.out.starts_with("entry trampoline:\n")) << jited.out;
  EXPECT_NE(jited.out.find("\nout-of-line code:\n"), std::string::npos);
  EXPECT_GT(machine_lines, text_of_insn.size());
  // The image file holds exactly the bytes listed.
  const std::string image = dir_ + "/image.bin";
  ASSERT_EQ(run({"--engine", "jit", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/hello", "file",
                 image})
                .exit_code,
            0);
  EXPECT_EQ(fs::file_size(image), next_offset);

  ASSERT_GE(text_of_insn.size(), 3u);
  bool saw_helper_call = false;
  for (size_t k = 0; k < text_of_insn.size(); ++k) {
    // Every instruction of this program has machine code, but for the first ones of a sequence
    // the JIT emits as one (emit_fused.cpp: `r1 = r10; r1 += -8` as a lea), whose code is listed
    // with the sequence's last instruction.
    EXPECT_TRUE(!code_of_insn[k].empty() ||
                (k + 1 < code_of_insn.size() && !code_of_insn[k + 1].empty()))
        << text_of_insn[k];
    if (text_of_insn[k].find(") call ") != std::string::npos) {
      bool has_call = false;
      for (const std::string& code : code_of_insn[k]) has_call |= code.starts_with("call ");
      EXPECT_TRUE(has_call) << text_of_insn[k];
      saw_helper_call = true;
    }
  }
  EXPECT_TRUE(saw_helper_call) << jited.out;
  EXPECT_NE(text_of_insn.back().find("(95) exit"), std::string::npos);
  ASSERT_FALSE(code_of_insn.back().empty());
  EXPECT_EQ(code_of_insn.back().back(), "ret");
  // Without opcodes: the same listing minus the bytes lines (the tutorial object has no line
  // info, so linum changes nothing; ShowsSourceLines covers source lines).
  const ProcessResult plain =
      run({"--engine", "jit", "prog", "dump", "jited", "name", "hello", "linum"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("\t\t"), std::string::npos);
  EXPECT_EQ(lines_of(plain.out).size(), lines.size() - machine_lines);
}

TEST_F(ProgDumpJited, JsonHasMachineCodePerInstruction) {
  ASSERT_EQ(run({"prog", "load", kHello, "/sys/fs/bpf/hello"}).exit_code, 0);
  const ProcessResult xlated = run({"-j", "prog", "dump", "xlated", "pinned", "/sys/fs/bpf/hello"});
  ASSERT_EQ(xlated.exit_code, 0) << xlated.err;
  const ProcessResult jited = run(
      {"-j", "--engine", "jit", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/hello", "opcodes"});
  ASSERT_EQ(jited.exit_code, 0) << jited.err;
  const auto theirs = nlohmann::json::parse(xlated.out);
  const auto ours = nlohmann::json::parse(jited.out);
  ASSERT_EQ(ours.size(), theirs.size() + 2);
  EXPECT_EQ(ours.front().at("section"), "entry trampoline");
  EXPECT_EQ(ours.back().at("section"), "out-of-line code");
  uint64_t next_pc = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    const auto& entry = ours[i];
    if (i > 0 && i + 1 < ours.size()) {
      const auto& insn = theirs[i - 1];
      EXPECT_EQ(entry.at("disasm"), insn.at("disasm"));
      EXPECT_EQ(entry.contains("src"), insn.contains("src"));
      if (insn.contains("src")) {
        EXPECT_EQ(entry.at("src"), insn.at("src"));
      }
      EXPECT_TRUE(entry.at("insn").is_number());
      // As in the plain listing: empty only for the first of a fused sequence.
      EXPECT_TRUE(!entry.at("jited").empty() || !ours[i + 1].at("jited").empty()) << entry.dump();
    }
    for (const auto& code : entry.at("jited")) {
      EXPECT_EQ(std::stoull(code.at("pc").get<std::string>(), nullptr, 16), next_pc);
      EXPECT_FALSE(code.at("operation").get<std::string>().empty());
      EXPECT_TRUE(code.at("operands").is_array());
      next_pc += code.at("opcodes").size();
    }
  }
  EXPECT_EQ(ours[ours.size() - 2].at("jited").back().at("operation"), "ret");
}

// Source lines come from line_info (the tutorial object has none): legacy_maps.bpf.o's, with
// linum their positions, and the map reference as xlated shows it.
TEST_F(ProgDumpJited, ShowsSourceLines) {
  ASSERT_EQ(run({"prog", "load", kLegacyMaps, "/sys/fs/bpf/lm"}).exit_code, 0);
  const ProcessResult dump =
      run({"--engine", "jit", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/lm", "linum"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const size_t signature =
      dump.out.find("int legacy_prog(void * ctx):\n; int legacy_prog(void *ctx) { [file:");
  ASSERT_NE(signature, std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("   0: (b7) r1 = 0\n", signature), std::string::npos);
  const size_t key = dump.out.find("; int key = 0; [file:");
  ASSERT_NE(key, std::string::npos) << dump.out;
  EXPECT_NE(
      dump.out.find("legacy_maps.bpf.c line_num:35 line_col:7]\n   1: (63) *(u32 *)(r10 -4) = "
                    "r1\n",
                    key),
      std::string::npos)
      << dump.out;
  EXPECT_NE(dump.out.find("(18) r1 = map[id:"), std::string::npos);
}

// A bpf-to-bpf call: the callee's prologue is listed under the callee's first instruction, where
// the caller's machine call goes.
TEST_F(ProgDumpJited, CalleePrologueGoesWithItsFirstInstruction) {
  ASSERT_EQ(run({"prog", "loadall", kSubprogs, "/sys/fs/bpf/sub"}).exit_code, 0);
  const ProcessResult dump = run({"--engine", "jit", "prog", "dump", "jited", "name", "entry_one"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const std::vector<std::string> lines = lines_of(dump.out);
  std::smatch m;
  // The machine call under eBPF instruction 0 (call pc+5) and the first machine line under
  // instruction 6.
  std::optional<uint64_t> call_target, callee_start;
  int insn = -1;
  bool first_of_insn = false;
  for (const std::string& line : lines) {
    if (std::regex_search(line, m, std::regex(R"(^ *([0-9]+): \()"))) {
      insn = std::stoi(m[1].str());
      first_of_insn = true;
      continue;
    }
    if (!std::regex_match(line, m, kMachineLine)) continue;
    const uint64_t offset = std::stoull(m[1].str(), nullptr, 16);
    const std::string text = m[2].str();
    std::smatch call;
    if (insn == 0 && std::regex_match(text, call, std::regex(R"(call 0x([0-9a-f]+))")))
      call_target = std::stoull(call[1].str(), nullptr, 16);
    if (insn == 6 && first_of_insn) {
      callee_start = offset;
      // The prologue: pushes when the frame keeps every callee-saved register, else the
      // frame's reservation first.
      EXPECT_TRUE(text == "push rbp" || text.starts_with("sub rsp, ")) << text;
    }
    first_of_insn = false;
  }
  ASSERT_TRUE(call_target.has_value()) << dump.out;
  ASSERT_TRUE(callee_start.has_value()) << dump.out;
  EXPECT_EQ(*call_target, *callee_start) << dump.out;
  EXPECT_NE(dump.out.find("int sum_of_squares(int a, int b):\n"), std::string::npos);
}

TEST_F(ProgDumpJited, ErrorsWithoutMachineCode) {
  ASSERT_EQ(run({"prog", "load", kHello, "/sys/fs/bpf/checked", "--unverified"}).exit_code, 0);
  expect_error(run({"--engine", "jit", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/checked"}),
               "prog 'hello' was loaded unverified: it has no JIT image");
  ASSERT_EQ(run({"prog", "load", kHello, "/sys/fs/bpf/verified"}).exit_code, 0);
  expect_error(
      run({"--engine", "interp", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/verified"}),
      "prog 'hello' has no JIT image: engine is interp");
  expect_error(run({"--engine", "jit", "prog", "dump", "jited", "id", "999"}),
               "can't get prog by id (999): No such file or directory");
  expect_error(
      run({"--engine", "jit", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/verified", "visual"}),
      "unexpected argument 'visual'");
  // Under -j the error is bpftool's JSON error object, and the exit status still fails.
  const ProcessResult json =
      run({"-j", "--engine", "interp", "prog", "dump", "jited", "pinned", "/sys/fs/bpf/verified"});
  EXPECT_EQ(json.exit_code, kFailure);
  EXPECT_NE(json.out.find("engine is interp"), std::string::npos) << json.out;
}

}  // namespace
}  // namespace userbpf::cli

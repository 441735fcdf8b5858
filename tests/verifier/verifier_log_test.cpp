// The verifier log (src/verifier/log.*) in the kernel's format, levels 1 and 2: checked against a
// log the Linux kernel wrote for the same program, and against the host kernel's log where bpf()
// works (BPF_PROG_LOAD with a log buffer, as root).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "isa/conformance_asm.hpp"
#include "oracle/skip_without_kernel.hpp"
#include "verifier/log.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

// `lddw %rN, 0x5a5a0000` stands for the hash map below.
constexpr int64_t kMapMarker = 0x5a5a0000;

std::vector<isa::RawInsn> assemble_or_die(const char* text) {
  auto raw = isa::assemble(text);
  EXPECT_TRUE(raw) << raw.error().to_string();
  return raw ? *raw : std::vector<isa::RawInsn>{};
}

// Patches the map marker into a map reference: by index for userbpf, by fd for the kernel.
void patch_map(std::vector<isa::RawInsn>& insns, int fd) {
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW) || insns[i].imm != kMapMarker) continue;
    insns[i].src_reg = fd >= 0 ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_IDX;
    insns[i].imm = fd >= 0 ? fd : 0;
  }
}

Program socket_filter(const char* text) {
  Program p;
  p.insns = assemble_or_die(text);
  patch_map(p.insns, -1);
  p.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  p.gpl = true;
  MapInfo map;
  map.type = BPF_MAP_TYPE_HASH;
  map.key_size = 4;
  map.value_size = 8;
  map.max_entries = 16;
  map.name = "counts";
  p.maps.push_back(map);
  return p;
}

// The statistics line's format is checked, its figures are the explorer's (the kernel
// checkpoints states only after enough jumps and instructions): they become N.
std::string without_figures(const std::string& log) {
  static const std::regex stats(
      "processed \\d+ insns \\(limit 1000000\\) max_states_per_insn \\d+ total_states \\d+ "
      "peak_states \\d+ mark_read \\d+\n");
  return std::regex_replace(log, stats,
                            "processed N insns (limit 1000000) max_states_per_insn N "
                            "total_states N peak_states N mark_read N\n");
}

std::string log_of(const Program& p, int level) {
  Options options;
  options.log_level = level;
  auto verdict = verify(p, options);
  EXPECT_TRUE(verdict) << verdict.error().message;
  return verdict ? verdict->log : "";
}

// A branch, a 32-bit context load and a bad dereference on the jump's path.
constexpr const char* kBadDeref =
    "mov %r0, 0\n"
    "ldxw %r2, [%r1+0]\n"
    "jgt %r2, 10, +2\n"
    "mov %r0, 1\n"
    "exit\n"
    "ldxdw %r0, [%r2+0]\n"
    "exit";

// Both paths through a branch end well; a stack spill on each.
constexpr const char* kTwoPaths =
    "mov %r0, 0\n"
    "mov %r2, %r1\n"
    "jeq %r2, 5, +1\n"
    "mov %r0, 1\n"
    "stxdw [%r10-8], %r0\n"
    "exit";

// A map lookup used without its NULL check.
constexpr const char* kNoNullCheck =
    "mov %r1, 0\n"
    "stxw [%r10-4], %r1\n"
    "mov %r2, %r10\n"
    "add %r2, -4\n"
    "lddw %r1, 0x5a5a0000\n"
    "call 1\n"
    "ldxdw %r0, [%r0+0]\n"
    "exit";

// Linux 6.18's log of kBadDeref at level 1: the failing path only; popping the branch cut the
// jump's line inside its state padding, which the kernel leaves as is.
constexpr const char* kBadDerefKernelLevel1 =
    "0: R1=ctx() R10=fp0\n"
    "0: (b7) r0 = 0                        ; R0=0\n"
    "1: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() "
    "R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))\n"
    "2: (25) if r2 > 0xa goto pc+2 5: R0=0 R1=ctx() "
    "R2=scalar(smin=umin=umin32=11,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0\n"
    "5: (79) r0 = *(u64 *)(r2 +0)\n"
    "R2 invalid mem access 'scalar'\n"
    "processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "
    "mark_read 0\n";

// Linux 6.18's log of kTwoPaths at level 2, without the lines of analyses userbpf does not
// print (liveness tables, stack liveness).
constexpr const char* kTwoPathsKernelLevel2 =
    "0: R1=ctx() R10=fp0\n"
    "0: (b7) r0 = 0                        ; R0=0\n"
    "1: (bf) r2 = r1                       ; R1=ctx() R2=ctx()\n"
    "2: (15) if r2 == 0x5 goto pc+1        ; R2=ctx()\n"
    "3: (b7) r0 = 1                        ; R0=1\n"
    "4: (7b) *(u64 *)(r10 -8) = r0         ; R0=1 R10=fp0 fp-8=1\n"
    "5: (95) exit\n"
    "\n"
    "from 2 to 4: R0=0 R1=ctx() R2=ctx() R10=fp0\n"
    "4: R0=0 R1=ctx() R2=ctx() R10=fp0\n"
    "4: (7b) *(u64 *)(r10 -8) = r0         ; R0=0 R10=fp0 fp-8=0\n"
    "5: (95) exit\n"
    "processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "
    "mark_read 0\n";

TEST(VerifierLog, Level1IsTheFailingPathInTheKernelsFormat) {
  const std::string log = log_of(socket_filter(kBadDeref), 1);
  EXPECT_EQ(without_figures(log), without_figures(kBadDerefKernelLevel1)) << log;
  EXPECT_NE(without_figures(log), log) << "no statistics line";
}

TEST(VerifierLog, Level1OfAnAcceptedProgramIsOnlyTheStatistics) {
  const std::string log = log_of(socket_filter(kTwoPaths), 1);
  EXPECT_TRUE(log.starts_with("processed ")) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
}

TEST(VerifierLog, Level2HasEveryInstructionAndEachBranchsState) {
  const std::string log = log_of(socket_filter(kTwoPaths), 2);
  EXPECT_EQ(without_figures(log), without_figures(kTwoPathsKernelLevel2)) << log;
}

TEST(VerifierLog, LevelZeroIsEmpty) {
  EXPECT_EQ(log_of(socket_filter(kBadDeref), 0), "");
}

TEST(VerifierLog, SourceLinesPrecedeTheirInstructions) {
  Program p = socket_filter(kBadDeref);
  p.lines.push_back({0, "/src/prog.c", 3, 0, "  int r = 0;"});
  p.lines.push_back({1, "/src/prog.c", 4, 0, "if (skb->len > 10)"});
  p.lines.push_back({2, "/src/prog.c", 4, 9, "if (skb->len > 10)"});  // same line, new column
  p.lines.push_back({5, "/src/prog.c", 6, 0, "return *(long *)skb->len;"});
  const std::string log = log_of(p, 2);
  EXPECT_NE(log.find("; int r = 0; @ prog.c:3\n0: (b7) r0 = 0"), std::string::npos) << log;
  EXPECT_NE(log.find("; if (skb->len > 10) @ prog.c:4\n1: (61)"), std::string::npos) << log;
  EXPECT_EQ(log.find("@ prog.c:4\n2: (25)"), std::string::npos) << "a repeated line: " << log;
  EXPECT_NE(log.find("; return *(long *)skb->len; @ prog.c:6\n5: (79)"), std::string::npos) << log;
}

TEST(VerifierLog, RegisterNotation) {
  Program p = socket_filter(kNoNullCheck);
  Options options;
  options.log_level = 1;
  auto verdict = verify(p, options);
  ASSERT_TRUE(verdict);
  ASSERT_FALSE(verdict->accepted);
  EXPECT_NE(verdict->log.find("R1=map_ptr(map=counts,ks=4,vs=8)"), std::string::npos)
      << verdict->log;
  const std::regex lookup_result("R0=map_value_or_null\\(id=\\d+,map=counts,ks=4,vs=8\\)");
  EXPECT_TRUE(std::regex_search(verdict->log, lookup_result)) << verdict->log;
  EXPECT_NE(verdict->log.find("fp-8=0000????"), std::string::npos) << verdict->log;
  EXPECT_TRUE(std::regex_match(verdict->diagnosis.registers, lookup_result))
      << verdict->diagnosis.registers;
}

// The kernel's log lines that userbpf's log has too: the pre-pass output of newer kernels
// (func#N, the live-register table, stack liveness lines) is left out.
std::string comparable(const std::string& kernel_log) {
  std::istringstream in(kernel_log);
  std::string out, line;
  static const std::regex skipped(
      "^(func#\\d+ @\\d+|Live regs before insn:|\\s+\\d+: .*|\\(\\d+\\) .*|mark_precise: .*|"
      "verification time .*|stack depth .*)$");
  while (std::getline(in, line)) {
    if (std::regex_match(line, skipped)) continue;
    out += line + "\n";
  }
  return out;
}

// What may differ between two logs of the same program without the log writer being at fault:
// where a state is printed when the kernel interleaved a line userbpf does not print (on the
// instruction's line after `;`, or on a line of its own), the numbering of ids, a map's kernel
// address and the statistics' figures.
std::string canonical(const std::string& log) {
  std::istringstream in(without_figures(log));
  static const std::regex insn_with_state("^(\\d+: \\([0-9a-f]{2}\\) .*?) +;( .*)$");
  static const std::regex state_line("^\\d+:( (R|fp|frame).*)$");
  std::string out, line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, insn_with_state)) {
      out += m[1].str() + "\n~" + m[2].str() + "\n";
    } else if (std::regex_match(line, m, state_line)) {
      out += "~" + m[1].str() + "\n";
    } else {
      out += line + "\n";
    }
  }
  out = std::regex_replace(out, std::regex("= 0x[0-9a-f]{8,}\n"), "= 0x0\n");
  std::map<std::string, int> ids;
  std::string renumbered;
  static const std::regex id("id=(\\d+)");
  size_t last = 0;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), id); it != std::sregex_iterator();
       ++it) {
    const auto [entry, fresh] = ids.emplace((*it)[1].str(), static_cast<int>(ids.size()) + 1);
    renumbered += out.substr(last, static_cast<size_t>(it->position()) - last) +
                  "id=" + std::to_string(entry->second);
    last = static_cast<size_t>(it->position() + it->length());
  }
  return renumbered + out.substr(last);
}

struct KernelCase {
  const char* name;
  const char* text;
  int level;
};

// The same programs given to the host kernel: its log, minus what userbpf does not print, is
// userbpf's log byte for byte.
TEST(VerifierLog, SameAsTheHostKernel) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const KernelCase cases[] = {
      {"bad_deref_1", kBadDeref, 1}, {"bad_deref_2", kBadDeref, 2},  {"two_paths_1", kTwoPaths, 1},
      {"two_paths_2", kTwoPaths, 2}, {"no_null_1", kNoNullCheck, 1}, {"no_null_2", kNoNullCheck, 2},
  };
  const int map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "counts", 4, 8, 16, nullptr);
  ASSERT_GE(map_fd, 0);
  for (const KernelCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<isa::RawInsn> insns = assemble_or_die(c.text);
    patch_map(insns, map_fd);
    // libbpf's bpf_prog_load directly: the oracle keeps no log of a refused program.
    std::string kernel_log(1 << 20, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = static_cast<__u32>(c.level),
                .log_size = static_cast<__u32>(kernel_log.size()), .log_buf = kernel_log.data());
    const int fd =
        bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "log_test", "GPL",
                      reinterpret_cast<const bpf_insn*>(insns.data()), insns.size(), &opts);
    if (fd >= 0) close(fd);
    kernel_log.resize(std::strlen(kernel_log.c_str()));
    const std::string ours = log_of(socket_filter(c.text), c.level);
    ASSERT_NE(kernel_log.find("processed "), std::string::npos) << kernel_log;
    EXPECT_EQ(canonical(ours), canonical(comparable(kernel_log))) << "kernel:\n" << kernel_log;
  }
  close(map_fd);
}

}  // namespace
}  // namespace userbpf::verifier

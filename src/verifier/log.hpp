// The verifier log in the Linux kernel's format (kernel/bpf/log.c and do_check in verifier.c),
// for Options::log_level 1 and 2.
//
// The writer replays the kernel's log mechanics, not just its line formats, because the visible
// log depends on them:
//   - every processed instruction is printed as `N: (code) text` (the kernel's disassembly), after
//     its source line (`; text @ file.c:LINE`) when line_info names a new line;
//   - the registers and stack slots an instruction touched ("scratched") are printed at the next
//     instruction, appended to the previous instruction's line after `;` at the kernel's
//     alignment (or as an `N: R1=...` line when that line is not the log's last), and after a
//     conditional jump the state of the path that continues;
//   - level 1 keeps only the path being explored: taking a pushed branch truncates the log back
//     to where the branch was pushed, and an accepted program's log is emptied (so it shows just
//     the statistics line, and a refused one the path that failed);
//   - level 2 keeps everything and starts each branch with `from A to B: <all registers>`.
// What userbpf does not track is not printed: liveness and precision marks, the kernel's
// pre-pass output (`func#0 @0`, live-register tables) and its backtracking lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/decode.hpp"
#include "verifier/state.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {

// Linux's print_reg_state notation of one register, e.g. `0`, `ctx()`, `fp-8`,
// `map_value(map=counts,ks=4,vs=8)`, `scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0;
// 0xffffffff))`.
std::string format_reg_state(const RegState& reg, const FuncFrame& frame, const Program& program);

// Linux's print_verifier_state body for the registers in `regs` and the stack slots in `slots`
// (bit i: slot i, fp-8*(i+1)), or all of them: ` R1=ctx() R10=fp0 fp-8=mmmmmmmm`, frame prefix and
// held references included.
std::string format_frame_state(const VerifierState& st, const Program& program, bool all,
                               uint32_t regs = 0, const std::vector<bool>* slots = nullptr);

class VerifierLog {
 public:
  VerifierLog(const Program& program, const isa::Program& decoded, int level);

  bool enabled() const { return level_ > 0; }

  // do_check's per-instruction output, before instruction `insn` of `st` is checked: the
  // `from A to B:` header (level 2, first instruction of a branch), the scratched state of the
  // previous instruction, the source line and the instruction itself.
  void before_insn(const VerifierState& st, uint32_t insn);
  // After the instruction was checked: marks what it touched (`before` is the state it started
  // from) as scratched. `continues` is false when the path ended there.
  void after_insn(const VerifierState& st, uint32_t insn);
  // After a conditional jump: the state of the path that continues (print_insn_state in
  // check_cond_jmp_op). Call after the other branch was pushed.
  void after_cond_jmp(const VerifierState& st);
  // A branch was pushed at instruction `from` (push_stack remembers the log position).
  void pushed(uint32_t from);
  // The most recently pushed branch, to instruction `to`, is taken (pop_stack).
  void popped(uint32_t to);
  // A path reached `insn` in a state an explored one covers (`N: safe`, `from A to B: safe`).
  void pruned(uint32_t insn);
  // A path ended (exit or pruned): everything is scratched for the next one.
  void path_ended();
  // A returning bpf-to-bpf call: the next instruction starts with a `from` header (level 2).
  void returned(uint32_t from);
  // A message line (the kernel's verbose(env, "...\n")).
  void line(const std::string& text);
  // The verification result: level 1 of an accepted program is emptied (as do_check_common's
  // final reset does); the statistics line is added by the caller.
  void finish(bool accepted);

  const std::string& text() const { return buf_; }

 private:
  void print_insn_state(const VerifierState& st);
  void print_linfo(uint32_t insn);
  void reset_to(size_t pos);

  const Program& program_;
  const isa::Program& decoded_;
  int level_ = 0;
  std::string buf_;
  size_t prev_log_pos_ = 0;         // where the last instruction's text started... and ended
  size_t prev_insn_print_pos_ = 0;  // the length of that text
  int32_t prev_linfo_ = -1;         // index into program_.lines of the last source line printed
  bool do_print_state_ = false;
  uint32_t prev_insn_ = 0;
  bool all_scratched_ = true;
  uint32_t scratched_regs_ = 0;
  std::vector<bool> scratched_slots_;
  std::vector<StackSlot> stack_before_;
  struct Pending {
    size_t log_pos;
    uint32_t from;
  };
  std::vector<Pending> pending_;  // mirrors the explorer's branch stack
};

}  // namespace userbpf::verifier

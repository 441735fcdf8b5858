// The verifier's working environment for one program: the decoded instructions, the path being
// explored, the explored states per instruction, the log and the first error. Its member
// functions live in one file per concern (explore.cpp, check_alu.cpp, check_jmp.cpp,
// check_mem.cpp, check_call.cpp, diagnosis.cpp).
#pragma once

#include <fmt/format.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "isa/decode.hpp"
#include "isa/helper_prototypes.hpp"
#include "verifier/log.hpp"
#include "verifier/state.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {

struct KfuncDef;  // kfunc_table.hpp

// Precise scalars per frame (precision.cpp): registers as a bit mask, stack slots as a bit mask
// (slot i is fp-8*(i+1)); `all` when every scalar is.
struct Precision {
  std::array<uint16_t, isa::kMaxCallDepth> regs{};
  std::array<uint64_t, isa::kMaxCallDepth> slots{};
  bool all = false;
  bool empty() const {
    for (size_t f = 0; f < regs.size(); ++f)
      if (regs[f] || slots[f]) return false;
    return true;
  }
  bool reg(size_t frame, int r) const { return all || (regs[frame] >> r & 1); }
  bool slot(size_t frame, size_t s) const { return all || (s < 64 && (slots[frame] >> s & 1)); }
};

// liveness.cpp: per instruction, the registers some path from it reads before writing them
// (bit r for register r), within the instruction's function.
std::vector<uint16_t> compute_live_regs(const isa::Program& decoded);

// What a memory access does, for check_mem_access.
enum class Access : uint8_t { read, write };

class Env {
 public:
  Env(const Program& program, const isa::Program& decoded, const Options& options);

  // Explores every path; fills `verdict`.
  void run(Verdict& verdict);

  // Rejects with the kernel's message at the current instruction. Always returns false so that
  // checks can `return reject(...)`.
  template <typename... Args>
  bool reject(fmt::format_string<Args...> format, Args&&... args) {
    if (!error_) error_ = fmt::format(format, std::forward<Args>(args)...);
    return false;
  }

  // ---- explore.cpp
  enum class Step : uint8_t { next, jumped, path_done, failed };
  Step do_insn(VerifierState& st);
  bool push_branch(const VerifierState& st, uint32_t insn);
  bool check_exit(VerifierState& st, bool& path_done);
  uint32_t new_id() { return ++id_gen_; }

  // ---- check_alu.cpp
  bool check_reg_read(const VerifierState& st, int regno);
  bool check_alu(VerifierState& st, const isa::Insn& insn);
  bool scalar_alu(RegState& dst, const RegState& src, uint8_t op, bool alu64);
  bool pointer_alu(VerifierState& st, const isa::Insn& insn, RegState& dst, const RegState& ptr,
                   const RegState& scalar, int ptr_regno);

  // ---- check_jmp.cpp
  // Returns false on rejection; sets `taken` to 1/0 when the branch is decided, -1 otherwise, and
  // refines `st` (fall-through) and `other` (jump taken).
  bool check_cond_jmp(VerifierState& st, const isa::Insn& insn, VerifierState& other, int& taken);

  // ---- check_mem.cpp
  bool check_load(VerifierState& st, const isa::Insn& insn);
  bool check_store(VerifierState& st, const isa::Insn& insn);
  bool check_atomic(VerifierState& st, const isa::Insn& insn);
  bool check_lddw(VerifierState& st, const isa::Insn& insn);
  // `value` is the register stored (writes), `result` receives what a read gives.
  bool check_mem_access(VerifierState& st, int regno, int32_t off, int size, Access access,
                        const RegState* value, int value_regno, RegState* result);
  bool check_stack_write(VerifierState& st, const RegState& ptr, int regno, int32_t off, int size,
                         const RegState* value, int value_regno);
  bool check_stack_read(VerifierState& st, const RegState& ptr, int regno, int32_t off, int size,
                        RegState* result);
  // Helper arguments: `size` bytes at the pointer in `regno` must be accessible (and initialized
  // unless `uninit_ok`, which helpers that write the memory allow).
  bool check_helper_mem(VerifierState& st, int regno, int64_t size, Access access, bool uninit_ok,
                        bool zero_ok);
  // helper_stack.cpp: the same for a stack pointer (Linux's check_stack_range_initialized for
  // helpers); `raw_mode`: the helper only writes (MEM_UNINIT with a constant size).
  bool check_helper_stack(VerifierState& st, int regno, int64_t size, Access access, bool raw_mode,
                          bool zero_ok);

  // ---- context_access.cpp, return_code.cpp, packet_access.cpp (context.hpp has the rules)
  bool check_ctx_access(VerifierState& st, const RegState& ptr, int regno, int32_t off, int size,
                        Access access, bool sign_extend, RegState* result);
  bool check_packet_access(const RegState& ptr, int regno, int32_t off, int size, Access access);
  bool check_sock_access(const RegState& ptr, int regno, int32_t off, int size, Access access);
  bool check_return_code(const VerifierState& st);
  Step check_ld_abs(VerifierState& st, const isa::Insn& insn);
  // After a helper that may move the packet (bpf_helper_changes_pkt_data): every packet pointer
  // of every frame becomes unusable (clear_all_pkt_pointers).
  void clear_packet_pointers(VerifierState& st);

  // ---- check_call.cpp
  bool check_helper_call(VerifierState& st, const isa::Insn& insn);
  void refine_return_range(RegState& r0, uint32_t id, uint64_t size_max) const;
  bool check_local_call(VerifierState& st, const isa::Insn& insn);
  // global_calls.cpp: for a call of a global function whose prototype userbpf translates, checks
  // the caller's arguments against it and gives the callee's r1..r5 from it (`args`, left empty
  // for other calls); false on rejection.
  bool global_call_args(VerifierState& st, const isa::Insn& insn,
                        std::optional<std::array<RegState, 5>>& args);

  // ---- callbacks.cpp
  // Starts the path into the callback that helper `func_id` calls (from `st`, the caller's state
  // at the call with its arguments still in r1..r5).
  bool push_callback_call(const VerifierState& st, uint32_t func_id);
  // The exit of a callback frame: checks r0, returns to the call (iterating) or ends (async).
  bool callback_exit(VerifierState& st, bool& path_done);

  // ---- kfunc_check.cpp, kfunc_iter.cpp: kernel function calls and open-coded iterators
  bool check_kfunc_call(VerifierState& st, const isa::Insn& insn);
  const KfuncCall* kfunc_call_at(uint32_t insn) const;  // nullptr when the loader named none
  bool check_kfunc_mem(VerifierState& st, int regno, int64_t size, bool zero_ok);
  bool is_iter_next_call(uint32_t insn) const;  // a call of a KF_ITER_NEXT kfunc
  // Whether the iterator r1 points to at an iter_next call is active (Linux converges iterator
  // loops only then).
  bool iter_next_active(const VerifierState& st) const;
  // An iterator argument (process_iter_arg): creates, checks or destroys its stack slots and
  // gives the iterator's reference and first slot.
  bool process_iter_arg(VerifierState& st, int regno, const KfuncDef& kfunc, uint32_t& ref_obj_id,
                        uint32_t& iter_frame, size_t& iter_spi);
  // After an iter_next call: the path where it returned an element is queued one iteration
  // deeper, this one continues with the iterator drained and r0 = NULL.
  bool process_iter_next(VerifierState& st, uint32_t iter_frame, size_t iter_spi);

  // ---- references.cpp
  uint32_t acquire_reference(VerifierState& st);  // a new reference id, held by `st`
  // Drops the reference and invalidates every pointer that carries it; false when not held.
  bool release_reference(VerifierState& st, uint32_t ref_obj_id);
  void log_unreleased(const VerifierState& st);  // "Unreleased reference id=..." lines
  bool process_spin_lock(VerifierState& st, const RegState& reg, int regno, bool lock);

  // ---- precision.cpp: Linux's precision tracking (mark_chain_precision, backtrack_insn)
  // Marks the scalar in register `regno` of the current frame precise: a decision depends on its
  // value, so every explored state it came from must match it to prune.
  void mark_precise(const VerifierState& st, int regno);
  // A state pruned by `old`: the scalars `old` needed precise are needed along `st`'s path too.
  void propagate_precision(const Precision& old, const VerifierState& st);
  // Every scalar of every checkpoint from `checkpoint` up is precise (backtracking gave up).
  void mark_all_precise(int32_t checkpoint);
  // Whether states compare only the precise scalars (privileged programs, as Linux's
  // bpf_capable; unprivileged programs compare every scalar).
  bool tracks_precision() const { return privileged() && !explore_alu_limits_; }
  // The scalars linked to the compared registers of a conditional jump (0 when none).
  uint32_t record_linked_scalars(const VerifierState& st, const isa::Insn& insn);

  // ---- diagnosis.cpp
  void log_line(const std::string& line);
  Diagnosis diagnose(const VerifierState& st) const;

  const Program& program() const { return program_; }
  const isa::Program& decoded() const { return decoded_; }
  const Options& options() const { return options_; }
  bool privileged() const { return options_.privileged; }
  uint32_t cur_insn() const { return cur_insn_; }

 private:
  struct Checkpoint {
    VerifierState state;
    int32_t parent = -1;
    uint32_t branches = 0;  // live paths still continuing from this checkpoint
    uint32_t hits = 0;      // paths it pruned
    uint32_t misses = 0;    // comparisons that did not prune
    // The instructions from the parent checkpoint to this one (precision.cpp).
    std::vector<HistEntry> segment;
    // Which scalars a decision after this checkpoint depended on (Linux's precise marks), per
    // frame: registers, and spilled scalars by stack slot. Others need not match to prune.
    Precision precise;
  };
  bool is_prune_point(uint32_t insn) const { return prune_point_[insn]; }
  void widen(const VerifierState& old, VerifierState& cur);
  static constexpr uint32_t kWidenAfterIterations = 8;
  // Returns true when `st` is covered by an explored state (the path ends here).
  bool visit_state(VerifierState& st, bool& failed);
  void path_finished(const VerifierState& st);

  const Program& program_;
  const isa::Program& decoded_;
  const Options& options_;
  std::vector<bool> prune_point_;
  std::vector<bool> converge_point_;  // callback calls and may_goto: loops converge there
  std::unordered_map<uint32_t, uint32_t> iterations_;  // per converge point: unpruned revisits
  std::vector<std::vector<int32_t>> explored_;         // per insn: indexes into checkpoints_
  std::vector<Checkpoint> checkpoints_;
  std::vector<VerifierState> pending_;  // branches still to explore
  std::optional<std::string> error_;
  VerifierLog vlog_{program_, decoded_, options_.log_level};  // log.hpp; log_line writes to it
  uint32_t id_gen_ = 0;
  // Unprivileged pointer arithmetic with a register offset (Linux's insn_aux_data alu_state and
  // alu_limit): the masking the kernel would patch in must be the same on every path through the
  // instruction (check_alu.cpp).
  struct AluSanitation {
    uint32_t state = 0;
    uint32_t limit = 0;
  };
  std::vector<AluSanitation> alu_aux_;
  std::vector<uint32_t> call_map_;  // Verdict::call_map
  // precision.cpp
  bool backtrack_insn(const HistEntry& e, uint32_t next_insn, uint32_t next_frame,
                      Precision& bt) const;
  void backtrack(const VerifierState& st, Precision bt);
  HistEntry hist_cur_;  // the instruction being checked
  // check_mem.cpp: notes in hist_cur_ the stack slot a load, store or atomic uses.
  void record_stack_access(const RegState& ptr, int64_t off);
  std::vector<std::vector<uint16_t>> linked_sets_;  // HistEntry::linked
  std::vector<uint16_t> live_regs_;                 // liveness.cpp: per insn, registers read later
  bool explore_alu_limits_ = false;  // an unknown offset was masked: prune only equal scalars
  bool update_alu_sanitation(uint32_t state, uint32_t limit);
  // Per subprogram (by first instruction): the deepest stack byte any path touched, in 8-byte
  // slots (Linux's subprog_info stack_depth); check_max_stack_depth (call_depth.cpp) adds them
  // up along call chains after exploration.
  std::unordered_map<uint32_t, uint32_t> subprog_stack_depth_;
  void note_stack_depth(FuncFrame& frame, int64_t bytes);
  bool check_max_stack_depth();
  uint32_t cur_insn_ = 0;
  uint64_t processed_ = 0;
  uint64_t total_states_ = 0;
  uint64_t peak_states_ = 0;
  uint64_t max_states_per_insn_ = 0;
  uint64_t last_checkpoint_processed_ = 0;
  uint64_t jmps_processed_ = 0;  // jump, call and exit instructions (Linux's jmps_processed)
  uint64_t last_checkpoint_jmps_ = 0;
  uint32_t max_stack_depth_ = 0;
  VerifierState failed_state_;
};

// The context access rules per program type are in verifier/context.hpp.

// references.cpp: helpers whose result is a new reference (sockets, ringbuf records, sockmap
// lookups: Linux's is_acquire_function) or the same object as their argument
// (is_ptr_cast_function).
bool is_acquire_function(uint32_t func_id, uint32_t map_type);
bool is_ptr_cast_function(uint32_t func_id);
// callbacks.cpp: helpers that call a BPF function given as an argument.
bool calls_callback(uint32_t func_id);

}  // namespace userbpf::verifier

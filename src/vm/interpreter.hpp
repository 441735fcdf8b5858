// The eBPF interpreter. A decoded program is translated once into a pre-decoded, threaded form
// (one handler address per slot); run() executes it with Linux's semantics.
//
// Two modes:
//   - unchecked: for verified programs; memory accesses go straight to host memory.
//   - checked:   for programs nobody verified; every load, store and atomic is checked against the
//                regions the caller and the helpers handed out (plus the program's own stack), and
//                an instruction budget bounds the run. A bad access stops the run with an
//                Errc::fault error naming the instruction, address and size; no other host memory
//                is touched.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"
#include "vm/native_code.hpp"

namespace userbpf::vm {

namespace detail {
struct LoadedProgram;
}

// A block of host memory a program may access in checked mode.
struct Region {
  uint64_t start = 0;
  uint64_t size = 0;
  bool writable = false;
  const char* name = "memory";  // for error messages: "ctx", "packet", "map value", ...
};

class CallContext;

// A helper, called with Linux's convention: arguments in r1..r5, result in r0.
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                              CallContext& call);

struct Helper {
  const char* name = nullptr;  // Linux's name without the bpf_ prefix, e.g. "map_lookup_elem"
  HelperFn fn = nullptr;
  // Linux's bpf_func_proto::gpl_only: programs without a GPL-compatible license may not call it.
  bool gpl_only = false;
};

// Helpers by Linux helper id (enum bpf_func_id).
class HelperTable {
 public:
  void set(uint32_t id, Helper helper);
  const Helper* find(uint32_t id) const;

 private:
  std::vector<Helper> by_id_;
};

// Resolves the pseudo forms of lddw (map by fd or index, map value, BTF id) to the 64-bit value
// the program sees. Supplied by the runtime; without it those forms fail to load.
// BPF_PSEUDO_FUNC is resolved by the interpreter itself (to a callable function handle).
using LddwResolver = std::function<Result<uint64_t>(const isa::Insn& insn, size_t index)>;

struct LoadOptions {
  LddwResolver resolve_lddw;
};

struct RunOptions {
  bool checked = false;
  uint64_t insn_budget = 0;         // instructions per run, 0 = unlimited (checked mode only)
  std::span<const Region> regions;  // checked mode: memory the program may touch
  std::span<const uint8_t> packet;  // what LD_ABS / LD_IND read (socket-filter semantics)
  void* user = nullptr;             // handed to helpers as CallContext::user
};

struct RunResult {
  uint64_t r0 = 0;
  uint64_t insns_executed = 0;  // counted in checked mode only
};

class Interpreter {
 public:
  // Translates the program; fails on a helper id missing from `helpers` (naming it), an
  // unsupported instruction (kfunc calls) or an unresolvable lddw pseudo form.
  static Result<Interpreter> load(const isa::Program& program, const HelperTable& helpers,
                                  const LoadOptions& options = {});

  Interpreter(Interpreter&&) noexcept;
  Interpreter& operator=(Interpreter&&) noexcept;
  ~Interpreter();

  // Runs with r1 = arg1 and r2 = arg2 (as the conformance suite passes memory and its length).
  // Unchecked runs execute the attached machine code when there is some; checked runs always
  // interpret. A tail call continues in the target's engine by the same rule.
  Result<RunResult> run(uint64_t arg1, uint64_t arg2, const RunOptions& options = {}) const;

  // Engines beside the interpreter (src/jit): the translated program they compile, and machine
  // code compiled from it, attached before the program is shared (attach is not thread-safe).
  // The vm layer never includes the JIT; jit::attach(Interpreter&) is the usual way in.
  const detail::LoadedProgram& loaded_program() const;
  void attach_native(std::shared_ptr<const NativeCode> code);
  void detach_native();
  const NativeCode* native() const;

  struct Impl;

 private:
  friend class RepeatedRun;  // reuses one run state over many runs (vm/repeated_run.hpp)
  explicit Interpreter(std::unique_ptr<Impl> impl);
  // Runs `current` with r1..r5 = args and follows its tail calls; `executed` instructions and
  // `tail_calls` were already spent by the hops before it.
  static Result<RunResult> run_from(const Impl* current, RunOptions options, uint64_t (&args)[5],
                                    uint64_t executed, uint32_t tail_calls);
  std::unique_ptr<Impl> impl_;
};

// What a helper can ask of the run that called it.
class CallContext {
 public:
  virtual ~CallContext() = default;
  // Checked mode: lets the program access [start, start+size) from now on in this run
  // (memory a helper hands out, e.g. a map value).
  virtual void add_region(const Region& region) = 0;
  // Checked mode: is [addr, addr+size) accessible? Helpers check pointers they are given.
  virtual bool can_access(uint64_t addr, uint64_t size, bool write) const = 0;
  // Calls a BPF function handle (from an lddw BPF_PSEUDO_FUNC) with r1..r5, as bpf_loop does.
  virtual Result<uint64_t> call_function(uint64_t handle, uint64_t r1, uint64_t r2, uint64_t r3,
                                         uint64_t r4, uint64_t r5) = 0;
  // bpf_tail_call: once the calling helper returns, the run leaves the current program and goes
  // on in `target` from its first instruction with r1 = ctx, the same stack frame, the run's
  // regions and budget, and `target_user` as CallContext::user. Returns false (the helper falls
  // through) when the run already made MAX_TAIL_CALL_CNT (33) tail calls. A tail call from a
  // bpf-to-bpf subprogram or callback is not supported: the run fails with Errc::unsupported.
  virtual bool request_tail_call(const Interpreter& target, void* target_user, uint64_t ctx) {
    (void)target;
    (void)target_user;
    (void)ctx;
    return false;
  }
  // Opaque pointer the embedder attached to this run (the runtime's per-run state).
  void* user = nullptr;
};

// Linux's MAX_TAIL_CALL_CNT: tail calls one run may make.
inline constexpr uint32_t kMaxTailCalls = 33;

}  // namespace userbpf::vm

// The verifier: decides, as the Linux verifier does, whether a program is safe to run, and says
// why not in words people can act on. It sits between the object layer and the engines: it reads
// the decoded program (isa), the facts about the maps it references and the helper prototypes
// (isa/helper_prototypes.hpp), and never runs anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::verifier {

// What the verifier knows of a map the program references. Map references in the program are
// lddw with src_reg BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE (imm = index into `maps`: the
// loader resolves the object's map relocations into them). BPF_PSEUDO_MAP_FD /
// BPF_PSEUDO_MAP_VALUE carry a file descriptor nobody resolved and are refused as Linux refuses
// an fd that is not a map (resolve_ldimm64.hpp).
struct MapInfo {
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  int32_t spin_lock_off = -1;  // offset of struct bpf_spin_lock in the value, -1 when none
  int32_t timer_off = -1;
  uint32_t inner_map_index = UINT32_MAX;  // map-in-map: the template, as an index into `maps`
  bool frozen = false;                    // .rodata: reads of known offsets give known constants
  std::vector<uint8_t> frozen_contents;   // the value of a frozen single-entry array
  std::string name;
};

// The source position of an instruction (from .BTF.ext line_info), for messages.
struct SourceLine {
  uint32_t insn = 0;
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string text;
};

// A parameter of a global function as its BTF prototype gives it (what Linux's
// btf_prepare_func_args reads): a scalar, or a pointer with what it points to and its `arg:`
// decl tags (__arg_ctx, __arg_nonnull, ...).
struct FuncArg {
  enum class Kind : uint8_t { scalar, pointer, other };
  Kind kind = Kind::other;
  std::string pointee_struct;     // the struct pointed to (modifiers and typedefs skipped)
  std::string pointee_typedef;    // the first typedef on the way (kprobes' bpf_user_pt_regs_t)
  uint32_t pointee_size = 0;      // bytes, 0 when the size cannot be determined (void)
  std::vector<std::string> tags;  // "ctx", "nonnull", ... (the text after "arg:")
};

// One function of the program (bpf-to-bpf calls): where it starts and its BTF name if known.
struct FuncInfo {
  uint32_t insn = 0;
  std::string name;
  // The BTF return type is an integer or an enum (Linux's btf_type_is_small_int ||
  // btf_is_any_enum): only such subprograms may hold LD_ABS or a tail call (subprog_returns.hpp).
  bool returns_scalar = true;
  // BTF_FUNC_GLOBAL linkage: Linux verifies such a function once, from its prototype, not with
  // its caller's arguments (global_calls.cpp).
  bool global = false;
  std::vector<FuncArg> args;
};

// One parameter (or the return value) of a kernel function as its BTF prototype gives it.
struct KfuncParam {
  std::string name;        // the parameter's name, with Linux's suffixes ("buf__sz", "it")
  bool pointer = false;    // a pointer; `type` is then the pointee
  bool is_struct = false;  // the type (pointee) is a struct or union
  std::string type;        // "int", "u64", "void", "task_struct", "bpf_iter_num"
  uint32_t size = 0;       // bytes of the type (pointee), 0 for void or unknown
  friend bool operator==(const KfuncParam&, const KfuncParam&) = default;
};

// A BPF_PSEUDO_KFUNC_CALL of the program: the extern function's name and the prototype the
// program declared for it in its BTF. The verifier checks the call against its own kfunc table
// (the kernel's prototypes and flags), as Linux checks it against vmlinux BTF.
struct KfuncCall {
  uint32_t insn = 0;
  std::string name;
  bool weak = false;
  bool declared = false;           // whether the object's BTF gave a prototype
  std::vector<KfuncParam> params;  // as declared by the program
  KfuncParam ret;                  // type "void" for none
};

struct Program {
  std::vector<isa::RawInsn> insns;  // as relocated by the loader
  uint32_t prog_type = 0;           // enum bpf_prog_type
  uint32_t expected_attach_type = 0;
  std::string attach_target;  // e.g. the tracepoint for tp_btf, the function for fentry
  bool gpl = false;
  std::vector<MapInfo> maps;
  std::vector<FuncInfo> funcs;         // empty: only the entry function (calls discover the rest)
  std::vector<SourceLine> lines;       // sorted by insn
  std::string name;                    // for messages
  bool sleepable = false;              // BPF_F_SLEEPABLE (libbpf's ".s" sections and "syscall")
  std::vector<KfuncCall> kfunc_calls;  // sorted by insn
};

struct Options {
  bool privileged = true;  // root (CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN) or unprivileged
  int log_level = 0;       // 0: none; 1: the kernel's level 1 log; 2: every instruction's state
  uint64_t insn_limit = 1'000'000;  // BPF_COMPLEXITY_LIMIT_INSNS
  bool strict_alignment = false;    // BPF_F_STRICT_ALIGNMENT
  // BPF_F_TEST_STATE_FREQ: keep a state at every prune point (Linux's test_state_freq), not
  // only after 2 jumps and 8 instructions.
  bool test_state_freq = false;
  // Linux's nr_cpu_ids: bpf_get_smp_processor_id() returns less (do_refine_retval_range). The
  // runtime sets the CPU numbering its maps and helpers use; 0 leaves the result unbounded.
  uint32_t nr_cpu_ids = 0;
};

// For people: what went wrong, where, and what usually fixes it.
struct Diagnosis {
  uint32_t insn = 0;
  std::string message;     // the kernel's message (what selftests' __msg match), e.g.
                           // "R0 invalid mem access 'map_value_or_null'"
  std::string source;      // "file.c:42: text" when line_info names the instruction
  std::string registers;   // the register states that matter, in the kernel's notation
  std::string suggestion;  // e.g. "check the pointer from bpf_map_lookup_elem against NULL"
};

struct Verdict {
  bool accepted = false;
  Diagnosis diagnosis;           // when rejected
  std::string log;               // the kernel-style log at Options::log_level
  uint64_t processed_insns = 0;  // "processed N insns"
  uint64_t peak_states = 0;
  uint64_t total_states = 0;
  uint32_t max_stack_depth = 0;
  std::chrono::nanoseconds elapsed{0};
  // Rewrites the engines need (the kernel's convert_ctx_accesses and fixups), e.g. xdp_md data
  // loads into pointer loads; empty when the program runs as loaded.
  std::vector<isa::RawInsn> rewritten;
  // Per instruction: the map (index into Program::maps) r1 holds at a helper call on every path
  // that reached it (Linux's insn_aux_data map_ptr_state), kNoMap where no map was passed and
  // kMixedMaps where paths passed different maps. Engines use it to inline map helpers.
  static constexpr uint32_t kNoMap = UINT32_MAX;
  static constexpr uint32_t kMixedMaps = UINT32_MAX - 1;
  std::vector<uint32_t> call_map;
};

// Verifies `program`. An Error is returned only for input the verifier cannot even look at
// (e.g. an empty program); a rejected program is a Verdict with accepted == false.
Result<Verdict> verify(const Program& program, const Options& options = {});

}  // namespace userbpf::verifier

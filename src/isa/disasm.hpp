// Text form of decoded instructions in the syntax of Linux's kernel/bpf/disasm.c, which is what the
// verifier log and `bpftool prog dump xlated` show: `r0 = *(u32 *)(r1 +4)`, `if r1 > 0x5 goto
// pc+3`, `call bpf_map_lookup_elem#1`, `r1 = map[id:3]`.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "isa/instruction.hpp"

namespace userbpf::isa {

struct DisasmOptions {
  // Text printed after `rN = ` for an lddw. When unset, or when it returns nullopt, the text is
  // bpftool's: `map[id:N]` (BPF_PSEUDO_MAP_FD, the kernel puts the map id there when dumping),
  // `map[id:N][0]+OFF` (MAP_VALUE), `map[idx:N]+OFF` (MAP_IDX_VALUE), `subprog[+N]` (FUNC),
  // else the 64-bit value as `0x...`. Use it to name maps.
  std::function<std::optional<std::string>(const Insn&)> lddw_text;
  // Name printed for a kfunc call (`call NAME#imm`); Linux prints `kernel-function` without one.
  std::function<std::optional<std::string>(const Insn&)> kfunc_name;
  // Linux's verifier log hides map pointers (prints 0x0 for MAP_FD/MAP_VALUE loads) unless the
  // reader may see kernel pointers; bpftool always shows them. Only affects the default lddw text.
  bool allow_ptr_leaks = true;
  // dump_xlated only: follow each line with the instruction's bytes, as `bpftool ... opcodes`.
  bool opcodes = false;
};

// The text of instruction `index` without the `(code) ` prefix, e.g. `r0 = 0`. An lddw tail slot
// gives an empty string (Linux prints nothing for it). `index` must be < prog.size().
std::string format_insn(const Program& prog, size_t index, const DisasmOptions& options = {});

// The whole program as `bpftool prog dump xlated` prints it: one line per instruction,
// `% 4d: (%02x) text\n` (index right-aligned in 4 columns, opcode in hex), lddw tails skipped.
std::string dump_xlated(const Program& prog, const DisasmOptions& options = {});

}  // namespace userbpf::isa

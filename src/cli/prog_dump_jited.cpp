// `userbpf prog dump jited PROG [opcodes] [linum] [file FILE]`: the x86-64 machine code the JIT
// makes of a loaded program in this process (the runtime's engine must be the JIT, and only a
// verified program has machine code), disassembled by zydis (jited_disasm.hpp) and interleaved
// with the program's eBPF instructions in `prog dump xlated` form, their function signatures and
// source lines. bpftool's jited dump shows the image under source lines only; with every eBPF
// instruction beside its code the dump shows what each instruction costs.
//
//   int hello(void * ctx):
//   ; int hello(void *ctx)
//      0: (b7) r1 = 0
//         4b:	push rbp                  <- a function's prologue goes with its first instruction
//         ...
//         6c:	xor esi, esi
//
// Machine lines are bpftool's `%4x:\t` (hex image offset, tab, Intel syntax) indented under
// their eBPF instruction; `opcodes` adds a line of the instruction's bytes. The image also holds
// code no eBPF instruction owns: the entry trampoline before the program and the out-of-line
// stubs (fell-off and call-depth faults, the shared return) after it, printed under their own
// headers. -j gives an array: {"section":"entry trampoline","jited":[...]}, then per eBPF
// instruction {"insn":N,["proto"],["src",...],"disasm":"(b7) r1 = 0","jited":[...]}, then
// {"section":"out-of-line code","jited":[...]}; each machine instruction is bpftool's
// {"pc":"0x4b","operation":"push","operands":["rbp"]} (+ "opcodes":["0x55"]).
// `file FILE` writes the image's bytes to FILE, as bpftool does.
#include "cli/prog_dump_jited.hpp"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/func_signature.hpp"
#include "cli/jited_disasm.hpp"
#include "cli/map_format.hpp"
#include "cli/runtime_access.hpp"
#include "cli/xlated_annotations.hpp"
#include "isa/decode.hpp"
#include "isa/disasm.hpp"
#include "jit/jit.hpp"

namespace userbpf::cli {
namespace {

constexpr const char* kTrampolineHeader = "entry trampoline";
constexpr const char* kStubsHeader = "out-of-line code";

// The machine code of each eBPF instruction: image ranges by instruction index.
struct ImageLayout {
  size_t trampoline_end = 0;  // [0, trampoline_end): the entry trampoline
  // By instruction index (lddw tails empty): the listing of the instruction's machine code.
  std::vector<std::vector<MachineInsn>> insns;
  std::vector<MachineInsn> trampoline, stubs;
};

Result<ImageLayout> lay_out(const vm::NativeCode& native, const isa::Program& prog) {
  const size_t insn_count = prog.size();
  if (native.code == nullptr || native.insn_offsets.size() != insn_count || insn_count == 0 ||
      native.main == nullptr) {
    return make_error(Errc::invalid_argument, "the JIT image does not describe the program");
  }
  const std::span<const uint8_t> image(native.code, native.code_size);
  // Where each function's code starts (its prologue, which its first instruction owns): the
  // program's at `main`, a BPF_PSEUDO_FUNC target's in `functions`, a bpf-to-bpf callee's where
  // the machine call of its caller goes.
  std::vector<std::optional<size_t>> function_start(insn_count);
  function_start[0] = static_cast<size_t>(static_cast<const uint8_t*>(native.main) - native.code);
  for (size_t i = 0; i < insn_count && i < native.functions.size(); ++i) {
    if (native.functions[i] != nullptr)
      function_start[i] =
          static_cast<size_t>(static_cast<const uint8_t*>(native.functions[i]) - native.code);
  }
  for (size_t i = 0; i < insn_count; ++i) {
    const isa::Insn& insn = prog.insns[i];
    if (insn.kind != isa::Kind::call || insn.call != isa::CallKind::local) continue;
    if (insn.target < 0 || size_t(insn.target) >= insn_count || i + 1 >= insn_count) continue;
    for (const MachineInsn& code :
         disassemble_x86(image, native.insn_offsets[i], native.insn_offsets[i + 1])) {
      if (code.is_call && code.target) {
        function_start[size_t(insn.target)] = size_t(*code.target);
        break;
      }
    }
  }
  const auto start_of = [&](size_t i) -> size_t {
    return function_start[i].value_or(native.insn_offsets[i]);
  };

  ImageLayout layout;
  layout.trampoline_end = start_of(0);
  layout.trampoline = disassemble_x86(image, 0, layout.trampoline_end);
  layout.insns.resize(insn_count);
  size_t body_end = 0;
  for (size_t i = 0; i < insn_count; ++i) {
    if (prog.insns[i].is_lddw_tail()) continue;
    // An instruction's code runs up to the next instruction's (an lddw's includes its tail slot).
    size_t next = i + 1;
    while (next < insn_count && prog.insns[next].is_lddw_tail()) ++next;
    if (next < insn_count) {
      layout.insns[i] = disassemble_x86(image, start_of(i), start_of(next));
    } else {
      // The out-of-line code follows the last instruction directly; a verified program ends in
      // exit or ja, whose code ends in ret or jmp.
      layout.insns[i] = disassemble_x86(image, start_of(i), image.size(), true);
    }
    if (!layout.insns[i].empty()) {
      const MachineInsn& last = layout.insns[i].back();
      body_end = std::max(body_end, size_t{last.offset} + last.bytes.size());
    }
  }
  layout.stubs = disassemble_x86(image, body_end, image.size());
  return layout;
}

void print_machine_plain(std::ostream& out, const std::vector<MachineInsn>& listing, bool opcodes) {
  for (const MachineInsn& insn : listing) {
    out << fmt::format("    {:4x}:\t{}\n", insn.offset, insn.text);
    if (opcodes) out << "\t\t" << hex_bytes(insn.bytes) << "\n";
  }
}

nlohmann::ordered_json machine_json(const std::vector<MachineInsn>& listing, bool opcodes) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const MachineInsn& insn : listing) {
    nlohmann::ordered_json j{{"pc", fmt::format("0x{:x}", insn.offset)},
                             {"operation", insn.operation},
                             {"operands", insn.operands}};
    if (opcodes) j["opcodes"] = hex_bytes_json(insn.bytes);
    array.push_back(std::move(j));
  }
  return array;
}

}  // namespace

Status do_prog_dump_jited(Context& ctx, Args args) {
  auto request = parse_dump_request(ctx, args, /*accepts_visual=*/false);
  if (!request) return request.take_error();
  runtime::Runtime* rt = &request->rt;
  const runtime::ProgramRecord* record = &request->record;
  const bool linum = request->linum;
  const bool opcodes = request->opcodes;
  const std::string& out_file = request->out_file;

  // Only machine code that would run is shown: the JIT gets verified programs only.
  if (!record->verified) {
    return make_error(Errc::unsupported,
                      "prog '" + record->name + "' was loaded unverified: it has no JIT image");
  }
  if (rt->engine() != runtime::Engine::jit) {
    return make_error(Errc::unsupported, "prog '" + record->name +
                                             "' has no JIT image: engine is " +
                                             std::string(runtime::engine_name(rt->engine())));
  }
  if (!jit::available()) {
    return make_error(Errc::unsupported,
                      "prog '" + record->name + "' has no JIT image: the JIT supports x86-64 only");
  }
  auto runnable = rt->instantiate(*record);
  if (!runnable) return runnable.take_error();
  const vm::NativeCode* native = (*runnable)->interpreter().native();
  if (native == nullptr) {
    return make_error(Errc::unsupported, "prog '" + record->name + "' has no JIT image");
  }

  if (!out_file.empty()) {
    return write_dump_file(ctx, out_file, native->code, native->code_size);
  }

  auto prog = isa::decode(record->insns);
  if (!prog) return prog.take_error();
  auto layout = lay_out(*native, *prog);
  if (!layout) {
    Error e = layout.take_error();
    e.message = "prog '" + record->name + "': " + e.message;
    return e;
  }

  const XlatedAnnotations notes = annotate_loaded(*rt, *record, *prog);
  const isa::DisasmOptions& options = notes.options;

  if (ctx.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    out.push_back(
        {{"section", kTrampolineHeader}, {"jited", machine_json(layout->trampoline, opcodes)}});
    for (size_t i = 0; i < prog->size(); ++i) {
      if (prog->insns[i].is_lddw_tail()) continue;
      nlohmann::ordered_json j{{"insn", i}};
      add_source_json(j, notes, i, linum);
      j["disasm"] =
          fmt::format("({:02x}) {}", prog->raw[i].code, isa::format_insn(*prog, i, options));
      j["jited"] = machine_json(layout->insns[i], opcodes);
      out.push_back(std::move(j));
    }
    out.push_back({{"section", kStubsHeader}, {"jited", machine_json(layout->stubs, opcodes)}});
    ctx.print_json(out);
    return ok_status();
  }

  ctx.out << kTrampolineHeader << ":\n";
  print_machine_plain(ctx.out, layout->trampoline, opcodes);
  for (size_t i = 0; i < prog->size(); ++i) {
    const isa::Insn& insn = prog->insns[i];
    if (insn.is_lddw_tail()) continue;
    if (!notes.signature_at[i].empty()) ctx.out << notes.signature_at[i] << ":\n";
    if (const runtime::SourceLineRecord* line = notes.line_at[i]) {
      print_source_line(ctx.out, *line, linum);
    }
    ctx.out << fmt::format("{:4}: ({:02x}) {}\n", i, insn.opcode,
                           isa::format_insn(*prog, i, options));
    print_machine_plain(ctx.out, layout->insns[i], opcodes);
  }
  ctx.out << kStubsHeader << ":\n";
  print_machine_plain(ctx.out, layout->stubs, opcodes);
  return ok_status();
}

}  // namespace userbpf::cli

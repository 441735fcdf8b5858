// `userbpf prog dump xlated PROG [linum] [opcodes] [file FILE]` for a loaded program: bpftool's
// dump of the instructions as loaded, with the source lines of the program's line info before the
// instructions they start (`; int key = 0;`, with `linum` also
// ` [file:prog.c line_num:12 line_col:7]`), and map references shown as the kernel shows them,
// `map[id:N]` and `map[id:N][0]+OFF`. A program with func_info gets each function's BTF
// signature before its first instruction (`int hello(void * ctx):`). Under -j each instruction
// object carries "proto" and "src" (and with linum "file", "line_num", "line_col") as bpftool's
// JSON does.
#include <bpf/btf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/func_signature.hpp"
#include "cli/map_format.hpp"
#include "cli/prog.hpp"
#include "cli/runtime_access.hpp"
#include "cli/xlated_annotations.hpp"
#include "isa/decode.hpp"
#include "isa/disasm.hpp"

namespace userbpf::cli {
Status do_prog_dump_loaded(Context& ctx, Args args) {
  auto request = parse_dump_request(ctx, args, /*accepts_visual=*/true);
  if (!request) return request.take_error();
  runtime::Runtime* rt = &request->rt;
  const runtime::ProgramRecord* record = &request->record;
  const bool linum = request->linum;
  const bool opcodes = request->opcodes;
  const std::string& out_file = request->out_file;

  if (!out_file.empty()) {
    return write_dump_file(ctx, out_file, record->insns.data(),
                           record->insns.size() * sizeof(isa::RawInsn));
  }

  auto prog = isa::decode(record->insns);
  if (!prog) return prog.take_error();
  const XlatedAnnotations notes = annotate_loaded(*rt, *record, *prog);
  isa::DisasmOptions options = notes.options;
  if (ctx.json) {
    nlohmann::ordered_json insns = nlohmann::ordered_json::array();
    for (size_t i = 0; i < prog->size(); ++i) {
      if (prog->insns[i].is_lddw_tail()) continue;
      nlohmann::ordered_json j = nlohmann::ordered_json::object();
      add_source_json(j, notes, i, linum);
      j["disasm"] =
          fmt::format("({:02x}) {}", prog->raw[i].code, isa::format_insn(*prog, i, options));
      if (opcodes) {
        const isa::RawInsn& raw = prog->raw[i];
        uint8_t imm[12] = {};
        std::memcpy(imm, &raw.imm, 4);
        const bool wide = prog->insns[i].kind == isa::Kind::lddw && i + 1 < prog->raw.size();
        if (wide) std::memcpy(imm + 4, &prog->raw[i + 1], 8);
        uint8_t off[2];
        std::memcpy(off, &raw.off, 2);
        j["opcodes"] = {{"code", fmt::format("0x{:02x}", raw.code)},
                        {"src_reg", fmt::format("0x{:x}", raw.src_reg)},
                        {"dst_reg", fmt::format("0x{:x}", raw.dst_reg)},
                        {"off", hex_bytes_json(std::span<const uint8_t>(off, 2))},
                        {"imm", hex_bytes_json(std::span<const uint8_t>(imm, wide ? 12 : 4))}};
      }
      insns.push_back(std::move(j));
    }
    ctx.print_json(insns);
    return ok_status();
  }

  options.opcodes = opcodes;
  for (size_t i = 0; i < prog->size(); ++i) {
    const isa::Insn& insn = prog->insns[i];
    if (insn.is_lddw_tail()) continue;
    if (!notes.signature_at[i].empty()) ctx.out << notes.signature_at[i] << ":\n";
    if (const runtime::SourceLineRecord* line = notes.line_at[i]) {
      print_source_line(ctx.out, *line, linum);
    }
    ctx.out << fmt::format("{:4}: ({:02x}) {}\n", i, insn.opcode,
                           isa::format_insn(*prog, i, options));
    if (opcodes) {
      const auto* p = reinterpret_cast<const uint8_t*>(&prog->raw[i]);
      ctx.out << "       " << hex_bytes(std::span<const uint8_t>(p, 8));
      if (insn.kind == isa::Kind::lddw && i + 1 < prog->raw.size()) {
        ctx.out << " " << hex_bytes(std::span<const uint8_t>(p + 8, 8));
      }
      ctx.out << "\n";
    }
  }
  return ok_status();
}

}  // namespace userbpf::cli

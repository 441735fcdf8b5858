// `userbpf prog dump xlated FILE [opcodes] [file OUT]`: bpftool's dump of a program's
// instructions (a loaded program, `prog dump xlated PROG`, is prog_dump_loaded.cpp's), in the
// kernel disassembler's syntax. Plain output is isa::dump_xlated's; -j gives bpftool's JSON shape,
// one object per instruction (lddw tails skipped):
//   [{"disasm":"(b7) r0 = 0"}, ...]   with `opcodes`, each object also has
//   "opcodes":{"code":"0xb7","src_reg":"0x0","dst_reg":"0x0","off":["0x00","0x00"],
//              "imm":["0x00","0x00","0x00","0x00"]}   (an lddw's imm lists 12 bytes, as bpftool)
// `file OUT` writes the instruction bytes to OUT instead, as bpftool does.
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/prog.hpp"
#include "cli/prog_dump_jited.hpp"
#include "cli/program_input.hpp"
#include "cli/runtime_access.hpp"
#include "isa/disasm.hpp"

namespace userbpf::cli {
namespace {

constexpr OptionSpec kDumpOptions[] = {
    {"format", 0, "", "FORMAT", "asm, raw, data or elf instead of detecting"},
    {"opcodes", 0, "opcodes", "", "show each instruction's bytes"},
    {"file", 0, "file", "FILE", "write the instruction bytes to FILE"},
};

constexpr std::string_view kFileArg[] = {"FILE"};

nlohmann::ordered_json hex_bytes_json(const uint8_t* bytes, size_t n) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (size_t i = 0; i < n; ++i) array.push_back(fmt::format("0x{:02x}", bytes[i]));
  return array;
}

nlohmann::ordered_json opcodes_json(const isa::Program& prog, size_t index) {
  const isa::RawInsn& raw = prog.raw[index];
  // An lddw's immediate is its own imm plus the whole second slot, 12 bytes in memory order.
  uint8_t imm[12] = {};
  std::memcpy(imm, &raw.imm, 4);
  const bool wide = prog.insns[index].kind == isa::Kind::lddw && index + 1 < prog.raw.size();
  if (wide) std::memcpy(imm + 4, &prog.raw[index + 1], 8);
  uint8_t off[2];
  std::memcpy(off, &raw.off, 2);
  return nlohmann::ordered_json{{"code", fmt::format("0x{:02x}", raw.code)},
                                {"src_reg", fmt::format("0x{:x}", raw.src_reg)},
                                {"dst_reg", fmt::format("0x{:x}", raw.dst_reg)},
                                {"off", hex_bytes_json(off, 2)},
                                {"imm", hex_bytes_json(imm, wide ? 12 : 4)}};
}

Status dump_xlated(Context& ctx, Args args) {
  // A loaded program: PROG handle, possibly after global options.
  for (const std::string& word : args) {
    if (word.starts_with("-")) continue;
    if (is_handle_keyword(HandleKind::prog, word)) return do_prog_dump_loaded(ctx, args);
    break;
  }
  auto parsed =
      parse_command_args(args, kDumpOptions, ParseRules{"prog dump xlated", kFileArg}, ctx);
  if (!parsed) return parsed.take_error();
  if (parsed->has("help")) return do_prog_help(ctx, {});
  std::optional<InputFormat> format;
  if (const std::string* f = parsed->value("format")) {
    auto parsed_format = parse_format(*f);
    if (!parsed_format) return parsed_format.take_error();
    format = *parsed_format;
  }
  const std::string& path = parsed->positionals[0];
  auto loaded = load_program(path, format);
  if (!loaded) return loaded.take_error();
  const isa::Program& prog = loaded->program;

  if (const std::string* out_path = parsed->value("file")) {
    std::ofstream file(*out_path, std::ios::binary | std::ios::trunc);
    if (file) {
      file.write(reinterpret_cast<const char*>(prog.raw.data()),
                 std::streamsize(prog.raw.size() * sizeof(isa::RawInsn)));
    }
    if (!file) return make_error(Errc::io, "can't write '" + *out_path + "'");
    return ok_status();
  }

  isa::DisasmOptions options;
  options.opcodes = parsed->has("opcodes");
  if (!ctx.json) {
    ctx.out << isa::dump_xlated(prog, options);
    return ok_status();
  }
  nlohmann::ordered_json insns = nlohmann::ordered_json::array();
  for (size_t i = 0; i < prog.size(); ++i) {
    if (prog.insns[i].is_lddw_tail()) continue;
    nlohmann::ordered_json insn{{"disasm", fmt::format("({:02x}) {}", prog.raw[i].code,
                                                       isa::format_insn(prog, i, options))}};
    if (options.opcodes) insn["opcodes"] = opcodes_json(prog, i);
    insns.push_back(std::move(insn));
  }
  ctx.print_json(insns);
  return ok_status();
}

constexpr Command kDumpCommands[] = {
    {"xlated", dump_xlated},
    {"jited", do_prog_dump_jited},
};

}  // namespace

Status do_prog_dump(Context& ctx, Args args) {
  return dispatch(ctx, CommandTable{"prog dump", kDumpCommands, "", do_prog_help}, args);
}

}  // namespace userbpf::cli

#include "cli/xlated_annotations.hpp"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <fstream>
#include <memory>

#include "cli/func_signature.hpp"
#include "cli/runtime_access.hpp"

namespace userbpf::cli {
namespace {

std::string ltrim(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : text.substr(start);
}

}  // namespace

Result<DumpRequest> parse_dump_request(Context& ctx, Args args, bool accepts_visual) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto match = resolve_single(*rt, HandleKind::prog, *words);
  if (!match) return match.take_error();
  bool linum = false, opcodes = false;
  std::string out_file;
  for (size_t i = match->consumed; i < words->size(); ++i) {
    const std::string& word = (*words)[i];
    if (word == "linum") {
      linum = true;
    } else if (word == "opcodes") {
      opcodes = true;
    } else if (word == "file" && i + 1 < words->size()) {
      out_file = (*words)[++i];
    } else if (word == "visual" && accepts_visual) {
      return make_error(Errc::unsupported, "'visual' is not supported yet");
    } else {
      return make_error(Errc::invalid_argument, "unexpected argument '" + word + "'");
    }
  }
  auto record = rt->program(match->ids[0]);
  if (!record) return record.take_error();
  return DumpRequest{std::move(*rt), std::move(*record), linum, opcodes, std::move(out_file)};
}

Status write_dump_file(Context& ctx, const std::string& path, const void* data, size_t size) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!file) return make_error(Errc::io, "can't write '" + path + "'");
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

XlatedAnnotations annotate_loaded(runtime::Runtime& rt, const runtime::ProgramRecord& record,
                                  const isa::Program& prog) {
  XlatedAnnotations notes;
  notes.options.lddw_text =
      [map_ids = record.map_ids](const isa::Insn& insn) -> std::optional<std::string> {
    if (insn.src != BPF_PSEUDO_MAP_IDX && insn.src != BPF_PSEUDO_MAP_IDX_VALUE) return std::nullopt;
    if (insn.imm < 0 || size_t(insn.imm) >= map_ids.size()) return std::nullopt;
    const uint32_t id = map_ids[size_t(insn.imm)];
    // The kernel dumps a loaded program's map references by id.
    if (insn.src == BPF_PSEUDO_MAP_IDX) return fmt::format("map[id:{}]", id);
    return fmt::format("map[id:{}][0]+{}", id, insn.next_imm);
  };

  notes.signature_at.resize(prog.size());
  if (record.btf_id != 0 && !record.funcs.empty()) {
    const std::string path = (rt.dir().btf() / (std::to_string(record.btf_id) + ".btf")).string();
    std::unique_ptr<btf, void (*)(btf*)> b(btf__parse_raw(path.c_str()), btf__free);
    for (const runtime::FuncInfoRecord& f : record.funcs) {
      if (b && f.insn < notes.signature_at.size())
        notes.signature_at[f.insn] = func_signature(b.get(), f.type_id);
    }
  }

  // The first line record at an index wins, as bpf_prog_linfo__lfind.
  notes.line_at.assign(prog.size(), nullptr);
  for (const runtime::SourceLineRecord& line : record.lines) {
    if (line.insn < notes.line_at.size() && notes.line_at[line.insn] == nullptr)
      notes.line_at[line.insn] = &line;
  }
  return notes;
}

void print_source_line(std::ostream& out, const runtime::SourceLineRecord& line, bool linum) {
  out << "; " << ltrim(line.text);
  if (linum) {
    out << " [file:" << line.file << " line_num:" << line.line << " line_col:" << line.column
        << "]";
  }
  out << "\n";
}

void add_source_json(nlohmann::ordered_json& j, const XlatedAnnotations& notes, size_t insn,
                     bool linum) {
  if (!notes.signature_at[insn].empty()) j["proto"] = notes.signature_at[insn];
  const runtime::SourceLineRecord* line = notes.line_at[insn];
  if (!line) return;
  j["src"] = ltrim(line->text);
  if (linum) {
    j["file"] = line->file;
    if (line->line) j["line_num"] = line->line;
    if (line->column) j["line_col"] = line->column;
  }
}

}  // namespace userbpf::cli

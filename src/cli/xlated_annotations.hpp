// What `prog dump xlated` and `prog dump jited` print around each eBPF instruction of a loaded
// program: map references by id, the function signature where a function starts (func_info and
// the program's BTF) and the source line (line_info), as bpftool prints them.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command_table.hpp"
#include "cli/context.hpp"
#include "isa/disasm.hpp"
#include "isa/instruction.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::cli {

// `prog dump xlated|jited PROG [file FILE] [opcodes] [linum]`: the program and the options.
struct DumpRequest {
  runtime::Runtime rt;
  runtime::ProgramRecord record;
  bool linum = false;
  bool opcodes = false;
  std::string out_file;  // `file FILE`: the raw image instead of text
};
Result<DumpRequest> parse_dump_request(Context& ctx, Args args, bool accepts_visual);

// Writes `file FILE` (the raw image); with -j prints null as bpftool does.
Status write_dump_file(Context& ctx, const std::string& path, const void* data, size_t size);

struct XlatedAnnotations {
  isa::DisasmOptions options;                             // lddw map references as map[id:N]
  std::vector<std::string> signature_at;                  // by instruction; "" where none starts
  std::vector<const runtime::SourceLineRecord*> line_at;  // by instruction; nullptr where none
};

// `record` must outlive the result (line_at points into it).
XlatedAnnotations annotate_loaded(runtime::Runtime& rt, const runtime::ProgramRecord& record,
                                  const isa::Program& prog);

// "; <source>" with bpftool's "[file:F line_num:N line_col:C]" under `linum`, and a newline.
void print_source_line(std::ostream& out, const runtime::SourceLineRecord& line, bool linum);

// The instruction's "proto", "src" and (under `linum`) "file", "line_num", "line_col" fields.
void add_source_json(nlohmann::ordered_json& j, const XlatedAnnotations& notes, size_t insn,
                     bool linum);

}  // namespace userbpf::cli

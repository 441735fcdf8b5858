#include "cli/prog.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/link.hpp"
#include "cli/trace.hpp"

namespace userbpf::cli {
namespace {

// bpftool's prog commands in bpftool's order; those without a handler are not implemented yet.
// `list` and `dump` win their prefix ties (bpftool resolves `prog l` and `prog d` by table order).
constexpr Command kProgCommands[] = {
    {"show", do_prog_show},         {"list", do_prog_show, true}, {"help", do_prog_help},
    {"dump", do_prog_dump, true},   {"pin", do_prog_pin},         {"load", do_prog_load},
    {"loadall", do_prog_loadall},   {"attach", do_prog_attach},   {"detach", do_prog_detach},
    {"tracelog", do_prog_tracelog}, {"run", do_prog_run},         {"profile", nullptr},
};

}  // namespace

Status do_prog_help(Context& ctx, Args) {
  if (ctx.json) {
    ctx.print_json(nullptr);  // bpftool prints null for help under -j
    return ok_status();
  }
  const std::string& bin = ctx.bin_name;
  // Continuation lines line up under FILE, after "Usage: BIN prog run ".
  const std::string pad(bin.size() + 17, ' ');
  ctx.err
      << "Usage: " << bin << " prog { show | list } [PROG]\n"
      << "       " << bin << " prog load OBJ PATH [type TYPE] [pinmaps DIR]\n"
      << "       " << bin << " prog loadall OBJ PATH [type TYPE] [pinmaps DIR]\n"
      << "       " << bin << " prog pin PROG PATH\n"
      << "       " << bin << " prog attach PROG [ATTACH_TYPE TARGET] [cookie N]\n"
      << "       " << bin << " prog detach PROG [ATTACH_TYPE TARGET]\n"
      << "       " << bin << " prog dump xlated PROG [linum] [opcodes]\n"
      << "       " << bin << " prog dump jited PROG [linum] [opcodes] [file FILE]\n"
      << "       " << bin << " prog run { PROG | OBJ [--prog NAME] } [data_in FILE] [ctx_in FILE]\n"
      << "                [--data-hex HEX] [--ctx-hex HEX] [data_out FILE] [ctx_out FILE]\n"
      << "                [repeat N]\n"
      << "       " << bin << " prog tracelog\n"
      << "       " << bin << " prog run FILE [{ data_in | --data } FILE | --data-hex HEX]\n"
      << pad << "[{ data_out | --data-out } FILE] [{ repeat | --repeat } N]\n"
      << pad << "[--format FORMAT] [--engine interp]\n"
      << pad << "[--checked | --unchecked] [--budget N]\n"
      << "       " << bin << " prog dump xlated FILE [--format FORMAT] [opcodes] [file FILE]\n"
      << "       " << bin << " prog help\n"
      << "\n"
      << "       PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }\n"
      << "       ATTACH_TYPE := { tracepoint | raw_tracepoint | kprobe | kretprobe | ksyscall |\n"
      << "                        kretsyscall | uprobe | uretprobe | usdt }\n"
      << "       TARGET := { CATEGORY:NAME | FUNCTION | BINARY:FUNCTION | ... }; without\n"
      << "                 ATTACH_TYPE the program attaches where its section name says\n"
      << "       FILE := { assembly text | raw instructions | conformance .data file }\n"
      << "       FORMAT := { asm | raw | data | elf }\n"
      << "       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-d|--debug} | --state-dir DIR }\n"
      << "\n"
      << "       The program gets r1 = the data and r2 = its length. A checked run stops a\n"
      << "       program after --budget instructions (default 10000000; 0 = no limit).\n";
  return ok_status();
}

Status do_prog_tracelog(Context& ctx, Args args) {
  return stream_trace(ctx, args);
}

Status do_prog(Context& ctx, Args args) {
  // bpftool runs `prog show` without a command.
  return dispatch(ctx, CommandTable{"prog", kProgCommands, "show", do_prog_help}, args);
}

}  // namespace userbpf::cli

// `userbpf prog run PROG ...` and `userbpf prog run OBJ [--prog NAME] ...`: bpftool's test run of
// a loaded program (PROG := id ID | pinned PATH | tag TAG | name NAME) or of a program of an ELF
// object, which is loaded into the runtime for the run and released when this process exits.
// The runtime's test_run builds the context each program type expects (xdp_md, __sk_buff, a
// tracepoint record, pt_regs, ...) from data_in / ctx_in, and trace_printk output goes to the
// runtime's trace buffer, where `userbpf trace_pipe` shows it.
#include <bpf/btf.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/ctx_json.hpp"
#include "cli/hex.hpp"
#include "cli/map_btf.hpp"
#include "cli/prog.hpp"
#include "cli/prog_run_redirect.hpp"
#include "cli/program_input.hpp"
#include "cli/runtime_access.hpp"
#include "cli/verify_options.hpp"
#include "object/object.hpp"
#include "runtime/runtime_btf.hpp"
#include "runtime/test_run.hpp"

namespace userbpf::cli {
namespace {

constexpr OptionSpec kLoadedRunOptions[] = {
    {"data", 0, "data_in", "FILE", "input data (packet); - for stdin"},
    {"data-hex", 0, "", "HEX", "input data as hex"},
    {"data-out", 0, "data_out", "FILE", "write the data after the run to FILE; - prints it"},
    {"ctx", 0, "ctx_in", "FILE", "input context (e.g. a tracepoint record)"},
    {"ctx-hex", 0, "", "HEX", "input context as hex"},
    {"ctx-json", 0, "", "JSON", "input context as a JSON object of its struct's fields"},
    {"ctx-out", 0, "ctx_out", "FILE", "write the context after the run to FILE; - prints it"},
    {"repeat", 0, "repeat", "N", "run N times, print the mean duration"},
    {"prog", 0, "", "NAME", "the object's program to run (default: the first)"},
    {"checked", 0, "", "", "check every memory access (in the interpreter)"},
    {"unchecked", 0, "", "", "run without checks (the default for verified programs)"},
    kUnverifiedOption,
    kLogLevelOption,
};

constexpr std::string_view kObjectArg[] = {"OBJ"};

Result<std::vector<uint8_t>> input_bytes(const ParsedArgs& parsed, std::string_view file_option,
                                         std::string_view hex_option) {
  const std::string* file = parsed.value(file_option);
  const std::string* hex = parsed.value(hex_option);
  if (file && hex) {
    return make_error(Errc::invalid_argument, "--" + std::string(file_option) + " and --" +
                                                  std::string(hex_option) +
                                                  " can't be used together");
  }
  if (file) return read_file(*file);
  if (hex) {
    auto bytes = parse_hex(*hex);
    if (!bytes) {
      Error error = bytes.take_error();
      error.message = "--" + std::string(hex_option) + ": " + error.message;
      return error;
    }
    return bytes;
  }
  return std::vector<uint8_t>{};
}

// The context: raw bytes (ctx_in FILE, --ctx-hex) or JSON (--ctx-json, or a ctx_in file that
// holds a JSON object), encoded through the runtime's BTF (ctx_json.hpp).
Result<std::vector<uint8_t>> context_input(const ParsedArgs& parsed,
                                           const runtime::ProgramRecord& record) {
  const std::string* json_text = parsed.value("ctx-json");
  if (json_text && (parsed.value("ctx") || parsed.value("ctx-hex"))) {
    return make_error(Errc::invalid_argument, "--ctx-json can't be used with ctx_in or --ctx-hex");
  }
  std::string text;
  if (json_text) {
    text = *json_text;
  } else {
    auto bytes = input_bytes(parsed, "ctx", "ctx-hex");
    if (!bytes || !parsed.value("ctx")) return bytes;
    const size_t first =
        std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size())
            .find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || (*bytes)[first] != '{') return bytes;
    text.assign(bytes->begin(), bytes->end());
  }
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    return make_error(Errc::invalid_argument, "the context is not a JSON object: " + text);
  }
  auto type = context_type_name(record);
  if (!type) return type.take_error();
  return context_from_json(runtime::runtime_btf().get(), *type, value);
}

Status write_output(Context& ctx, const std::string& path, std::span<const uint8_t> bytes) {
  if (path == "-") {
    ctx.out << hex_dump(bytes);
    return ok_status();
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!file) return make_error(Errc::io, "can't write '" + path + "'");
  return ok_status();
}

Status run_record(Context& ctx, runtime::Runtime& rt, const runtime::ProgramRecord& record,
                  const ParsedArgs& parsed) {
  runtime::TestRunInput input;
  auto data = input_bytes(parsed, "data", "data-hex");
  if (!data) return data.take_error();
  input.data_in = std::move(*data);
  auto ctx_in = context_input(parsed, record);
  if (!ctx_in) return ctx_in.take_error();
  input.ctx_in = std::move(*ctx_in);
  if (const std::string* repeat = parsed.value("repeat")) {
    auto n = parse_unsigned(*repeat, "repeat number");
    if (!n) return n.take_error();
    if (*n > UINT32_MAX) {
      return make_error(Errc::invalid_argument,
                        "repeat number " + *repeat + " is above 4294967295");
    }
    input.repeat = static_cast<uint32_t>(*n);
  }
  if (parsed.has("checked") && parsed.has("unchecked")) {
    return make_error(Errc::invalid_argument, "--checked and --unchecked can't be used together");
  }
  // A verified program runs as the kernel runs it, without checks, in the runtime's engine (the
  // JIT by default); an unverified one only checked. --checked asks for the checked interpreter.
  input.checked = parsed.has("checked") || !record.verified;
  if (parsed.has("unchecked") && !record.verified) {
    return make_error(Errc::invalid_argument,
                      "prog '" + record.name +
                          "' was loaded unverified and runs only checked; --unchecked needs a "
                          "program the verifier accepted");
  }

  auto runnable = rt.instantiate(record);
  if (!runnable) return runnable.take_error();
  auto output = runtime::test_run(**runnable, input);
  if (!output) return output.take_error();

  const std::string* data_out = parsed.value("data-out");
  const std::string* ctx_out = parsed.value("ctx-out");
  if (!ctx.json) {
    if (data_out) {
      if (Status s = write_output(ctx, *data_out, output->data_out); !s) return s;
    }
    if (ctx_out) {
      if (Status s = write_output(ctx, *ctx_out, output->ctx_out); !s) return s;
    }
    // The kernel reports the low 32 bits of r0.
    ctx.out << "Return value: " << static_cast<uint32_t>(output->retval) << ", duration"
            << (input.repeat > 1 ? " (average)" : "") << ": " << output->duration_ns << "ns\n";
    if (ctx.debug) ctx.out << redirect_line(rt, *output);  // bpftool has no such line
    return ok_status();
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (data_out && *data_out != "-") {
    if (Status s = write_output(ctx, *data_out, output->data_out); !s) return s;
  } else if (data_out) {
    out["data_out"] = to_hex(output->data_out);
  }
  if (ctx_out && *ctx_out != "-") {
    if (Status s = write_output(ctx, *ctx_out, output->ctx_out); !s) return s;
  } else if (ctx_out) {
    out["ctx_out"] = to_hex(output->ctx_out);
    // userbpf's own: the context decoded by its BTF type, as --ctx-json takes it.
    if (auto type = context_type_name(record)) {
      const ::btf* b = runtime::runtime_btf().get();
      const int id = btf__find_by_name_kind(b, type->c_str(), BTF_KIND_STRUCT);
      if (id > 0) {
        if (auto formatted = btf_format(b, static_cast<uint32_t>(id), output->ctx_out)) {
          out["ctx_out_formatted"] = *formatted;
        }
      }
    }
  }
  out["retval"] = static_cast<uint32_t>(output->retval);
  out["duration"] = output->duration_ns;
  if (output->redirected) out["redirect"] = redirect_json(rt, *output);
  ctx.print_json(out);
  return ok_status();
}

bool is_elf_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[4] = {};
  return file.read(magic, 4) && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

}  // namespace

bool run_targets_runtime(Args args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word.starts_with("-") && word.size() > 1) {
      // Skip the value of a long option that takes one (--data FILE ...).
      if (word.starts_with("--") && word.find('=') == std::string::npos) {
        const std::string_view name = std::string_view(word).substr(2);
        for (const OptionSpec& spec : kLoadedRunOptions) {
          if (spec.name == name && spec.takes_value()) ++i;
        }
        if (name == "data" || name == "format" || name == "engine" || name == "budget" ||
            name == "state-dir")
          ++i;
      }
      continue;
    }
    return is_handle_keyword(HandleKind::prog, word) || is_elf_file(word);
  }
  return false;
}

Status do_prog_run_loaded(Context& ctx, Args args) {
  // The handle's two words may follow global options; everything else is options and keywords.
  std::vector<std::string> rest;
  std::vector<std::string> handle;
  for (size_t i = 0; i < args.size(); ++i) {
    if (handle.empty() && is_handle_keyword(HandleKind::prog, args[i]) && i + 1 < args.size()) {
      handle = {args[i], args[i + 1]};
      ++i;
      continue;
    }
    rest.push_back(args[i]);
  }
  const std::span<const std::string_view> positionals =
      handle.empty() ? std::span<const std::string_view>(kObjectArg)
                     : std::span<const std::string_view>();
  auto parsed =
      parse_command_args(rest, kLoadedRunOptions, ParseRules{"prog run", positionals}, ctx);
  if (!parsed) return parsed.take_error();
  if (parsed->has("help")) return do_prog_help(ctx, {});
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();

  if (!handle.empty()) {
    if (parsed->has("prog")) {
      return make_error(Errc::invalid_argument, "--prog selects a program of an object file");
    }
    auto match = resolve_single(*rt, HandleKind::prog, handle);
    if (!match) return match.take_error();
    auto record = rt->program(match->ids[0]);
    if (!record) return record.take_error();
    return run_record(ctx, *rt, *record, *parsed);
  }

  const std::string& path = parsed->positionals[0];
  auto obj = object::open(path);
  if (!obj) return obj.take_error();
  if (obj->programs.empty()) {
    return make_error(Errc::invalid_argument, "object file doesn't contain any bpf program",
                      Location{path, "", -1, -1});
  }
  runtime::LoadOptions options;
  if (const std::string* name = parsed->value("prog")) {
    if (!obj->find_program(*name)) {
      bool by_section = false;
      for (const auto& prog : obj->programs) by_section |= prog.section == *name;
      if (!by_section) {
        return make_error(Errc::not_found, "no program '" + *name + "' in the object",
                          Location{path, "", -1, -1});
      }
    }
    options.only_program = *name;
  } else {
    options.only_program = obj->programs.front().name;
  }
  if (Status s = apply_verify_options(*parsed, ctx, options); !s) return s;
  auto loaded = rt->load(*obj, options);
  if (!loaded) return with_object(loaded.take_error(), path);
  if (loaded->empty()) return make_error(Errc::invalid_argument, "no program was loaded");
  // The program is owned by this process: the runtime collects it after we exit.
  return run_record(ctx, *rt, loaded->front(), *parsed);
}

}  // namespace userbpf::cli

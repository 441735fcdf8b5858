// `userbpf prog run FILE ...`: bpftool's `prog run` (BPF_PROG_TEST_RUN) for a program in a file.
// The program runs in the interpreter over a private copy of the data, with the conformance
// suite's convention r1 = data, r2 = its length. As the kernel's test run does, all repetitions
// share that one buffer, data_out is its state after the last one, and the duration printed is
// the mean per repetition.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/hex.hpp"
#include "cli/prog.hpp"
#include "cli/program_input.hpp"
#include "cli/runtime_access.hpp"
#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::cli {
namespace {

// The default instruction budget of a checked run: a looping program stops with an error in well
// under a second instead of hanging.
constexpr uint64_t kDefaultBudget = 10'000'000;

constexpr OptionSpec kRunOptions[] = {
    {"data", 0, "data_in", "FILE", "input data (the program's r1/r2); - for stdin"},
    {"data-hex", 0, "", "HEX", "input data as hex"},
    {"data-out", 0, "data_out", "FILE", "write the data after the run to FILE; - prints it"},
    {"repeat", 0, "repeat", "N", "run N times, print the mean duration"},
    {"format", 0, "", "FORMAT", "asm, raw, data or elf instead of detecting"},
    {"engine", 0, "", "ENGINE", "interp"},
    {"checked", 0, "", "", "check every memory access, bound the run (default)"},
    {"unchecked", 0, "", "", "run without checks (only for verified programs)"},
    {"budget", 0, "", "N", "instruction budget of a checked run; 0 = unlimited"},
};

constexpr std::string_view kFileArg[] = {"FILE"};

struct RunSettings {
  std::string path;
  std::optional<InputFormat> format;
  std::optional<std::vector<uint8_t>> data;
  std::string data_out;  // empty: not requested
  uint64_t repeat = 1;
  bool checked = true;
  uint64_t budget = kDefaultBudget;
};

Result<RunSettings> settings_from(const ParsedArgs& parsed) {
  RunSettings s;
  s.path = parsed.positionals[0];
  if (const std::string* f = parsed.value("format")) {
    auto format = parse_format(*f);
    if (!format) return format.take_error();
    s.format = *format;
  }
  if (const std::string* engine = parsed.value("engine"); engine && *engine != "interp") {
    return make_error(Errc::unsupported, "engine '" + *engine + "' is not supported yet");
  }
  const std::string* data_file = parsed.value("data");
  const std::string* data_hex = parsed.value("data-hex");
  if (data_file && data_hex) {
    return make_error(Errc::invalid_argument, "--data and --data-hex can't be used together");
  }
  if (data_file && *data_file == "-" && s.path == "-") {
    return make_error(Errc::invalid_argument, "the program and data_in can't both come from stdin");
  }
  if (data_file) {
    auto bytes = read_file(*data_file);
    if (!bytes) return bytes.take_error();
    s.data = std::move(*bytes);
  }
  if (data_hex) {
    auto bytes = parse_hex(*data_hex);
    if (!bytes) {
      Error error = bytes.take_error();
      error.message = "--data-hex: " + error.message;
      return error;
    }
    s.data = std::move(*bytes);
  }
  if (const std::string* out = parsed.value("data-out")) s.data_out = *out;
  if (const std::string* repeat = parsed.value("repeat")) {
    auto n = parse_unsigned(*repeat, "repeat number");
    if (!n) return n.take_error();
    // bpftool hands the kernel a u32, and the kernel runs a repeat of 0 once.
    if (*n > UINT32_MAX) {
      return make_error(Errc::invalid_argument,
                        "repeat number " + *repeat + " is above 4294967295");
    }
    s.repeat = *n == 0 ? 1 : *n;
  }
  if (parsed.has("checked") && parsed.has("unchecked")) {
    return make_error(Errc::invalid_argument, "--checked and --unchecked can't be used together");
  }
  s.checked = !parsed.has("unchecked");
  if (const std::string* budget = parsed.value("budget")) {
    if (!s.checked) {
      return make_error(Errc::invalid_argument, "--budget needs a checked run, not --unchecked");
    }
    auto n = parse_unsigned(*budget, "instruction budget");
    if (!n) return n.take_error();
    s.budget = *n;
  }
  return s;
}

Status write_data_out(const std::string& path, std::span<const uint8_t> data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  if (!file) return make_error(Errc::io, "can't write '" + path + "'");
  return ok_status();
}

}  // namespace

Status do_prog_run(Context& ctx, Args args) {
  if (run_targets_runtime(args)) return do_prog_run_loaded(ctx, args);
  auto parsed = parse_command_args(args, kRunOptions, ParseRules{"prog run", kFileArg}, ctx);
  if (!parsed) return parsed.take_error();
  if (parsed->has("help")) return do_prog_help(ctx, {});
  auto settings = settings_from(*parsed);
  if (!settings) return settings.take_error();
  const RunSettings& s = *settings;

  auto loaded = load_program(s.path, s.format);
  if (!loaded) return loaded.take_error();
  std::vector<uint8_t> data = s.data ? *s.data : loaded->memory.value_or(std::vector<uint8_t>{});
  const bool has_data = s.data.has_value() || loaded->memory.has_value();

  // Linux's helpers. A program that calls one gets the runtime's environment, so trace_printk
  // output reaches the trace buffer `userbpf trace_pipe` reads; the state directory is opened
  // only then.
  auto interp = vm::Interpreter::load(loaded->program, helpers::linux_helpers());
  if (!interp) return with_file(interp.take_error(), s.path);
  std::optional<runtime::Runtime> rt;
  helpers::ProgramEnv env;
  env.checked = s.checked;
  env.gpl = true;
  const bool calls_helpers =
      std::any_of(loaded->program.insns.begin(), loaded->program.insns.end(), [](const auto& in) {
        return in.kind == isa::Kind::call && in.call == isa::CallKind::helper;
      });
  if (calls_helpers) {
    auto opened = open_runtime(ctx);
    if (!opened) return opened.take_error();
    rt.emplace(std::move(*opened));
    env.trace = &rt->trace();
  }

  const vm::Region region{reinterpret_cast<uint64_t>(data.data()), data.size(), true, "data"};
  vm::RunOptions options;
  options.checked = s.checked;
  options.insn_budget = s.checked ? s.budget : 0;
  options.user = &env;
  if (!data.empty()) options.regions = std::span<const vm::Region>(&region, 1);
  const uint64_t r1 = data.empty() ? 0 : reinterpret_cast<uint64_t>(data.data());

  vm::RunResult last;
  uint64_t insns = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < s.repeat; ++i) {
    auto result = interp->run(r1, data.size(), options);
    if (!result) return with_file(result.take_error(), s.path);
    last = *result;
    insns += result->insns_executed;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const uint64_t total_ns =
      uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  const uint64_t mean_ns = total_ns / s.repeat;

  if (!s.data_out.empty() && s.data_out != "-") {
    if (Status st = write_data_out(s.data_out, data); !st) return st;
  }
  if (ctx.debug) {
    ctx.err << "format " << format_name(loaded->format) << ", " << loaded->program.size()
            << " insns, " << data.size() << " bytes of data, "
            << (s.checked ? "checked" : "unchecked") << " run";
    if (s.checked) ctx.err << ", " << insns / s.repeat << " insns executed per run";
    ctx.err << "\n";
  }
  if (ctx.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    if (has_data) out["data_out"] = to_hex(data);
    out["retval"] = last.r0;
    // bpftool names the field "duration"; "duration_ns" says the unit.
    out["duration"] = mean_ns;
    out["duration_ns"] = mean_ns;
    if (s.repeat > 1) out["repeat"] = s.repeat;
    ctx.print_json(out);
  } else {
    if (s.data_out == "-") ctx.out << hex_dump(data);
    // bpftool's line, with the full 64-bit r0 (the kernel's retval is 32 bits).
    ctx.out << "Return value: " << last.r0 << ", duration" << (s.repeat > 1 ? " (average)" : "")
            << ": " << mean_ns << "ns\n";
  }
  return ok_status();
}

}  // namespace userbpf::cli

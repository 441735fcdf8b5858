// `userbpf verify`: each program of an object prepared as a load prepares it (CO-RE against the
// runtime's BTF, kconfig) and given to the verifier. Plain output: one verdict line per program,
// the diagnosis under a refused one, the log first when --log-level asks for it. -j: an array
// with per program the verdict, processed instructions, states, time and diagnosis. The exit
// status is 0 only when every program passes (1 when one is refused; 255 for errors).
#include "cli/verify.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/prog.hpp"
#include "cli/verify_options.hpp"
#include "object/object.hpp"
#include "runtime/records.hpp"
#include "runtime/verify.hpp"

namespace userbpf::cli {
namespace {

constexpr OptionSpec kVerifyOptions[] = {
    {"prog", 0, "", "NAME", "verify only this program (function or section name)"},
    {"type", 0, "type", "TYPE", "program type where the section does not tell it"},
    {"unpriv", 0, "", "", "verify as an unprivileged user"},
    kLogLevelOption,
};

constexpr std::string_view kVerifyArgs[] = {"OBJ"};

nlohmann::ordered_json diagnosis_json(const verifier::Diagnosis& d) {
  nlohmann::ordered_json j;
  j["insn"] = d.insn;
  j["message"] = d.message;
  if (!d.source.empty()) j["source"] = d.source;
  if (!d.registers.empty()) j["registers"] = d.registers;
  if (!d.suggestion.empty()) j["suggestion"] = d.suggestion;
  return j;
}

std::string duration_text(std::chrono::nanoseconds elapsed) {
  return fmt::format("{:.3f} ms", static_cast<double>(elapsed.count()) / 1e6);
}

}  // namespace

Status do_verify(Context& ctx, Args args) {
  auto parsed = parse_command_args(args, kVerifyOptions, ParseRules{"verify", kVerifyArgs}, ctx);
  if (!parsed) return parsed.take_error();
  if (parsed->has("help")) {
    if (ctx.json) {
      ctx.print_json(nullptr);
      return ok_status();
    }
    ctx.err << "Usage: " << ctx.bin_name
            << " verify OBJ [--prog NAME] [--type TYPE] [--unpriv] [--log-level N]\n"
            << "       Verifies the object's programs without loading them; exits 0 only when "
               "every program passes.\n"
            << "       TYPE := bpftool's program type names (xdp, kprobe, ...) or a section name\n"
            << "       N := { 1 (the failing path) | 2 (every instruction's state) }\n";
    return ok_status();
  }
  const std::string& path = parsed->positionals[0];
  auto opened = object::open(path);
  if (!opened) return with_object(opened.take_error(), path);
  object::Object obj = std::move(*opened);
  if (Status prepared = runtime::prepare_for_runtime(obj); !prepared)
    return with_object(prepared.take_error(), path);

  uint32_t prog_type = 0;
  if (const std::string* type = parsed->value("type")) {
    auto parsed_type = parse_prog_type(*type);
    if (!parsed_type) return parsed_type.take_error();
    prog_type = *parsed_type;
  }
  verifier::Options options;
  options.privileged = !parsed->has("unpriv");
  if (const std::string* level = parsed->value("log-level")) {
    auto parsed_level = parse_log_level(*level);
    if (!parsed_level) return parsed_level.take_error();
    options.log_level = *parsed_level;
  }
  const std::string* only = parsed->value("prog");

  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  size_t checked = 0, refused = 0;
  for (const object::Program& prog : obj.programs) {
    if (only && prog.name != *only && prog.section != *only) continue;
    ++checked;
    auto verdict = runtime::verify_program(obj, prog, options, prog_type);
    if (!verdict) return with_object(verdict.take_error(), path);
    const uint32_t type = prog_type ? prog_type : static_cast<uint32_t>(prog.def.prog_type);
    if (!verdict->accepted) ++refused;
    if (ctx.json) {
      nlohmann::ordered_json j;
      j["name"] = prog.name;
      j["section"] = prog.section;
      j["type"] = runtime::prog_type_name(type);
      j["verdict"] = verdict->accepted ? "accepted" : "refused";
      j["processed_insns"] = verdict->processed_insns;
      j["peak_states"] = verdict->peak_states;
      j["total_states"] = verdict->total_states;
      j["max_stack_depth"] = verdict->max_stack_depth;
      j["time_ns"] = verdict->elapsed.count();
      j["diagnosis"] =
          verdict->accepted ? nlohmann::ordered_json(nullptr) : diagnosis_json(verdict->diagnosis);
      if (options.log_level > 0) j["log"] = verdict->log;
      results.push_back(std::move(j));
      continue;
    }
    if (options.log_level > 0) ctx.out << verdict->log;
    ctx.out << "prog '" << prog.name << "' (" << runtime::prog_type_name(type) << ", section "
            << prog.section << "): " << (verdict->accepted ? "accepted" : "refused") << ", "
            << verdict->processed_insns << " insns processed, " << verdict->peak_states
            << " peak states, " << duration_text(verdict->elapsed) << "\n";
    if (!verdict->accepted) {
      ctx.out << "  " << runtime::format_diagnosis(verdict->diagnosis) << "\n";
    }
  }
  if (checked == 0) {
    return make_error(Errc::not_found,
                      only ? "object has no program '" + *only + "'" : "object has no programs",
                      Location{path, "", -1, -1});
  }
  if (ctx.json) ctx.print_json(results);
  if (refused > 0) {
    ctx.exit_code = 1;
    if (!ctx.json) {
      ctx.err << refused << " of " << checked << " programs refused by the verifier\n";
    }
  }
  return ok_status();
}

}  // namespace userbpf::cli

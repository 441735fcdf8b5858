// `userbpf prog { show | list } [PROG]`: bpftool's listing of loaded programs, plain and JSON.
//   42: tracepoint  name hello  tag 093791c3e29ffc4f  gpl
//   	loaded_at 2026-11-26T01:23:45+0000  uid 0
//   	xlated 128B  not jited  memlock 4096B  map_ids 3,4
//   	pinned /sys/fs/bpf/hello
// userbpf has no JIT, so every program is "not jited"; memlock is the instructions rounded up to
// pages, as Linux charges a small program.
#include <time.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/prog.hpp"
#include "cli/runtime_access.hpp"

namespace userbpf::cli {
namespace {

std::string local_time(uint64_t epoch_seconds) {
  const time_t t = static_cast<time_t>(epoch_seconds);
  struct tm tm_value {};
  if (!localtime_r(&t, &tm_value)) return std::to_string(epoch_seconds);
  char buf[64];
  strftime(buf, sizeof buf, "%FT%T%z", &tm_value);
  return buf;
}

void print_plain(Context& ctx, const runtime::ProgramRecord& rec,
                 const std::vector<std::string>& pins) {
  const uint64_t xlated = rec.insns.size() * sizeof(isa::RawInsn);
  std::ostream& out = ctx.out;
  out << rec.id << ": " << runtime::prog_type_name(rec.prog_type) << "  ";
  if (!rec.name.empty()) out << "name " << rec.name << "  ";
  out << "tag " << rec.tag << (rec.gpl ? "  gpl" : "") << "\n";
  if (rec.loaded_at != 0) {
    out << "\tloaded_at " << local_time(rec.loaded_at) << "  uid " << rec.uid << "\n";
  }
  out << "\txlated " << xlated << "B  not jited  memlock " << round_to_pages(xlated) << "B";
  if (const auto used = runtime::used_map_ids(rec); !used.empty()) {
    out << "  map_ids ";
    for (size_t i = 0; i < used.size(); ++i) out << (i ? "," : "") << used[i];
  }
  for (const std::string& pin : pins) out << "\n\tpinned " << pin;
  if (rec.btf_id != 0) out << "\n\tbtf_id " << rec.btf_id;
  // userbpf's own line, only for programs loaded with --unverified (bpftool has no such state).
  if (!rec.verified) out << "\n\tunverified: runs only in the checked interpreter";
  out << "\n";
}

nlohmann::ordered_json to_json_object(const runtime::ProgramRecord& rec,
                                      const std::vector<std::string>& pins) {
  const uint64_t xlated = rec.insns.size() * sizeof(isa::RawInsn);
  nlohmann::ordered_json j;
  j["id"] = rec.id;
  j["type"] = runtime::prog_type_name(rec.prog_type);
  if (!rec.name.empty()) j["name"] = rec.name;
  j["tag"] = rec.tag;
  j["gpl_compatible"] = rec.gpl;
  if (rec.loaded_at != 0) {
    j["loaded_at"] = rec.loaded_at;  // bpftool's JSON gives seconds since the epoch
    j["uid"] = rec.uid;
  }
  j["orphaned"] = false;
  j["bytes_xlated"] = xlated;
  j["jited"] = false;
  j["bytes_memlock"] = round_to_pages(xlated);
  if (const auto used = runtime::used_map_ids(rec); !used.empty()) j["map_ids"] = used;
  if (rec.btf_id != 0) j["btf_id"] = rec.btf_id;
  if (!pins.empty()) j["pinned"] = pins;
  j["verified"] = rec.verified;  // false: loaded with --unverified, runs only checked
  if (rec.verified) j["verified_insns"] = rec.verified_insns;  // bpf_prog_info's verified_insns
  return j;
}

}  // namespace

Status do_prog_show(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();

  std::vector<runtime::ProgramRecord> records;
  bool subset = false;
  if (!words->empty()) {
    auto match = resolve_handle(*rt, HandleKind::prog, *words);
    if (!match) return match.take_error();
    if (match->consumed != words->size()) {
      return make_error(Errc::invalid_argument,
                        "unexpected argument '" + (*words)[match->consumed] + "'");
    }
    for (uint32_t id : match->ids) {
      auto rec = rt->program(id);
      if (!rec) return rec.take_error();
      records.push_back(std::move(*rec));
    }
    subset = true;
  } else {
    records = rt->programs();
  }

  if (ctx.json) {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& rec : records) {
      all.push_back(to_json_object(rec, rt->pins_of({runtime::PinKind::prog, rec.id})));
    }
    // bpftool prints a lone object for a handle naming one program, an array otherwise.
    ctx.print_json(subset && all.size() == 1 ? all[0] : all);
    return ok_status();
  }
  for (const auto& rec : records) {
    print_plain(ctx, rec, rt->pins_of({runtime::PinKind::prog, rec.id}));
  }
  return ok_status();
}

}  // namespace userbpf::cli

// `userbpf prog load OBJ PATH [type TYPE] [pinmaps DIR]`, `prog loadall OBJ PATH [type TYPE]
// [pinmaps DIR]` and `prog pin PROG PATH`: bpftool's loading and pinning over the runtime. Every
// program is verified first; a refused one fails the command with its diagnosis (--unverified
// skips the verifier, -d / --log-level N print its log: verify_options.hpp).
//
// bpftool's rules: `load` pins the object's first program at PATH; `loadall` pins every program
// as PATH/<function name>; `pinmaps DIR` pins every map as DIR/<map name>. A pinned program lives
// after this process exits, so ownership is handed over once the pins exist. When a step fails,
// nothing is handed over and what was loaded dies with this process.
#include <linux/bpf.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/prog.hpp"
#include "cli/runtime_access.hpp"
#include "cli/verify_options.hpp"
#include "object/object.hpp"

namespace userbpf::cli {
namespace {

constexpr OptionSpec kLoadOptions[] = {
    {"type", 0, "type", "TYPE", "program type (bpftool's names or a section name)"},
    {"pinmaps", 0, "pinmaps", "DIR", "pin the object's maps under DIR"},
    kUnverifiedOption,
    kLogLevelOption,
};

constexpr std::string_view kLoadArgs[] = {"OBJ", "PATH"};

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

Status load_and_pin(Context& ctx, Args args, bool all) {
  const std::string_view command = all ? "prog loadall" : "prog load";
  auto parsed = parse_command_args(args, kLoadOptions, ParseRules{command, kLoadArgs}, ctx);
  if (!parsed) return parsed.take_error();
  if (parsed->has("help")) return do_prog_help(ctx, {});
  const std::string& object_path = parsed->positionals[0];
  const std::string& pin_path = parsed->positionals[1];

  auto obj = object::open(object_path);
  if (!obj) return obj.take_error();
  if (obj->programs.empty()) {
    return make_error(Errc::invalid_argument, "object file doesn't contain any bpf program",
                      Location{object_path, "", -1, -1});
  }
  runtime::LoadOptions options;
  if (const std::string* type = parsed->value("type")) {
    auto prog_type = parse_prog_type(*type);
    if (!prog_type) return prog_type.take_error();
    options.prog_type = *prog_type;
  }
  if (!all) options.only_program = obj->programs.front().name;
  if (Status s = apply_verify_options(*parsed, ctx, options); !s) return s;

  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto loaded = rt->load(*obj, options);
  if (!loaded) return with_object(loaded.take_error(), object_path);
  if (loaded->empty()) return make_error(Errc::invalid_argument, "no program was loaded");

  std::vector<runtime::PinTarget> pinned;
  if (!all) {
    if (Status s = rt->pin(pin_path, {runtime::PinKind::prog, loaded->front().id}); !s) return s;
    pinned.push_back({runtime::PinKind::prog, loaded->front().id});
  } else {
    for (const runtime::ProgramRecord& rec : *loaded) {
      const std::string path = join_path(pin_path, rec.name);
      if (Status s = rt->pin(path, {runtime::PinKind::prog, rec.id}); !s) {
        for (const runtime::ProgramRecord& done : *loaded) {
          if (done.id == rec.id) break;
          (void)rt->unpin(join_path(pin_path, done.name));
        }
        return s;
      }
      pinned.push_back({runtime::PinKind::prog, rec.id});
    }
  }
  if (const std::string* map_dir = parsed->value("pinmaps")) {
    std::vector<uint32_t> map_ids;
    for (const runtime::ProgramRecord& rec : *loaded) {
      for (uint32_t id : rec.map_ids) {
        if (std::find(map_ids.begin(), map_ids.end(), id) == map_ids.end()) map_ids.push_back(id);
      }
    }
    for (uint32_t id : map_ids) {
      auto rec = rt->map_record(id);
      if (!rec) return rec.take_error();
      if (Status s = rt->pin(join_path(*map_dir, rec->spec.name), {runtime::PinKind::map, id});
          !s) {
        return s;
      }
    }
  }
  for (const runtime::PinTarget& target : pinned) {
    if (Status s = rt->release_ownership(target); !s) return s;
  }
  if (ctx.json) ctx.print_json(nullptr);  // bpftool prints null for a command without output
  return ok_status();
}

}  // namespace

Result<uint32_t> parse_prog_type(const std::string& text) {
  for (uint32_t type = 1; type < 64; ++type) {
    if (runtime::prog_type_name(type) == text) return type;
  }
  const object::SectionDef def = object::classify_section(text);
  if (def.known && def.prog_type != BPF_PROG_TYPE_UNSPEC) return uint32_t(def.prog_type);
  return make_error(Errc::invalid_argument, "unknown program type '" + text + "'");
}

Error with_object(Error error, const std::string& path) {
  if (error.where.file.empty()) error.where.file = path;
  return error;
}

Status do_prog_load(Context& ctx, Args args) {
  return load_and_pin(ctx, args, false);
}
Status do_prog_loadall(Context& ctx, Args args) {
  return load_and_pin(ctx, args, true);
}

Status do_prog_pin(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto match = resolve_single(*rt, HandleKind::prog, *words);
  if (!match) return match.take_error();
  if (words->size() != match->consumed + 1) {
    return make_error(Errc::invalid_argument, "'prog pin' needs PROG and PATH");
  }
  if (Status s = rt->pin((*words)[match->consumed], {runtime::PinKind::prog, match->ids[0]}); !s)
    return s;
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

}  // namespace userbpf::cli

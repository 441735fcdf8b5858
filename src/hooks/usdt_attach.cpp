#include "hooks/usdt_attach.hpp"

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "object/usdt_notes.hpp"
#include "object/usdt_spec.hpp"

namespace userbpf::hooks {
namespace {

constexpr std::string_view kSpecsMap = "__bpf_usdt_specs";
constexpr std::string_view kIpMap = "__bpf_usdt_ip_to_spec_id";

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Map names are kept as Linux keeps them: at most BPF_OBJ_NAME_LEN - 1 characters.
bool is_map(const maps::Map& map, std::string_view full_name) {
  return map.spec().name == full_name.substr(0, BPF_OBJ_NAME_LEN - 1);
}

// The program's map named `full_name`, with its runtime id.
struct FoundMap {
  std::shared_ptr<maps::Map> map;
  uint32_t id = 0;
};
FoundMap find_map(const runtime::RunnableProgram& program, std::string_view full_name) {
  const auto& maps = program.maps();
  for (size_t i = 0; i < maps.size(); ++i) {
    if (maps[i] && is_map(*maps[i], full_name)) {
      return {maps[i], i < program.record().map_ids.size() ? program.record().map_ids[i] : 0};
    }
  }
  return {};
}

bool is_executable_file(const std::string& path, bool need_exec) {
  return access(path.c_str(), need_exec ? (R_OK | X_OK) : R_OK) == 0;
}

}  // namespace

bool is_usdt_section(std::string_view section) {
  return section == "usdt" || section == "usdt.s" || has_prefix(section, "usdt/") ||
         has_prefix(section, "usdt.s/");
}

Result<UsdtTarget> parse_usdt_section(std::string_view section) {
  if (section == "usdt" || section == "usdt.s") {
    return make_error(Errc::unsupported,
                      "SEC(\"" + std::string(section) +
                          "\") has no target: attach it with an explicit BINARY:PROVIDER:NAME");
  }
  std::string_view rest = section;
  if (has_prefix(rest, "usdt/")) {
    rest.remove_prefix(5);
  } else if (has_prefix(rest, "usdt.s/")) {
    rest.remove_prefix(7);
  } else {
    rest = {};
  }
  // Three non-empty fields separated by ':' (what is after a third ':' is ignored, as sscanf's
  // "%m[^:]:%m[^:]:%m[^:]" ignores it).
  UsdtTarget target;
  std::string* fields[3] = {&target.path, &target.provider, &target.name};
  size_t n = 0;
  while (n < 3 && !rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string_view field = rest.substr(0, colon);
    if (field.empty()) break;
    *fields[n++] = std::string(field);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (n != 3) {
    return make_error(Errc::invalid_argument,
                      "invalid section '" + std::string(section) +
                          "', expected SEC(\"usdt/<path>:<provider>:<name>\")");
  }
  return target;
}

Result<std::string> resolve_usdt_path(std::string_view file) {
  const std::string name(file);
  if (name.find('/') != std::string::npos) return name;
  const bool library = name.size() > 3 && (name.ends_with(".so") || name.find(".so.") != name.npos);
  std::vector<std::string> dirs_lists;
  if (library) {
    if (const char* env = std::getenv("LD_LIBRARY_PATH")) dirs_lists.emplace_back(env);
    dirs_lists.emplace_back("/usr/lib64:/usr/lib");
    dirs_lists.emplace_back("/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu");
  } else {
    if (const char* env = std::getenv("PATH")) dirs_lists.emplace_back(env);
    dirs_lists.emplace_back("/usr/bin:/usr/sbin");
  }
  for (const std::string& list : dirs_lists) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      const std::string dir = list.substr(start, end - start);
      start = end + 1;
      if (dir.empty()) continue;
      const std::string candidate = dir + "/" + name;
      if (is_executable_file(candidate, !library)) return candidate;
    }
  }
  return make_error(Errc::not_found,
                    "'" + name + "' not found in " + (library ? "the library path" : "PATH"));
}

Result<size_t> UsdtAttacher::attach(runtime::Runtime& rt, const runtime::ProgramRecord& record,
                                    std::string_view section, uint64_t cookie) {
  auto target = parse_usdt_section(section);
  if (!target) return target.take_error();
  return attach(rt, record, *target, cookie);
}

Result<size_t> UsdtAttacher::attach(runtime::Runtime& rt, const runtime::ProgramRecord& record,
                                    const UsdtTarget& target, uint64_t cookie) {
  auto path = resolve_usdt_path(target.path);
  if (!path) return path.take_error();
  auto probes = object::find_usdt_probes(*path, target.provider, target.name);
  if (!probes) return probes.take_error();
  auto notes = object::read_usdt_notes(*path);  // whether addresses are absolute (ET_EXEC)
  if (!notes) return notes.take_error();

  // One instance per probe site, each with its own cookie; the first finds the maps.
  std::vector<std::unique_ptr<runtime::RunnableProgram>> instances;
  for (size_t i = 0; i < probes->size(); ++i) {
    auto instance = rt.instantiate(record);
    if (!instance) return instance.take_error();
    instances.push_back(std::move(*instance));
  }
  const FoundMap specs = find_map(*instances.front(), kSpecsMap);
  const FoundMap ips = find_map(*instances.front(), kIpMap);
  if (!specs.map || !ips.map) {
    return make_error(Errc::not_found,
                      "prog '" + record.name +
                          "': failed to find USDT support BPF maps, did you forget to include "
                          "bpf/usdt.bpf.h?");
  }
  const maps::MapSpec& s = specs.map->spec();
  if (s.type != BPF_MAP_TYPE_ARRAY || s.key_size != 4 || s.value_size != sizeof(object::UsdtSpec)) {
    return make_error(Errc::invalid_argument,
                      "map __bpf_usdt_specs is not an array of struct __bpf_usdt_spec (key 4, "
                      "value " +
                          std::to_string(sizeof(object::UsdtSpec)) + " bytes)");
  }

  // Spec ids: one per distinct argument string of this attachment.
  struct Site {
    uint64_t file_offset = 0;
    uint64_t address = 0;
    int32_t spec_id = 0;
  };
  std::vector<Site> sites;
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::pair<int32_t, object::UsdtSpec>> new_specs;
  int32_t& next = next_spec_id_[specs.id];
  for (const object::UsdtProbe& probe : *probes) {
    auto [it, fresh] = ids.try_emplace(probe.note.args, next);
    if (fresh) {
      auto spec = object::parse_usdt_spec(probe.note.args, cookie);
      if (!spec) {
        Error e = spec.take_error();
        e.message = "note " + std::to_string(probe.note.index) + " (" + target.provider + ":" +
                    target.name + "): " + e.message;
        e.where = Location{*path, ".note.stapsdt", -1, -1};
        return e;
      }
      if (static_cast<uint32_t>(next) >= s.max_entries) {
        return make_error(Errc::invalid_argument, "too many USDT specs: __bpf_usdt_specs has " +
                                                      std::to_string(s.max_entries) +
                                                      " entries (BPF_USDT_MAX_SPEC_CNT)");
      }
      new_specs.emplace_back(next, *spec);
      ++next;
    }
    sites.push_back({probe.file_offset, probe.address, it->second});
  }
  for (const auto& [id, spec] : new_specs) {
    if (const int err = specs.map->update(&id, &spec, BPF_ANY); err != 0) {
      return make_error(Errc::io, "failed to set USDT spec #" + std::to_string(id) + ": errno " +
                                      std::to_string(err < 0 ? -err : err));
    }
  }
  // Without cookies the BPF side looks the spec id up by ip; only absolute for ET_EXEC files.
  if (!notes->shared_object) {
    for (const Site& site : sites) {
      const int64_t ip = static_cast<int64_t>(site.address);
      const uint32_t id = static_cast<uint32_t>(site.spec_id);
      ips.map->update(&ip, &id, BPF_ANY);
    }
  }
  for (const object::UsdtProbe& probe : *probes) {
    if (probe.semaphore_offset) {
      if (Status st = sink_.add(*path, probe.semaphore_offset); !st) return st.error();
    }
  }
  for (size_t i = 0; i < sites.size(); ++i) {
    auto attached = dispatcher_.attach_uprobe(std::move(instances[i]), *path,
                                              UprobeFunc::at_offset(sites[i].file_offset), false,
                                              static_cast<uint64_t>(sites[i].spec_id));
    if (!attached) return attached.take_error();
  }
  return sites.size();
}

HookInterest UsdtAttacher::interest() const {
  HookInterest interest = dispatcher_.interest();
  sink_.add_interest(interest);
  return interest;
}

}  // namespace userbpf::hooks

// The redirect target of a test run, described from the runtime's map of the program.
#include "cli/prog_run_redirect.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <cstring>
#include <vector>

#include "userbpf/map.hpp"

namespace userbpf::cli {
namespace {

std::string device_name(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, name) ? name : "";
}

bool is_devmap(uint32_t type) {
  return type == BPF_MAP_TYPE_DEVMAP || type == BPF_MAP_TYPE_DEVMAP_HASH;
}

// The ifindex of a devmap entry (0 when it cannot be read).
uint32_t entry_ifindex(maps::Map& map, uint32_t key) {
  std::vector<uint8_t> value(map.user_value_size());
  if (value.size() < 4 || map.lookup_copy(&key, value.data()) != 0) return 0;
  uint32_t ifindex;
  std::memcpy(&ifindex, value.data(), 4);
  return ifindex;
}

// Every entry's ifindex, in get_next_key order: the devices a broadcast reaches.
std::vector<uint32_t> all_ifindexes(maps::Map& map) {
  std::vector<uint32_t> out;
  uint32_t key = 0;
  bool first = true;
  for (uint32_t n = 0; n <= map.spec().max_entries; ++n) {
    uint32_t next;
    if (map.get_next_key(first ? nullptr : &key, &next) != 0) break;
    first = false;
    key = next;
    if (uint32_t ifindex = entry_ifindex(map, key)) out.push_back(ifindex);
  }
  return out;
}

}  // namespace

nlohmann::ordered_json redirect_json(runtime::Runtime& rt, const runtime::TestRunOutput& out) {
  if (!out.redirected) return nullptr;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (out.redirect_map_id == 0) {
    j["ifindex"] = out.redirect_ifindex;
    j["flags"] = out.redirect_flags;
    return j;
  }
  const uint32_t type = out.redirect_map_type;
  j["map_id"] = out.redirect_map_id;
  j["map_type"] = maps::map_type_name(type);
  auto map = rt.open_map(out.redirect_map_id);
  if (out.redirect_flags & BPF_F_BROADCAST) {
    j["broadcast"] = true;
    j["exclude_ingress"] = (out.redirect_flags & BPF_F_EXCLUDE_INGRESS) != 0;
    if (map) j["ifindexes"] = all_ifindexes(**map);
    return j;
  }
  j["key"] = out.redirect_key;
  if (is_devmap(type) && map) {
    j["ifindex"] = entry_ifindex(**map, out.redirect_key);
  } else if (type == BPF_MAP_TYPE_CPUMAP) {
    j["cpu"] = out.redirect_key;
  } else if (type == BPF_MAP_TYPE_XSKMAP) {
    j["queue"] = out.redirect_key;
  }
  return j;
}

std::string redirect_line(runtime::Runtime& rt, const runtime::TestRunOutput& out) {
  if (!out.redirected) return "";
  const auto named = [](uint32_t ifindex) {
    const std::string name = device_name(ifindex);
    return name.empty() ? fmt::format("ifindex {}", ifindex)
                        : fmt::format("ifindex {} ({})", ifindex, name);
  };
  if (out.redirect_map_id == 0) {
    return fmt::format("Redirect: {}{}\n", named(out.redirect_ifindex),
                       (out.redirect_flags & BPF_F_INGRESS) ? " ingress" : "");
  }
  const uint32_t type = out.redirect_map_type;
  std::string line =
      fmt::format("Redirect: {} id {}", maps::map_type_name(type), out.redirect_map_id);
  auto map = rt.open_map(out.redirect_map_id);
  if (out.redirect_flags & BPF_F_BROADCAST) {
    line += " broadcast";
    if (out.redirect_flags & BPF_F_EXCLUDE_INGRESS) line += " excluding ingress";
    if (map) {
      std::string targets;
      for (uint32_t ifindex : all_ifindexes(**map)) {
        targets += (targets.empty() ? "" : ", ") + named(ifindex);
      }
      line += " -> " + (targets.empty() ? std::string("no devices") : targets);
    }
    return line + "\n";
  }
  line += fmt::format(" key {}", out.redirect_key);
  if (is_devmap(type) && map) {
    line += " -> " + named(entry_ifindex(**map, out.redirect_key));
  } else if (type == BPF_MAP_TYPE_CPUMAP) {
    line += fmt::format(" -> cpu {}", out.redirect_key);
  } else if (type == BPF_MAP_TYPE_XSKMAP) {
    line += fmt::format(" -> AF_XDP socket of queue {}", out.redirect_key);
  }
  return line + "\n";
}

}  // namespace userbpf::cli

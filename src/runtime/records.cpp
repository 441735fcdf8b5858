#include "runtime/records.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace userbpf::runtime {
namespace {

using json = nlohmann::ordered_json;

std::string hex_insns(const std::vector<isa::RawInsn>& insns) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(insns.size() * 16);
  const auto* bytes = reinterpret_cast<const uint8_t*>(insns.data());
  for (size_t i = 0; i < insns.size() * sizeof(isa::RawInsn); ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
  return out;
}

bool unhex_insns(const std::string& text, std::vector<isa::RawInsn>& out) {
  if (text.size() % 16) return false;
  out.resize(text.size() / 16);
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

Error corrupt(const std::string& origin, const std::string& why) {
  Location where;
  where.file = origin;
  return make_error(Errc::io, "corrupt state record: " + why, where);
}

}  // namespace

std::vector<uint32_t> used_map_ids(const ProgramRecord& r) {
  std::vector<uint32_t> used;
  for (size_t i = 0; i + 1 < r.insns.size(); ++i) {
    const isa::RawInsn& insn = r.insns[i];
    if (insn.code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    if ((insn.src_reg == BPF_PSEUDO_MAP_IDX || insn.src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
        insn.imm >= 0 && static_cast<size_t>(insn.imm) < r.map_ids.size()) {
      const uint32_t id = r.map_ids[static_cast<size_t>(insn.imm)];
      if (std::find(used.begin(), used.end(), id) == used.end()) used.push_back(id);
    }
    ++i;  // the second slot
  }
  return used;
}

std::string to_json(const ProgramRecord& r) {
  json lines = json::array();
  for (const auto& l : r.lines)
    lines.push_back({{"insn", l.insn},
                     {"file", l.file},
                     {"line", l.line},
                     {"column", l.column},
                     {"text", l.text}});
  json j = {{"id", r.id},
            {"name", r.name},
            {"section", r.section},
            {"prog_type", r.prog_type},
            {"expected_attach_type", r.expected_attach_type},
            {"attach_target", r.attach_target},
            {"license", r.license},
            {"gpl", r.gpl},
            {"tag", r.tag},
            {"loaded_at", r.loaded_at},
            {"uid", r.uid},
            {"owner_pid", r.owner_pid},
            {"owner_start", r.owner_start},
            {"object_path", r.object_path},
            {"insns", hex_insns(r.insns)},
            {"map_ids", r.map_ids},
            {"lines", lines},
            {"btf_id", r.btf_id}};
  json funcs = json::array();
  for (const auto& f : r.funcs) funcs.push_back({f.insn, f.type_id});
  j["funcs"] = funcs;
  j["verified"] = r.verified;
  j["verified_insns"] = r.verified_insns;
  json call_maps = json::array();
  for (const auto& [insn, map] : r.call_maps) call_maps.push_back({insn, map});
  j["call_maps"] = call_maps;
  return j.dump(1) + "\n";
}

std::string to_json(const MapRecord& r) {
  json j = {{"id", r.id},
            {"name", r.spec.name},
            {"type", r.spec.type},
            {"key_size", r.spec.key_size},
            {"value_size", r.spec.value_size},
            {"max_entries", r.spec.max_entries},
            {"map_flags", r.spec.map_flags},
            {"map_extra", r.spec.map_extra},
            {"spin_lock_off", r.spec.spin_lock_off},
            {"frozen", r.frozen},
            {"owner_pid", r.owner_pid},
            {"owner_start", r.owner_start},
            {"btf_id", r.btf_id},
            {"key_type_id", r.key_type_id},
            {"value_type_id", r.value_type_id},
            {"file", r.file}};
  return j.dump(1) + "\n";
}

std::string to_json(const LinkRecord& r) {
  json j = {{"id", r.id},
            {"prog_id", r.prog_id},
            {"target", r.target},
            {"cookie", r.cookie},
            {"created_at", r.created_at},
            {"owner_pid", r.owner_pid},
            {"owner_start", r.owner_start}};
  return j.dump(1) + "\n";
}

Result<LinkRecord> link_from_json(std::string_view text, const std::string& origin) {
  try {
    const json j = json::parse(text);
    LinkRecord r;
    r.id = j.at("id").get<uint32_t>();
    r.prog_id = j.at("prog_id").get<uint32_t>();
    r.target = j.at("target").get<std::string>();
    r.cookie = j.at("cookie").get<uint64_t>();
    r.created_at = j.at("created_at").get<uint64_t>();
    r.owner_pid = j.at("owner_pid").get<int32_t>();
    r.owner_start = j.at("owner_start").get<uint64_t>();
    return r;
  } catch (const std::exception& e) {
    return corrupt(origin, e.what());
  }
}

Result<ProgramRecord> program_from_json(std::string_view text, const std::string& origin) {
  try {
    const json j = json::parse(text);
    ProgramRecord r;
    r.id = j.at("id").get<uint32_t>();
    r.name = j.at("name").get<std::string>();
    r.section = j.at("section").get<std::string>();
    r.prog_type = j.at("prog_type").get<uint32_t>();
    r.expected_attach_type = j.at("expected_attach_type").get<uint32_t>();
    r.attach_target = j.at("attach_target").get<std::string>();
    r.license = j.at("license").get<std::string>();
    r.gpl = j.at("gpl").get<bool>();
    r.tag = j.at("tag").get<std::string>();
    r.loaded_at = j.at("loaded_at").get<uint64_t>();
    r.uid = j.at("uid").get<uint32_t>();
    r.owner_pid = j.at("owner_pid").get<int32_t>();
    r.owner_start = j.at("owner_start").get<uint64_t>();
    r.object_path = j.at("object_path").get<std::string>();
    if (!unhex_insns(j.at("insns").get<std::string>(), r.insns))
      return corrupt(origin, "bad instruction hex");
    r.map_ids = j.at("map_ids").get<std::vector<uint32_t>>();
    for (const auto& l : j.at("lines"))
      r.lines.push_back({l.at("insn").get<uint32_t>(), l.at("file").get<std::string>(),
                         l.at("text").get<std::string>(), l.at("line").get<uint32_t>(),
                         l.at("column").get<uint32_t>()});
    r.btf_id = j.at("btf_id").get<uint32_t>();
    if (j.contains("funcs")) {  // records written before func_info was kept have none
      for (const auto& f : j.at("funcs"))
        r.funcs.push_back({f.at(0).get<uint32_t>(), f.at(1).get<uint32_t>()});
    }
    r.verified = j.value("verified", false);  // older records: loaded without a verifier
    r.verified_insns = j.value("verified_insns", uint64_t{0});
    if (j.contains("call_maps")) {  // older records: nothing known, helpers are called
      for (const auto& c : j.at("call_maps"))
        r.call_maps.emplace_back(c.at(0).get<uint32_t>(), c.at(1).get<uint32_t>());
    }
    return r;
  } catch (const std::exception& e) {
    return corrupt(origin, e.what());
  }
}

Result<MapRecord> map_from_json(std::string_view text, const std::string& origin) {
  try {
    const json j = json::parse(text);
    MapRecord r;
    r.id = j.at("id").get<uint32_t>();
    r.spec.name = j.at("name").get<std::string>();
    r.spec.type = j.at("type").get<uint32_t>();
    r.spec.key_size = j.at("key_size").get<uint32_t>();
    r.spec.value_size = j.at("value_size").get<uint32_t>();
    r.spec.max_entries = j.at("max_entries").get<uint32_t>();
    r.spec.map_flags = j.at("map_flags").get<uint32_t>();
    r.spec.map_extra = j.at("map_extra").get<uint64_t>();
    r.spec.spin_lock_off = j.at("spin_lock_off").get<int32_t>();
    r.frozen = j.at("frozen").get<bool>();
    r.owner_pid = j.at("owner_pid").get<int32_t>();
    r.owner_start = j.at("owner_start").get<uint64_t>();
    r.btf_id = j.at("btf_id").get<uint32_t>();
    r.key_type_id = j.at("key_type_id").get<uint32_t>();
    r.value_type_id = j.at("value_type_id").get<uint32_t>();
    r.file = j.at("file").get<std::string>();
    return r;
  } catch (const std::exception& e) {
    return corrupt(origin, e.what());
  }
}

std::string prog_type_name(uint32_t type) {
  // bpftool's names (libbpf_bpf_prog_type_str)
  static const char* names[] = {"unspec",
                                "socket_filter",
                                "kprobe",
                                "sched_cls",
                                "sched_act",
                                "tracepoint",
                                "xdp",
                                "perf_event",
                                "cgroup_skb",
                                "cgroup_sock",
                                "lwt_in",
                                "lwt_out",
                                "lwt_xmit",
                                "sock_ops",
                                "sk_skb",
                                "cgroup_device",
                                "sk_msg",
                                "raw_tracepoint",
                                "cgroup_sock_addr",
                                "lwt_seg6local",
                                "lirc_mode2",
                                "sk_reuseport",
                                "flow_dissector",
                                "cgroup_sysctl",
                                "raw_tracepoint_writable",
                                "cgroup_sockopt",
                                "tracing",
                                "struct_ops",
                                "ext",
                                "lsm",
                                "sk_lookup",
                                "syscall",
                                "netfilter"};
  if (type < sizeof(names) / sizeof(names[0])) return names[type];
  return "type " + std::to_string(type);
}

std::string map_type_name(uint32_t type) {
  return maps::map_type_name(type);
}

}  // namespace userbpf::runtime

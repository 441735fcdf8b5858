// Linux's names of register types and its notation of register states, for messages and logs.
#include <fmt/format.h>

#include "verifier/reg_state.hpp"

namespace userbpf::verifier {

std::string reg_type_name(RegType type) {
  switch (type) {
    case RegType::not_init: return "?";
    case RegType::scalar: return "scalar";
    case RegType::ptr_to_ctx: return "ctx";
    case RegType::const_ptr_to_map: return "map_ptr";
    case RegType::ptr_to_map_value: return "map_value";
    case RegType::ptr_to_map_key: return "map_key";
    case RegType::ptr_to_stack: return "fp";
    case RegType::ptr_to_packet_meta: return "pkt_meta";
    case RegType::ptr_to_packet: return "pkt";
    case RegType::ptr_to_packet_end: return "pkt_end";
    case RegType::ptr_to_mem: return "mem";
    case RegType::ptr_to_func: return "func";
    case RegType::ptr_to_sock_common: return "sock_common";
    case RegType::ptr_to_socket: return "sock";
    case RegType::ptr_to_tcp_sock: return "tcp_sock";
    case RegType::ptr_to_xdp_sock: return "xdp_sock";
    case RegType::ptr_to_flow_keys: return "flow_keys";
    case RegType::ptr_to_btf_id: return "ptr_";
  }
  return "?";
}

std::string reg_type_name(const RegState& reg) {
  std::string name;
  if (reg.rdonly) name += "rdonly_";
  if (reg.ringbuf) name += "ringbuf_";
  if (reg.trusted) name += "trusted_";
  if (reg.untrusted) name += "untrusted_";
  name += reg_type_name(reg.type);
  if (reg.maybe_null) name += "_or_null";
  return name;
}

namespace {

std::string scalar_bounds_text(const RegState& r) {
  std::string out;
  auto add = [&](const std::string& item) {
    if (!out.empty()) out += ',';
    out += item;
  };
  if (r.smin != std::numeric_limits<int64_t>::min()) add(fmt::format("smin={}", r.smin));
  if (r.smax != std::numeric_limits<int64_t>::max()) add(fmt::format("smax={}", r.smax));
  if (r.umin != 0) add(fmt::format("umin={}", r.umin));
  if (r.umax != ~0ull) add(fmt::format("umax={}", r.umax));
  if (r.s32_min != std::numeric_limits<int32_t>::min()) add(fmt::format("smin32={}", r.s32_min));
  if (r.s32_max != std::numeric_limits<int32_t>::max()) add(fmt::format("smax32={}", r.s32_max));
  if (r.u32_min != 0) add(fmt::format("umin32={}", r.u32_min));
  if (r.u32_max != ~0u) add(fmt::format("umax32={}", r.u32_max));
  if (!r.var_off.is_unknown()) add("var_off=" + to_string(r.var_off));
  return out;
}

}  // namespace

std::string describe(const RegState& r) {
  if (r.type == RegType::not_init) return "?";
  if (r.type == RegType::scalar) {
    if (r.is_const()) return std::to_string(static_cast<int64_t>(r.var_off.value));
    const std::string bounds = scalar_bounds_text(r);
    return bounds.empty() ? "scalar()" : "scalar(" + bounds + ")";
  }
  if (r.type == RegType::ptr_to_stack && r.is_const())
    return fmt::format("fp{}", static_cast<int64_t>(r.off + static_cast<int64_t>(r.var_off.value)));
  std::string items;
  auto add = [&](const std::string& item) {
    if (!items.empty()) items += ',';
    items += item;
  };
  if (r.id) add(fmt::format("id={}", r.id));
  if (r.ref_obj_id) add(fmt::format("ref_obj_id={}", r.ref_obj_id));
  if (r.off) add(fmt::format("off={}", r.off));
  if (r.is_packet()) add(fmt::format("r={}", r.range));
  if (r.type == RegType::ptr_to_mem) add(fmt::format("sz={}", r.mem_size));
  if (!r.is_const()) {
    const std::string bounds = scalar_bounds_text(r);
    if (!bounds.empty()) add(bounds);
  }
  return reg_type_name(r) + "(" + items + ")";
}

}  // namespace userbpf::verifier

#include "cli/ctx_json.hpp"

#include <bpf/btf.h>
#include <linux/bpf.h>

#include <cstring>
#include <string_view>

namespace userbpf::cli {
namespace {

using json = nlohmann::json;

Error field_error(const std::string& path, const std::string& why) {
  return make_error(Errc::invalid_argument, "ctx field '" + path + "': " + why);
}

class Encoder {
 public:
  explicit Encoder(const btf* b) : b_(b) {}

  // Writes `value` as type `id` at `offset` of `out` (grown when a flexible array needs it).
  Status encode(uint32_t id, const json& value, size_t offset, const std::string& path,
                std::vector<uint8_t>& out) {
    id = static_cast<uint32_t>(btf__resolve_type(b_, id));
    const btf_type* t = btf__type_by_id(b_, id);
    if (t == nullptr) return field_error(path, "no BTF type");
    if (btf_is_int(t) || btf_is_enum(t) || btf_is_ptr(t))
      return scalar(t, value, offset, path, out);
    if (btf_is_array(t)) return encode_array(t, value, offset, path, out);
    if (btf_is_struct(t) || btf_is_union(t)) return record(t, value, offset, path, out);
    return field_error(path, "its BTF kind can't be given in JSON");
  }

 private:
  Status scalar(const btf_type* t, const json& value, size_t offset, const std::string& path,
                std::vector<uint8_t>& out) {
    if (!value.is_number_integer() && !value.is_boolean()) {
      return field_error(path, "expected an integer, got " + value.dump());
    }
    const size_t size = btf_is_ptr(t) ? 8 : t->size;
    const bool is_signed = (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED)) ||
                           (btf_is_enum(t) && btf_kflag(t));
    uint64_t bits = 0;
    if (value.is_boolean()) {
      bits = value.get<bool>() ? 1 : 0;
    } else if (value.is_number_unsigned()) {
      bits = value.get<uint64_t>();
      if (size < 8 && bits >> (size * 8 - (is_signed ? 1 : 0)) != 0) {
        return field_error(path, value.dump() + " does not fit in " + std::to_string(size) +
                                     (is_signed ? " signed" : "") + " bytes");
      }
    } else {
      const int64_t v = value.get<int64_t>();
      if (!is_signed && v < 0) return field_error(path, "negative value for an unsigned field");
      if (size < 8) {
        const int64_t limit = int64_t{1} << (size * 8 - 1);
        if (v < -limit || v >= limit) {
          return field_error(
              path, value.dump() + " does not fit in " + std::to_string(size) + " signed bytes");
        }
      }
      bits = static_cast<uint64_t>(v);
    }
    if (offset + size > out.size()) out.resize(offset + size);
    std::memcpy(out.data() + offset, &bits, size);  // little-endian: the low bytes
    return ok_status();
  }

  Status encode_array(const btf_type* t, const json& value, size_t offset, const std::string& path,
                      std::vector<uint8_t>& out) {
    const struct btf_array* a = btf_array(t);
    const btf_type* elem =
        btf__type_by_id(b_, static_cast<uint32_t>(btf__resolve_type(b_, a->type)));
    const int64_t elem_size = btf__resolve_size(b_, a->type);
    if (elem == nullptr || elem_size <= 0) return field_error(path, "array of unsized elements");
    // char arrays take strings too (comm).
    if (value.is_string() && btf_is_int(elem) && elem_size == 1) {
      const std::string s = value.get<std::string>();
      if (a->nelems && s.size() >= a->nelems) {
        return field_error(path, "string longer than " + std::to_string(a->nelems - 1) + " bytes");
      }
      if (offset + s.size() + 1 > out.size()) out.resize(offset + s.size() + 1);
      std::memcpy(out.data() + offset, s.data(), s.size());
      return ok_status();
    }
    if (!value.is_array()) return field_error(path, "expected an array, got " + value.dump());
    // nelems 0 is a flexible array (bpf_raw_tracepoint_args.args): any length.
    if (a->nelems && value.size() > a->nelems) {
      return field_error(path, std::to_string(value.size()) + " elements for an array of " +
                                   std::to_string(a->nelems));
    }
    for (size_t i = 0; i < value.size(); ++i) {
      if (Status s = encode(a->type, value[i], offset + i * size_t(elem_size),
                            path + "[" + std::to_string(i) + "]", out);
          !s) {
        return s;
      }
    }
    return ok_status();
  }

  Status record(const btf_type* t, const json& value, size_t offset, const std::string& path,
                std::vector<uint8_t>& out) {
    if (!value.is_object()) return field_error(path, "expected an object, got " + value.dump());
    for (const auto& [name, field_value] : value.items()) {
      const btf_member* m = find_member(t, name);
      const std::string where = path.empty() ? name : path + "." + name;
      if (m == nullptr) return field_error(where, "no such field in " + type_name(t));
      if (btf_member_bitfield_size(t, static_cast<uint32_t>(m - btf_members(t)))) {
        return field_error(where, "bitfields can't be given in JSON");
      }
      const size_t bit = btf_member_bit_offset(t, static_cast<uint32_t>(m - btf_members(t)));
      if (Status s = encode(m->type, field_value, offset + bit / 8, where, out); !s) return s;
    }
    return ok_status();
  }

  const btf_member* find_member(const btf_type* t, const std::string& name) const {
    const btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
      const char* n = btf__name_by_offset(b_, m->name_off);
      if (n && name == n) return m;
    }
    return nullptr;
  }

  std::string type_name(const btf_type* t) const {
    const char* n = btf__name_by_offset(b_, t->name_off);
    return std::string(btf_is_union(t) ? "union " : "struct ") + (n && *n ? n : "(anon)");
  }

  const btf* b_;
};

}  // namespace

Result<std::string> context_type_name(const runtime::ProgramRecord& program) {
  switch (program.prog_type) {
    case BPF_PROG_TYPE_XDP: return std::string("xdp_md");
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB: return std::string("__sk_buff");
    case BPF_PROG_TYPE_KPROBE: return std::string("pt_regs");
    case BPF_PROG_TYPE_PERF_EVENT: return std::string("bpf_perf_event_data");
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: return std::string("bpf_raw_tracepoint_args");
    case BPF_PROG_TYPE_TRACEPOINT: {
      // attach_target is "category/name", e.g. "syscalls/sys_enter_execve".
      const std::string_view target = program.attach_target;
      const std::string_view name = target.substr(target.find('/') + 1);
      // syscalls/sys_enter_<name> and raw_syscalls/sys_enter share one record layout.
      if (name == "sys_enter" || name.starts_with("sys_enter_")) {
        return std::string("trace_event_raw_sys_enter");
      }
      if (name == "sys_exit" || name.starts_with("sys_exit_")) {
        return std::string("trace_event_raw_sys_exit");
      }
      if (name == "sched_process_exec" || name == "sched_process_fork" ||
          name == "sched_process_exit") {
        return "trace_event_raw_" + std::string(name);
      }
      break;
    }
    default: break;
  }
  return make_error(Errc::unsupported,
                    "no JSON form for the context of prog '" + program.name + "' (" +
                        runtime::prog_type_name(program.prog_type) +
                        (program.attach_target.empty() ? "" : " " + program.attach_target) +
                        "); give it as bytes with ctx_in FILE or --ctx-hex");
}

Result<std::vector<uint8_t>> context_from_json(const btf* b, const std::string& type_name,
                                               const nlohmann::json& value) {
  const int id = btf__find_by_name_kind(b, type_name.c_str(), BTF_KIND_STRUCT);
  if (id <= 0) return make_error(Errc::not_found, "the runtime has no BTF type " + type_name);
  const int64_t size = btf__resolve_size(b, static_cast<uint32_t>(id));
  std::vector<uint8_t> out(size > 0 ? size_t(size) : 0, 0);
  Encoder encoder(b);
  if (Status s = encoder.encode(static_cast<uint32_t>(id), value, 0, "", out); !s) {
    return s.take_error();
  }
  return out;
}

}  // namespace userbpf::cli

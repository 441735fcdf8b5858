// `userbpf btf dump file OBJ|id N [format raw|c]`. The BTF of a runtime object id lives in the
// state directory (<state>/btf/<id>.btf, raw BTF); a file may be an ELF object with .BTF or raw
// BTF. The raw listing follows bpftool's dump_btf_type line for line:
//   [1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
//   [2] STRUCT 'pair' size=8 vlen=2
//   	'a' type_id=1 bits_offset=0
#include "cli/btf.hpp"

#include <bpf/btf.h>
#include <errno.h>
#include <fmt/format.h>
#include <linux/btf.h>
#include <string.h>

#include <cstdarg>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/runtime_access.hpp"
#include "runtime/runtime_btf.hpp"

namespace userbpf::cli {
namespace {

const char* kind_name(uint32_t kind) {
  static const char* names[] = {"UNKNOWN", "INT",      "PTR",      "ARRAY",      "STRUCT",
                                "UNION",   "ENUM",     "FWD",      "TYPEDEF",    "VOLATILE",
                                "CONST",   "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR",
                                "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG",   "ENUM64"};
  return kind < std::size(names) ? names[kind] : "UNKNOWN";
}

std::string name_of(const btf* b, uint32_t off) {
  if (off == 0) return "(anon)";
  const char* name = btf__name_by_offset(b, off);
  return name ? name : "(invalid)";
}

const char* int_encoding(uint32_t enc) {
  switch (enc) {
    case 0: return "(none)";
    case BTF_INT_SIGNED: return "SIGNED";
    case BTF_INT_CHAR: return "CHAR";
    case BTF_INT_BOOL: return "BOOL";
    default: return "UNKN";
  }
}

const char* linkage_name(uint32_t linkage) {
  switch (linkage) {
    case 0: return "static";
    case 1: return "global";
    case 2: return "extern";
    default: return "(unknown)";
  }
}

// One type in bpftool's raw form, newline included.
std::string raw_type(const btf* b, uint32_t id) {
  const btf_type* t = btf__type_by_id(b, id);
  const uint32_t kind = btf_kind(t);
  const uint16_t vlen = btf_vlen(t);
  std::string out = fmt::format("[{}] {} '{}'", id, kind_name(kind), name_of(b, t->name_off));
  switch (kind) {
    case BTF_KIND_INT: {
      const uint32_t v = *reinterpret_cast<const uint32_t*>(t + 1);
      out += fmt::format(" size={} bits_offset={} nr_bits={} encoding={}", t->size,
                         BTF_INT_OFFSET(v), BTF_INT_BITS(v), int_encoding(BTF_INT_ENCODING(v)));
      break;
    }
    case BTF_KIND_PTR:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_TYPE_TAG: out += fmt::format(" type_id={}", t->type); break;
    case BTF_KIND_ARRAY: {
      const struct btf_array* a = btf_array(t);
      out += fmt::format(" type_id={} index_type_id={} nr_elems={}", a->type, a->index_type,
                         a->nelems);
      break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      out += fmt::format(" size={} vlen={}", t->size, vlen);
      const btf_member* m = btf_members(t);
      for (uint16_t i = 0; i < vlen; ++i, ++m) {
        const uint32_t bit_off = btf_member_bit_offset(t, i);
        const uint32_t bit_size = btf_member_bitfield_size(t, i);
        out += fmt::format("\n\t'{}' type_id={} bits_offset={}", name_of(b, m->name_off), m->type,
                           bit_off);
        if (bit_size) out += fmt::format(" bitfield_size={}", bit_size);
      }
      break;
    }
    case BTF_KIND_ENUM: {
      out += fmt::format(" encoding={} size={} vlen={}", btf_kflag(t) ? "SIGNED" : "UNSIGNED",
                         t->size, vlen);
      const struct btf_enum* e = btf_enum(t);
      for (uint16_t i = 0; i < vlen; ++i, ++e) {
        if (btf_kflag(t)) {
          out += fmt::format("\n\t'{}' val={}", name_of(b, e->name_off), int32_t(e->val));
        } else {
          out += fmt::format("\n\t'{}' val={}", name_of(b, e->name_off), uint32_t(e->val));
        }
      }
      break;
    }
    case BTF_KIND_ENUM64: {
      out += fmt::format(" encoding={} size={} vlen={}", btf_kflag(t) ? "SIGNED" : "UNSIGNED",
                         t->size, vlen);
      const struct btf_enum64* e = btf_enum64(t);
      for (uint16_t i = 0; i < vlen; ++i, ++e) {
        const uint64_t v = (uint64_t(e->val_hi32) << 32) | e->val_lo32;
        out += btf_kflag(t) ? fmt::format("\n\t'{}' val={}LL", name_of(b, e->name_off), int64_t(v))
                            : fmt::format("\n\t'{}' val={}ULL", name_of(b, e->name_off), v);
      }
      break;
    }
    case BTF_KIND_FWD: out += fmt::format(" fwd_kind={}", btf_kflag(t) ? "union" : "struct"); break;
    case BTF_KIND_FUNC:
      out += fmt::format(" type_id={} linkage={}", t->type, linkage_name(btf_vlen(t)));
      break;
    case BTF_KIND_FUNC_PROTO: {
      out += fmt::format(" ret_type_id={} vlen={}", t->type, vlen);
      const btf_param* p = btf_params(t);
      for (uint16_t i = 0; i < vlen; ++i, ++p) {
        out += fmt::format("\n\t'{}' type_id={}", name_of(b, p->name_off), p->type);
      }
      break;
    }
    case BTF_KIND_VAR:
      out += fmt::format(" type_id={}, linkage={}", t->type, linkage_name(btf_var(t)->linkage));
      break;
    case BTF_KIND_DATASEC: {
      out += fmt::format(" size={} vlen={}", t->size, vlen);
      const btf_var_secinfo* v = btf_var_secinfos(t);
      for (uint16_t i = 0; i < vlen; ++i, ++v) {
        out += fmt::format("\n\ttype_id={} offset={} size={}", v->type, v->offset, v->size);
        if (v->type < btf__type_cnt(b)) {
          const btf_type* vt = btf__type_by_id(b, v->type);
          out += fmt::format(" ({} '{}')", kind_name(btf_kind(vt)), name_of(b, vt->name_off));
        }
      }
      break;
    }
    case BTF_KIND_FLOAT: out += fmt::format(" size={}", t->size); break;
    case BTF_KIND_DECL_TAG:
      out += fmt::format(" type_id={} component_idx={}", t->type, btf_decl_tag(t)->component_idx);
      break;
    default: break;
  }
  return out + "\n";
}

void print_to_stream(void* stream, const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int n = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n <= 0) return;
  std::string text(size_t(n) + 1, '\0');
  vsnprintf(text.data(), text.size(), format, args);
  text.resize(size_t(n));
  *static_cast<std::ostream*>(stream) << text;
}

Status dump_c(Context& ctx, const btf* b) {
  std::unique_ptr<btf_dump, void (*)(btf_dump*)> d(
      btf_dump__new(b, print_to_stream, &ctx.out, nullptr), btf_dump__free);
  if (!d) return make_error(Errc::invalid_argument, std::string("btf_dump: ") + strerror(errno));
  ctx.out << "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
          << "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
          << "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = "
             "record)\n#endif\n\n"
          << "#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\n"
          << "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n";
  const uint32_t count = btf__type_cnt(b);
  for (uint32_t id = 1; id < count; ++id) {
    if (int err = btf_dump__dump_type(d.get(), id); err < 0) {
      return make_error(Errc::invalid_argument,
                        "can't dump type " + std::to_string(id) + ": " + strerror(-err));
    }
  }
  ctx.out << "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
          << "#endif /* __VMLINUX_H__ */\n";
  return ok_status();
}

// -j for the raw form: the type list as bpftool's {"types":[...]} with each type's id, kind and
// name (members and details are in the plain form).
nlohmann::ordered_json raw_json(const btf* b) {
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  const uint32_t count = btf__type_cnt(b);
  for (uint32_t id = 1; id < count; ++id) {
    const btf_type* t = btf__type_by_id(b, id);
    nlohmann::ordered_json j{
        {"id", id}, {"kind", kind_name(btf_kind(t))}, {"name", name_of(b, t->name_off)}};
    switch (btf_kind(t)) {
      case BTF_KIND_INT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_DATASEC:
      case BTF_KIND_FLOAT: j["size"] = t->size; break;
      case BTF_KIND_PTR:
      case BTF_KIND_CONST:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_TYPE_TAG:
      case BTF_KIND_FUNC:
      case BTF_KIND_VAR:
      case BTF_KIND_DECL_TAG: j["type_id"] = t->type; break;
      default: break;
    }
    types.push_back(std::move(j));
  }
  return nlohmann::ordered_json{{"types", types}};
}

Status do_dump(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  const std::vector<std::string>& w = *words;
  if (w.empty() || (w.size() < 2 && w[0] != "runtime")) {
    return make_error(Errc::invalid_argument,
                      "'btf dump' needs { file FILE | id BTF_ID | runtime }");
  }
  std::string path;
  // `runtime`: the runtime's own BTF, what /sys/kernel/btf/vmlinux is to a kernel: every context
  // and structure userbpf exposes to programs. `btf dump runtime format c > vmlinux.h` gives the
  // header CO-RE programs compile against.
  const bool runtime_source = w[0] == "runtime";
  if (runtime_source) {
    // no path: the BTF is built in memory
  } else if (w[0] == "file") {
    path = w[1];
  } else if (w[0] == "id") {
    auto id = parse_unsigned(w[1], "BTF ID");
    if (!id) return id.take_error();
    auto rt = open_runtime(ctx);
    if (!rt) return rt.take_error();
    path = (rt->dir().btf() / (std::to_string(*id) + ".btf")).string();
    if (!std::filesystem::exists(path)) {
      return make_error(Errc::not_found,
                        "can't get BTF object by id (" + w[1] + "): No such file or directory");
    }
  } else {
    return make_error(Errc::invalid_argument, "unrecognized BTF source specifier: '" + w[0] + "'");
  }
  bool c_format = false;
  size_t pos = runtime_source ? 1 : 2;
  if (pos < w.size() && w[pos] == "format") {
    if (pos + 1 >= w.size()) return make_error(Errc::invalid_argument, "'format' needs c or raw");
    if (w[pos + 1] == "c") {
      c_format = true;
    } else if (w[pos + 1] != "raw") {
      return make_error(Errc::invalid_argument, "unrecognized format specifier: '" + w[pos + 1] +
                                                    "', possible values: raw, c");
    }
    pos += 2;
  }
  if (pos < w.size()) {
    return make_error(Errc::invalid_argument, "unrecognized option: '" + w[pos] + "'");
  }
  if (c_format && ctx.json) {
    return make_error(Errc::invalid_argument, "JSON output is not supported for C format");
  }
  std::shared_ptr<btf> b;
  if (runtime_source) {
    b = runtime::runtime_btf();
  } else {
    b.reset(btf__parse(path.c_str(), nullptr), btf__free);
    if (!b) {
      return make_error(Errc::invalid_argument,
                        "failed to load BTF from " + path + ": " + strerror(errno));
    }
  }
  if (c_format) return dump_c(ctx, b.get());
  if (ctx.json) {
    ctx.print_json(raw_json(b.get()));
    return ok_status();
  }
  const uint32_t count = btf__type_cnt(b.get());
  for (uint32_t id = 1; id < count; ++id) ctx.out << raw_type(b.get(), id);
  return ok_status();
}

Status do_btf_help(Context& ctx, Args) {
  if (ctx.json) {
    ctx.print_json(nullptr);
    return ok_status();
  }
  const std::string& bin = ctx.bin_name;
  ctx.err << "Usage: " << bin << " btf dump BTF_SRC [format FORMAT]\n"
          << "       " << bin << " btf help\n"
          << "\n"
          << "       BTF_SRC := { id BTF_ID | file FILE | runtime }\n"
          << "       FORMAT  := { raw | c }\n";
  return ok_status();
}

constexpr Command kBtfCommands[] = {
    {"show", nullptr},
    {"list", nullptr},
    {"help", do_btf_help},
    {"dump", do_dump},
};

}  // namespace

Status do_btf(Context& ctx, Args args) {
  return dispatch(ctx, CommandTable{"btf", kBtfCommands, "help", do_btf_help}, args);
}

}  // namespace userbpf::cli

// Writing a function signature from BTF the way bpftool's btf_dumper_type_only does.
#include "cli/func_signature.hpp"

#include <bpf/btf.h>

#include <optional>

namespace userbpf::cli {
namespace {

constexpr int kMaxDepth = 32;  // a type chain deeper than this is a loop in corrupt BTF

std::optional<std::string> type_only(const btf* b, uint32_t id, int depth);

std::optional<std::string> func_text(const btf* b, const btf_type* proto, const char* name,
                                     int depth) {
  auto text = type_only(b, proto->type, depth + 1);
  if (!text) return std::nullopt;
  *text += std::string(name ? name : "") + "(";
  const btf_param* params = btf_params(proto);
  for (uint16_t i = 0; i < btf_vlen(proto); ++i) {
    if (i) *text += ", ";
    if (params[i].type == 0) {
      *text += "...";
      continue;
    }
    auto arg = type_only(b, params[i].type, depth + 1);
    if (!arg) return std::nullopt;
    *text += *arg;
    if (params[i].name_off) {
      *text += btf__name_by_offset(b, params[i].name_off);
    } else if (!text->empty() && text->back() == ' ') {
      text->pop_back();  // an unnamed parameter keeps no trailing space
    }
  }
  return *text + ")";
}

std::optional<std::string> type_only(const btf* b, uint32_t id, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  if (id == 0) return std::string("void ");
  const btf_type* t = btf__type_by_id(b, id);
  if (!t) return std::nullopt;
  const char* raw_name = btf__name_by_offset(b, t->name_off);
  const std::string name = raw_name ? raw_name : "";
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FLOAT: return name + " ";
    case BTF_KIND_STRUCT: return "struct " + name + " ";
    case BTF_KIND_UNION: return "union " + name + " ";
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: return "enum " + name + " ";
    case BTF_KIND_FWD: return std::string(btf_kflag(t) ? "union " : "struct ") + name + " ";
    case BTF_KIND_ARRAY: {
      auto elem = type_only(b, btf_array(t)->type, depth + 1);
      if (!elem) return std::nullopt;
      return *elem + "[" + std::to_string(btf_array(t)->nelems) + "]";
    }
    case BTF_KIND_PTR: {
      auto target = type_only(b, t->type, depth + 1);
      if (!target) return std::nullopt;
      return *target + "* ";
    }
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT: {
      auto inner = type_only(b, t->type, depth + 1);
      if (!inner) return std::nullopt;
      const char* word = btf_kind(t) == BTF_KIND_CONST      ? "const "
                         : btf_kind(t) == BTF_KIND_VOLATILE ? "volatile "
                                                            : "restrict ";
      return word + *inner;
    }
    case BTF_KIND_FUNC_PROTO: return func_text(b, t, nullptr, depth);
    case BTF_KIND_FUNC: {
      const btf_type* proto = btf__type_by_id(b, t->type);
      if (!proto || btf_kind(proto) != BTF_KIND_FUNC_PROTO) return std::nullopt;
      return func_text(b, proto, raw_name, depth);
    }
    default: return std::nullopt;  // var, datasec, tags: bpftool writes nothing
  }
}

}  // namespace

std::string func_signature(const btf* b, uint32_t type_id) {
  if (b == nullptr) return "";
  return type_only(b, type_id, 0).value_or("");
}

}  // namespace userbpf::cli

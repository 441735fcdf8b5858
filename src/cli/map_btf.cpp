#include "cli/map_btf.hpp"

#include <bpf/btf.h>
#include <linux/btf.h>

#include <cctype>
#include <cstring>
#include <string>

namespace userbpf::cli {
namespace {

template <typename T>
T load(std::span<const uint8_t> data) {
  T value{};
  std::memcpy(&value, data.data(), sizeof(T));
  return value;
}

// Bits [bit_offset, bit_offset + bits) of data, little-endian, as an unsigned number.
uint64_t bits_of(std::span<const uint8_t> data, uint32_t bit_offset, uint32_t bits) {
  uint64_t value = 0;
  for (uint32_t i = 0; i < bits && i < 64; ++i) {
    const uint32_t bit = bit_offset + i;
    if (bit / 8 >= data.size()) break;
    if (data[bit / 8] & (1u << (bit % 8))) value |= uint64_t{1} << i;
  }
  return value;
}

std::optional<nlohmann::ordered_json> format_int(const btf_type* t, std::span<const uint8_t> data,
                                                 uint32_t bit_offset) {
  const uint32_t info = *reinterpret_cast<const uint32_t*>(t + 1);
  const uint32_t bits = BTF_INT_BITS(info);
  const uint32_t encoding = BTF_INT_ENCODING(info);
  if ((bits + BTF_INT_OFFSET(info) + bit_offset + 7) / 8 > data.size()) return std::nullopt;
  if (bit_offset || BTF_INT_OFFSET(info) || bits % 8 || bits > 64) {
    return nlohmann::ordered_json(bits_of(data, bit_offset + BTF_INT_OFFSET(info), bits));
  }
  if (encoding == BTF_INT_BOOL) return nlohmann::ordered_json(data[0] != 0);
  if (encoding == BTF_INT_CHAR) {
    const char c = static_cast<char>(data[0]);
    return nlohmann::ordered_json(std::string(1, c));  // non-printable: JSON escapes it as \u00XX
  }
  const bool is_signed = encoding == BTF_INT_SIGNED;
  switch (bits) {
    case 8:
      return is_signed ? nlohmann::ordered_json(load<int8_t>(data))
                       : nlohmann::ordered_json(load<uint8_t>(data));
    case 16:
      return is_signed ? nlohmann::ordered_json(load<int16_t>(data))
                       : nlohmann::ordered_json(load<uint16_t>(data));
    case 32:
      return is_signed ? nlohmann::ordered_json(load<int32_t>(data))
                       : nlohmann::ordered_json(load<uint32_t>(data));
    default:
      return is_signed ? nlohmann::ordered_json(load<int64_t>(data))
                       : nlohmann::ordered_json(load<uint64_t>(data));
  }
}

// A char array holding a NUL-terminated printable string (bpftool's is_str_array).
bool is_string(const btf* b, const struct btf_array* arr, std::span<const uint8_t> data) {
  if (arr->nelems == 0) return false;
  const btf_type* elem = btf__type_by_id(b, arr->type);
  while (elem && btf_is_mod(elem)) elem = btf__type_by_id(b, elem->type);
  if (!elem || !btf_is_int(elem) || elem->size != 1) return false;
  const char* name = btf__name_by_offset(b, elem->name_off);
  if (btf_int_encoding(elem) != BTF_INT_CHAR && !(name && std::strcmp(name, "char") == 0)) {
    return false;
  }
  for (uint32_t i = 0; i < arr->nelems && i < data.size(); ++i) {
    if (data[i] == 0) return true;
    if (data[i] <= 0x1f || data[i] >= 0x7f) return false;
  }
  return false;
}

std::optional<nlohmann::ordered_json> format(const btf* b, uint32_t type_id,
                                             std::span<const uint8_t> data, uint32_t bit_offset,
                                             int depth) {
  if (depth > 64) return std::nullopt;
  const btf_type* t = btf__type_by_id(b, type_id);
  if (!t) return std::nullopt;
  switch (btf_kind(t)) {
    case BTF_KIND_INT: return format_int(t, data, bit_offset);
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: return format(b, t->type, data, bit_offset, depth + 1);
    case BTF_KIND_PTR:
      if (data.size() < 8) return std::nullopt;
      return nlohmann::ordered_json(load<uint64_t>(data));
    case BTF_KIND_FLOAT:
      if (t->size == 4 && data.size() >= 4) return nlohmann::ordered_json(load<float>(data));
      if (t->size == 8 && data.size() >= 8) return nlohmann::ordered_json(load<double>(data));
      return std::nullopt;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      if (t->size > data.size() || t->size == 0 || t->size > 8) return std::nullopt;
      int64_t value = 0;
      switch (t->size) {
        case 1: value = load<int8_t>(data); break;
        case 2: value = load<int16_t>(data); break;
        case 4: value = load<int32_t>(data); break;
        default: value = load<int64_t>(data);
      }
      for (uint16_t i = 0; i < btf_vlen(t); ++i) {
        const bool is64 = btf_kind(t) == BTF_KIND_ENUM64;
        const int64_t v =
            is64 ? int64_t(btf_enum64_value(btf_enum64(t) + i)) : int64_t(btf_enum(t)[i].val);
        const uint32_t name_off = is64 ? btf_enum64(t)[i].name_off : btf_enum(t)[i].name_off;
        if (v == value) return nlohmann::ordered_json(btf__name_by_offset(b, name_off));
      }
      return nlohmann::ordered_json(value);
    }
    case BTF_KIND_ARRAY: {
      const struct btf_array* arr = btf_array(t);
      if (is_string(b, arr, data)) {
        return nlohmann::ordered_json(std::string(reinterpret_cast<const char*>(data.data())));
      }
      const int64_t elem_size = btf__resolve_size(b, arr->type);
      if (elem_size <= 0 && arr->nelems) return std::nullopt;
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (uint32_t i = 0; i < arr->nelems; ++i) {
        const size_t at = size_t(i) * size_t(elem_size);
        if (at + size_t(elem_size) > data.size()) return std::nullopt;
        auto elem = format(b, arr->type, data.subspan(at, size_t(elem_size)), 0, depth + 1);
        if (!elem) return std::nullopt;
        out.push_back(std::move(*elem));
      }
      return out;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (t->size > data.size()) return std::nullopt;
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      const btf_member* m = btf_members(t);
      for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
        const uint32_t bit_off = btf_member_bit_offset(t, i);
        const uint32_t bit_size = btf_member_bitfield_size(t, i);
        std::optional<nlohmann::ordered_json> value;
        if (bit_size) {
          value = nlohmann::ordered_json(bits_of(data, bit_off, bit_size));
        } else {
          value = format(b, m->type, data.subspan(bit_off / 8), bit_off % 8, depth + 1);
        }
        if (!value) return std::nullopt;
        const char* name = btf__name_by_offset(b, m->name_off);
        if (name && *name) {
          out[name] = std::move(*value);
        } else if (value->is_object()) {
          // An anonymous struct or union: its members join the enclosing object.
          for (auto& [key, member] : value->items()) out[key] = member;
        }
      }
      return out;
    }
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<nlohmann::ordered_json> btf_format(const btf* b, uint32_t type_id,
                                                 std::span<const uint8_t> data) {
  if (!b || type_id == 0) return std::nullopt;
  return format(b, type_id, data, 0, 0);
}

}  // namespace userbpf::cli

#include "cli/map_format.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "cli/prefix_match.hpp"

namespace userbpf::cli {

std::string hex_bytes(std::span<const uint8_t> bytes) {
  std::string text;
  for (size_t i = 0; i < bytes.size(); ++i) text += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
  return text;
}

nlohmann::ordered_json hex_bytes_json(std::span<const uint8_t> bytes) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (uint8_t b : bytes) array.push_back(fmt::format("0x{:02x}", b));
  return array;
}

namespace {

bool per_cpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

uint32_t slot_step(uint32_t value_size) {
  return (value_size + 7) / 8 * 8;
}

}  // namespace

std::string entry_plain(const maps::MapSpec& spec, uint32_t ncpus, std::span<const uint8_t> key,
                        std::span<const uint8_t> value) {
  std::string out;
  if (!per_cpu(spec.type)) {
    // bpftool's layout rules: names on their own line for big entries, one line for small.
    const bool break_names = spec.key_size > 16 || spec.value_size > 16;
    const bool single_line = spec.key_size + spec.value_size <= 24 && !break_names;
    if (spec.key_size) {
      out += std::string("key:") + (break_names ? '\n' : ' ') + hex_bytes(key);
      out += single_line ? "  " : "\n";
    }
    if (spec.value_size) {
      out += std::string("value:") + (break_names ? '\n' : ' ') +
             hex_bytes(value.subspan(0, std::min<size_t>(value.size(), spec.value_size)));
    }
    return out + "\n";
  }
  out += "key:\n" + hex_bytes(key) + "\n";
  const uint32_t step = slot_step(spec.value_size);
  for (uint32_t cpu = 0; cpu < ncpus && size_t(cpu) * step + spec.value_size <= value.size();
       ++cpu) {
    out += fmt::format("value (CPU {:02d}):{}", cpu, spec.value_size > 16 ? '\n' : ' ');
    out += hex_bytes(value.subspan(size_t(cpu) * step, spec.value_size)) + "\n";
  }
  return out;
}

nlohmann::ordered_json entry_json(const maps::MapSpec& spec, uint32_t ncpus,
                                  std::span<const uint8_t> key, std::span<const uint8_t> value) {
  nlohmann::ordered_json j;
  j["key"] = hex_bytes_json(key);
  if (!per_cpu(spec.type)) {
    j["value"] = hex_bytes_json(value.subspan(0, std::min<size_t>(value.size(), spec.value_size)));
    return j;
  }
  nlohmann::ordered_json values = nlohmann::ordered_json::array();
  const uint32_t step = slot_step(spec.value_size);
  for (uint32_t cpu = 0; cpu < ncpus && size_t(cpu) * step + spec.value_size <= value.size();
       ++cpu) {
    values.push_back(
        {{"cpu", cpu}, {"value", hex_bytes_json(value.subspan(cpu * step, spec.value_size))}});
  }
  j["values"] = values;
  return j;
}

Result<std::vector<uint8_t>> parse_bytes(Args args, size_t* pos, const char* what, uint32_t size) {
  size_t i = *pos;
  int base = 0;
  if (i < args.size() && args[i].size() >= 1 && std::string_view("hex").starts_with(args[i])) {
    base = 16;
    ++i;
  }
  std::vector<uint8_t> bytes;
  while (bytes.size() < size && i < args.size()) {
    const std::string& word = args[i];
    char* end = nullptr;
    const unsigned long value = std::strtoul(word.c_str(), &end, base);
    if (word.empty() || *end != '\0' || value > 0xff) {
      return make_error(Errc::invalid_argument, "error parsing byte: " + word);
    }
    bytes.push_back(static_cast<uint8_t>(value));
    ++i;
  }
  if (bytes.size() != size) {
    return make_error(Errc::invalid_argument, std::string(what) + " expected " +
                                                  std::to_string(size) + " bytes got " +
                                                  std::to_string(bytes.size()));
  }
  *pos = i;
  return bytes;
}

}  // namespace userbpf::cli

#include "hooks/tracefs_format.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace userbpf::hooks {
namespace {

// The number after `key` in `line` ("offset:16;" -> 16).
std::optional<uint64_t> number_after(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = line.data() + at + key.size();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(begin, line.data() + line.size(), value);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return value;
}

}  // namespace

std::optional<TracepointFormat> parse_tracepoint_format(std::string_view text) {
  TracepointFormat format;
  bool have_id = false;
  bool have_field = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.starts_with("ID:")) {
      if (auto id = number_after(line, "ID: ")) {
        format.id = static_cast<uint16_t>(*id);
        have_id = true;
      }
    } else if (const size_t at = line.find("field:"); at != std::string_view::npos) {
      auto offset = number_after(line, "offset:");
      auto size = number_after(line, "size:");
      if (!offset || !size) continue;
      TracepointField field;
      const size_t decl_end = line.find(';', at);
      field.decl = std::string(line.substr(
          at + 6, decl_end == std::string_view::npos ? std::string_view::npos : decl_end - at - 6));
      field.data_loc = field.decl.starts_with("__data_loc");
      // The name is the declaration's last identifier ("char comm[16]" -> "comm").
      std::string_view decl = field.decl;
      if (const size_t bracket = decl.find('[');
          bracket != std::string_view::npos && decl.find(' ', bracket) == std::string_view::npos) {
        decl = decl.substr(0, bracket);
      }
      const size_t space = decl.rfind(' ');
      field.name = std::string(space == std::string_view::npos ? decl : decl.substr(space + 1));
      field.offset = static_cast<uint32_t>(*offset);
      field.size = static_cast<uint32_t>(*size);
      format.size = std::max<uint32_t>(format.size, field.offset + field.size);
      format.fields.push_back(std::move(field));
      have_field = true;
    }
  }
  if (!have_id || !have_field) return std::nullopt;
  return format;
}

std::optional<TracepointFormat> read_tracepoint_format(const std::string& system,
                                                       const std::string& event) {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    std::ifstream in(std::string(root) + "/events/" + system + "/" + event + "/format");
    if (!in) continue;
    std::ostringstream text;
    text << in.rdbuf();
    if (auto format = parse_tracepoint_format(text.str())) return format;
  }
  return std::nullopt;
}

std::optional<TracepointFormat> read_syscall_tracepoint_format(const std::string& event) {
  return read_tracepoint_format("syscalls", event);
}

}  // namespace userbpf::hooks

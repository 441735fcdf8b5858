#include "isa/conformance_data.hpp"

#include <charconv>
#include <cstring>

namespace userbpf::isa {
namespace {

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  const size_t first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

std::string_view strip_comment(std::string_view line) {
  const size_t hash = line.find('#');
  return hash == std::string_view::npos ? line : line.substr(0, hash);
}

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Parses `0x...` (hex) or decimal into 64 bits; a leading '-' negates (two's complement).
std::optional<uint64_t> parse_u64(std::string_view t) {
  bool negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty()) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value, base);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return negative ? ~value + 1 : value;
}

Error line_error(int line, std::string message) {
  Location where;
  where.line = line;
  return make_error(Errc::invalid_argument, std::move(message), where);
}

// The byte form of a raw line: exactly 8 tokens of one or two hex digits, no 0x prefix.
bool is_byte_line(const std::vector<std::string_view>& toks) {
  if (toks.size() != 8) return false;
  for (std::string_view t : toks) {
    if (t.empty() || t.size() > 2) return false;
    for (char c : t)
      if (!is_hex_digit(c)) return false;
  }
  return true;
}

}  // namespace

RawInsn raw_from_word(uint64_t word) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(word >> (8 * i));
  RawInsn r;
  std::memcpy(&r, bytes, sizeof r);
  return r;
}

uint64_t word_from_raw(const RawInsn& insn) {
  uint8_t bytes[8];
  std::memcpy(bytes, &insn, sizeof bytes);
  uint64_t word = 0;
  for (int i = 0; i < 8; ++i) word |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return word;
}

std::vector<RawInsn> raw_from_words(const std::vector<uint64_t>& words) {
  std::vector<RawInsn> out;
  out.reserve(words.size());
  for (uint64_t w : words) out.push_back(raw_from_word(w));
  return out;
}

Result<ConformanceCase> parse_conformance_data(std::string_view text) {
  ConformanceCase c;
  enum class Section { none, asm_, raw, mem, result, error, ignored, unknown };
  Section section = Section::none;
  std::vector<std::string> seen;
  std::vector<std::string> error_lines;
  bool has_result_token = false;

  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool last = nl == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : nl - pos);
    pos = last ? text.size() + 1 : nl + 1;
    if (last && line.empty()) break;
    ++line_no;

    if (line.starts_with("--")) {
      std::string name(trim(strip_comment(line.substr(2))));
      for (const std::string& s : seen)
        if (s == name) return line_error(line_no, "repeated section '-- " + name + "'");
      seen.push_back(name);
      if (name == "asm") {
        section = Section::asm_;
        c.has_asm = true;
        c.asm_first_line = line_no + 1;
      } else if (name == "raw") {
        section = Section::raw;
        c.has_raw = true;
      } else if (name == "mem") {
        section = Section::mem;
      } else if (name == "result") {
        section = Section::result;
      } else if (name == "error") {
        section = Section::error;
        c.error = std::string();
      } else if (name == "c" || name == "no register offset") {
        section = Section::ignored;
      } else {
        section = Section::unknown;
        c.has_unknown_section = true;
        c.unknown_sections.push_back(name);
      }
      continue;
    }

    const std::string_view content = trim(strip_comment(line));
    switch (section) {
      case Section::none:
        if (!content.empty()) return line_error(line_no, "text outside any section");
        break;
      case Section::asm_:
        c.asm_text.append(line);
        c.asm_text += '\n';
        break;
      case Section::raw: {
        const auto toks = tokens(content);
        if (is_byte_line(toks)) {
          uint64_t word = 0;
          for (size_t i = 0; i < 8; ++i) word |= *parse_u64("0x" + std::string(toks[i])) << (8 * i);
          c.raw_words.push_back(word);
          break;
        }
        for (std::string_view t : toks) {
          auto value = parse_u64(t);
          if (!value)
            return line_error(line_no, "invalid raw instruction '" + std::string(t) + "'");
          c.raw_words.push_back(*value);
        }
        break;
      }
      case Section::mem:
        for (std::string_view t : tokens(content)) {
          if (t.size() % 2 != 0)
            return line_error(line_no, "invalid memory byte '" + std::string(t) + "'");
          for (size_t i = 0; i < t.size(); i += 2) {
            if (!is_hex_digit(t[i]) || !is_hex_digit(t[i + 1]))
              return line_error(line_no, "invalid memory byte '" + std::string(t) + "'");
            c.memory.push_back(
                static_cast<uint8_t>(*parse_u64("0x" + std::string(t.substr(i, 2)))));
          }
        }
        break;
      case Section::result:
        for (std::string_view t : tokens(content)) {
          if (has_result_token) return line_error(line_no, "more than one result value");
          auto value = parse_u64(t);
          if (!value) return line_error(line_no, "invalid result '" + std::string(t) + "'");
          c.result = *value;
          has_result_token = true;
        }
        break;
      case Section::error: error_lines.emplace_back(content); break;
      case Section::ignored:
      case Section::unknown: break;
    }
  }

  if (c.error) {
    while (!error_lines.empty() && error_lines.back().empty()) error_lines.pop_back();
    size_t first = 0;
    while (first < error_lines.size() && error_lines[first].empty()) ++first;
    std::string joined;
    for (size_t i = first; i < error_lines.size(); ++i) {
      if (i > first) joined += '\n';
      joined += error_lines[i];
    }
    c.error = joined;
  }
  return c;
}

}  // namespace userbpf::isa

#include "cli/hex.hpp"

#include <fmt/format.h>

namespace userbpf::cli {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

Result<std::vector<uint8_t>> parse_hex(std::string_view text) {
  std::vector<uint8_t> bytes;
  size_t pos = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) pos = 2;
  int high = -1;  // the first digit of a byte in progress
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (is_space(c) && high < 0) continue;
    const int value = hex_value(c);
    if (value < 0) {
      const std::string shown = (c >= ' ' && c <= '~') ? fmt::format("'{}'", c)
                                                       : fmt::format("byte 0x{:02x}", uint8_t(c));
      return make_error(Errc::invalid_argument,
                        fmt::format("invalid hex character {} at offset {}", shown, pos));
    }
    if (high < 0) {
      high = value;
    } else {
      bytes.push_back(static_cast<uint8_t>(high << 4 | value));
      high = -1;
    }
  }
  if (high >= 0) {
    return make_error(Errc::invalid_argument,
                      fmt::format("odd number of hex digits (last byte incomplete at offset {})",
                                  text.size() - 1));
  }
  return bytes;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string hex_dump(std::span<const uint8_t> bytes) {
  std::string out;
  for (size_t row = 0; row < bytes.size(); row += 16) {
    out += fmt::format("{:07x}\t", row);
    for (size_t j = row; j < row + 16; ++j) {
      if (j < bytes.size()) {
        out += fmt::format("{:02x}", bytes[j]);
      } else {
        out += "  ";
      }
      if (j % 2 == 1) out += ' ';
    }
    out += "| ";
    for (size_t j = row; j < row + 16 && j < bytes.size(); ++j) {
      const char c = static_cast<char>(bytes[j]);
      out += (c < ' ' || c > '~') ? '.' : c;
      if (j == row + 7) out += ' ';
    }
    out += '\n';
  }
  return out;
}

}  // namespace userbpf::cli

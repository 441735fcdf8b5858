#include "helpers/bprintf.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "helpers/safe_memory.hpp"

namespace userbpf::helpers {
namespace {

constexpr size_t kMaxStringBytes = 512;  // MAX_BPRINTF_BIN_ARGS: room for copied strings

bool ends_word(char c) {
  return c == 0 || std::isspace(static_cast<unsigned char>(c)) ||
         std::ispunct(static_cast<unsigned char>(c));
}

std::string format_ip(char kind, char version, uint64_t addr) {
  uint8_t ip[16] = {};
  const size_t n = version == '4' ? 4 : 16;
  if (!read_nofault(addr, ip, n)) std::memset(ip, 0, n);
  char buf[64];
  if (version == '4') {
    std::snprintf(buf, sizeof buf, kind == 'I' ? "%u.%u.%u.%u" : "%03u.%03u.%03u.%03u", ip[0],
                  ip[1], ip[2], ip[3]);
    return buf;
  }
  std::string s;
  for (int i = 0; i < 16; i += 2) {
    if (kind == 'I' && i) s += ':';
    std::snprintf(buf, sizeof buf, "%02x%02x", ip[i], ip[i + 1]);
    s += buf;
  }
  return s;
}

}  // namespace

int bprintf(std::string_view fmt_bytes, std::span<const uint64_t> args, std::string& out) {
  const size_t nul = fmt_bytes.find('\0');
  if (nul == std::string_view::npos) return -EINVAL;
  const std::string fmt(fmt_bytes.substr(0, nul));  // NUL-terminated copy: fmt[i + 1] is safe
  std::string text;
  size_t spec = 0;
  size_t string_budget = kMaxStringBytes;

  for (size_t i = 0; i < fmt.size(); ++i) {
    const unsigned char c = fmt[i];
    if (isascii(c) && !std::isprint(c) && !std::isspace(c)) return -EINVAL;
    if (c != '%') {
      text += static_cast<char>(c);
      continue;
    }
    if (fmt[i + 1] == '%') {
      text += '%';
      ++i;
      continue;
    }
    if (spec >= args.size()) return -EINVAL;
    ++i;
    if (!isascii(static_cast<unsigned char>(fmt[i]))) return -EINVAL;

    // The printf spec we hand to snprintf: flags and width as written.
    std::string conv = "%";
    while (fmt[i] == '0' || fmt[i] == '+' || fmt[i] == '-' || fmt[i] == ' ') conv += fmt[i++];
    if (fmt[i] >= '1' && fmt[i] <= '9')
      while (fmt[i] >= '0' && fmt[i] <= '9') conv += fmt[i++];

    const uint64_t arg = args[spec++];
    char buf[128];
    // %s, %pks, %pus: a string read without faulting; a bad pointer prints as "".
    auto append_string = [&] {
      std::string s;
      const long n = string_budget ? read_string_nofault(arg, s, string_budget) : 0;
      if (n < 0) s.clear();
      string_budget -= std::min<size_t>(string_budget, n < 0 ? 1 : static_cast<size_t>(n));
      std::snprintf(buf, sizeof buf, (conv + "s").c_str(), s.c_str());
      text += s.size() < sizeof buf - 1 ? std::string(buf) : s;
    };
    if (fmt[i] == 'p') {
      const char next = fmt[i + 1];
      if (ends_word(next) || next == 'K' || next == 'x') {
        // Plain %p, %pK and %px: the address itself. (The kernel hashes plain %p; a user-space
        // runtime has no kernel pointers to hide.)
        if (!ends_word(next)) ++i;
        std::snprintf(buf, sizeof buf, "%016" PRIx64, arg);
        text += buf;
        continue;
      }
      if (next == 's' || next == 'S' || next == 'B') {  // symbols: none known, print the address
        ++i;
        std::snprintf(buf, sizeof buf, "0x%" PRIx64, arg);
        text += buf;
        continue;
      }
      if ((next == 'k' || next == 'u') && fmt[i + 2] == 's') {
        i += 2;
        if (!ends_word(fmt[i + 1])) return -EINVAL;
        append_string();
        continue;
      }
      if ((next == 'i' || next == 'I') && (fmt[i + 2] == '4' || fmt[i + 2] == '6')) {
        text += format_ip(next, fmt[i + 2], arg);
        i += 2;
        continue;
      }
      return -EINVAL;
    }
    if (fmt[i] == 's') {
      if (!ends_word(fmt[i + 1])) return -EINVAL;
      append_string();
      continue;
    }
    if (fmt[i] == 'c') {
      std::snprintf(buf, sizeof buf, (conv + "c").c_str(),
                    static_cast<int>(static_cast<char>(arg)));
      text += buf;
      continue;
    }
    int longs = 0;
    while (fmt[i] == 'l' && longs < 2) {
      ++longs;
      ++i;
    }
    const char kind = fmt[i];
    if (kind != 'i' && kind != 'd' && kind != 'u' && kind != 'x' && kind != 'X') return -EINVAL;
    const bool is_signed = kind == 'i' || kind == 'd';
    if (longs == 0) {  // int-sized: the kernel passes the low 32 bits
      const uint32_t v = static_cast<uint32_t>(arg);
      if (is_signed)
        std::snprintf(buf, sizeof buf, (conv + "d").c_str(), static_cast<int32_t>(v));
      else
        std::snprintf(buf, sizeof buf, (conv + kind).c_str(), v);
    } else {
      const std::string spec64 = conv + (is_signed     ? PRId64
                                         : kind == 'u' ? PRIu64
                                         : kind == 'x' ? PRIx64
                                                       : PRIX64);
      if (is_signed)
        std::snprintf(buf, sizeof buf, spec64.c_str(), static_cast<int64_t>(arg));
      else
        std::snprintf(buf, sizeof buf, spec64.c_str(), arg);
    }
    text += buf;
  }

  const int full = static_cast<int>(text.size());
  if (text.size() > kMaxBprintfOutput - 1) text.resize(kMaxBprintfOutput - 1);
  out = std::move(text);
  return full;
}

}  // namespace userbpf::helpers

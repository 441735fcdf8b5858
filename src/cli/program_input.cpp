#include "cli/program_input.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "isa/conformance_asm.hpp"
#include "isa/conformance_data.hpp"
#include "isa/decode.hpp"

namespace userbpf::cli {
namespace {

constexpr uint8_t kElfMagic[] = {0x7f, 'E', 'L', 'F'};

bool has_elf_magic(std::span<const uint8_t> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kElfMagic, 4) == 0;
}

// Text as a human writes it: no NUL and no control characters besides whitespace. Raw programs
// always contain NULs (the exit instruction alone is 95 00 00 00 00 00 00 00).
bool looks_like_text(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    if (b < 0x20 && b != '\n' && b != '\r' && b != '\t' && b != '\f' && b != '\v') return false;
    if (b == 0x7f) return false;
  }
  return true;
}

bool has_section_line(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.substr(pos).starts_with("--")) return true;
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

Result<isa::Program> decode_slots(std::span<const isa::RawInsn> raw) {
  return isa::decode(raw);
}

}  // namespace

Error with_file(Error error, const std::string& path) {
  if (error.where.file.empty()) error.where.file = path;
  return error;
}

std::string_view format_name(InputFormat format) {
  switch (format) {
    case InputFormat::asm_text: return "asm";
    case InputFormat::raw: return "raw";
    case InputFormat::data: return "data";
    case InputFormat::elf: return "elf";
  }
  return "?";
}

Result<InputFormat> parse_format(std::string_view name) {
  for (InputFormat f :
       {InputFormat::asm_text, InputFormat::raw, InputFormat::data, InputFormat::elf}) {
    if (format_name(f) == name) return f;
  }
  return make_error(Errc::invalid_argument,
                    "unknown format '" + std::string(name) + "' (expected asm, raw, data or elf)");
}

InputFormat detect_format(std::span<const uint8_t> bytes) {
  if (has_elf_magic(bytes)) return InputFormat::elf;
  if (!looks_like_text(bytes)) return InputFormat::raw;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return has_section_line(text) ? InputFormat::data : InputFormat::asm_text;
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto failure = [&](int err) {
    return make_error(Errc::io, "can't read '" + path + "': " + std::strerror(err));
  };
  if (fd < 0) return failure(errno);
  std::vector<uint8_t> bytes;
  uint8_t buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (!is_stdin) ::close(fd);
      return failure(err);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  if (!is_stdin) ::close(fd);
  return bytes;
}

Result<LoadedProgram> load_program(const std::string& path, std::optional<InputFormat> forced) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.take_error();
  if (bytes->empty()) return make_error(Errc::invalid_argument, "file '" + path + "' is empty");

  LoadedProgram loaded;
  loaded.format = forced ? *forced : detect_format(*bytes);
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());

  std::vector<isa::RawInsn> raw;
  switch (loaded.format) {
    case InputFormat::elf:
      if (!has_elf_magic(*bytes)) {
        return make_error(Errc::invalid_argument, "'" + path + "' is not an ELF object");
      }
      return make_error(Errc::unsupported, "ELF objects are not supported yet");
    case InputFormat::raw: {
      auto slots = isa::raw_from_bytes(*bytes);
      if (!slots) return with_file(slots.take_error(), path);
      raw = std::move(*slots);
      break;
    }
    case InputFormat::asm_text: {
      auto slots = isa::assemble(text);
      if (!slots) return with_file(slots.take_error(), path);
      raw = std::move(*slots);
      break;
    }
    case InputFormat::data: {
      auto parsed = isa::parse_conformance_data(text);
      if (!parsed) return with_file(parsed.take_error(), path);
      if (parsed->has_asm) {
        auto slots = isa::assemble(parsed->asm_text);
        if (!slots) {
          Error error = slots.take_error();
          // The assembler counts lines of the asm section; report lines of the file.
          if (error.where.line > 0) error.where.line += parsed->asm_first_line - 1;
          return with_file(std::move(error), path);
        }
        raw = std::move(*slots);
      } else if (parsed->has_raw) {
        raw = isa::raw_from_words(parsed->raw_words);
      } else {
        return make_error(Errc::invalid_argument,
                          "'" + path + "' has neither an '-- asm' nor a '-- raw' section");
      }
      if (!parsed->memory.empty()) loaded.memory = std::move(parsed->memory);
      break;
    }
  }
  auto program = decode_slots(raw);
  if (!program) return with_file(program.take_error(), path);
  loaded.program = std::move(*program);
  return loaded;
}

}  // namespace userbpf::cli

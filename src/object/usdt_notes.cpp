#include "object/usdt_notes.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace userbpf::object {
namespace {

constexpr uint32_t kStapsdtNoteType = 3;
constexpr std::string_view kStapsdtOwner = "stapsdt";

struct Segment {
  uint64_t start = 0;  // p_vaddr
  uint64_t end = 0;    // p_vaddr + p_memsz
  uint64_t offset = 0;
  bool executable = false;
};

// An open libelf handle that closes itself.
class ElfHandle {
 public:
  ~ElfHandle() {
    if (elf_) elf_end(elf_);
    if (fd_ >= 0) close(fd_);
  }
  Status open(const std::string& path) {
    if (elf_version(EV_CURRENT) == EV_NONE) {
      return make_error(Errc::io, "libelf: " + std::string(elf_errmsg(-1)), {path, "", -1, -1});
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return make_error(Errc::io, fmt::format("cannot open: {}", std::strerror(errno)),
                        {path, "", -1, -1});
    }
    elf_ = elf_begin(fd_, ELF_C_READ_MMAP, nullptr);
    if (!elf_ || elf_kind(elf_) != ELF_K_ELF) {
      return make_error(Errc::invalid_argument, "not an ELF file", {path, "", -1, -1});
    }
    return ok_status();
  }
  Elf* get() const { return elf_; }

 private:
  int fd_ = -1;
  Elf* elf_ = nullptr;
};

Location at(const std::string& path, std::string section = {}) {
  return Location{path, std::move(section), -1, -1};
}

// The section named `name`, or nullptr.
Elf_Scn* find_section(Elf* elf, std::string_view name, GElf_Shdr& shdr) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return nullptr;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    if (!gelf_getshdr(scn, &shdr)) return nullptr;
    const char* section_name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (section_name && name == section_name) return scn;
  }
  return nullptr;
}

Result<std::vector<Segment>> load_segments(Elf* elf, const std::string& path) {
  size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) {
    return make_error(Errc::invalid_argument, "unreadable program headers", at(path));
  }
  std::vector<Segment> segments;
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf, static_cast<int>(i), &phdr)) {
      return make_error(Errc::invalid_argument, fmt::format("unreadable program header {}", i),
                        at(path));
    }
    if (phdr.p_type != PT_LOAD) continue;
    segments.push_back(
        {phdr.p_vaddr, phdr.p_vaddr + phdr.p_memsz, phdr.p_offset, (phdr.p_flags & PF_X) != 0});
  }
  if (segments.empty()) {
    return make_error(Errc::invalid_argument, "no PT_LOAD program headers", at(path));
  }
  return segments;
}

const Segment* segment_of(const std::vector<Segment>& segments, uint64_t address) {
  for (const Segment& s : segments) {
    if (s.start <= address && address < s.end) return &s;
  }
  return nullptr;
}

// One note's description: three addresses, then provider, name and args as C strings.
Result<UsdtNote> parse_note(const GElf_Nhdr& header, const char* data, size_t name_off,
                            size_t desc_off, size_t index, const std::string& path) {
  const Location where = at(path, ".note.stapsdt");
  const std::string_view owner(data + name_off, header.n_namesz);
  const std::string_view owner_text = owner.substr(0, owner.find('\0'));
  if (owner_text != kStapsdtOwner || header.n_type != kStapsdtNoteType) {
    return make_error(Errc::invalid_argument,
                      fmt::format("note {}: not a stapsdt note (owner '{}', type {})", index,
                                  owner_text, header.n_type),
                      where);
  }
  const char* desc = data + desc_off;
  const char* end = desc + header.n_descsz;
  uint64_t addresses[3];
  // Three empty strings need at least three bytes after the addresses.
  if (header.n_descsz < sizeof(addresses) + 3) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("note {}: description of {} bytes is too short", index, header.n_descsz),
        where);
  }
  std::memcpy(addresses, desc, sizeof(addresses));
  const char* provider = desc + sizeof(addresses);
  const char* provider_end = static_cast<const char*>(std::memchr(provider, '\0', end - provider));
  if (!provider_end) {
    return make_error(Errc::invalid_argument,
                      fmt::format("note {}: provider is not NUL-terminated", index), where);
  }
  const char* name = provider_end + 1;
  if (name >= end || *name == '\0') {
    return make_error(Errc::invalid_argument, fmt::format("note {}: missing probe name", index),
                      where);
  }
  const char* name_end = static_cast<const char*>(std::memchr(name, '\0', end - name));
  if (!name_end) {
    return make_error(Errc::invalid_argument,
                      fmt::format("note {}: probe name is not NUL-terminated", index), where);
  }
  const char* args = name_end + 1;
  if (args >= end) {
    return make_error(Errc::invalid_argument, fmt::format("note {}: missing argument spec", index),
                      where);
  }
  const char* args_end = static_cast<const char*>(std::memchr(args, '\0', end - args));
  UsdtNote note;
  note.index = index;
  note.provider = provider;
  note.name = name;
  // An args string starting with ':' is the old (version 1) note format: no arguments known.
  if (*args != ':') note.args.assign(args, args_end ? args_end : end);
  note.pc = addresses[0];
  note.base = addresses[1];
  note.semaphore = addresses[2];
  return note;
}

struct OpenedUsdtFile {
  UsdtFile file;
  std::vector<Segment> segments;
};

Result<OpenedUsdtFile> open_usdt_file(const std::string& path) {
  ElfHandle handle;
  if (Status s = handle.open(path); !s) return s.error();
  Elf* elf = handle.get();
  GElf_Ehdr ehdr;
  if (gelf_getclass(elf) != ELFCLASS64 || !gelf_getehdr(elf, &ehdr)) {
    return make_error(Errc::invalid_argument, "not a 64-bit ELF file", at(path));
  }
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB) {
    return make_error(Errc::invalid_argument, "not a little-endian ELF file", at(path));
  }
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) {
    return make_error(Errc::invalid_argument,
                      fmt::format("ELF type {} is neither ET_EXEC nor ET_DYN", ehdr.e_type),
                      at(path));
  }
  OpenedUsdtFile out;
  out.file.path = path;
  out.file.shared_object = ehdr.e_type == ET_DYN;
  GElf_Shdr notes_header;
  Elf_Scn* notes = find_section(elf, ".note.stapsdt", notes_header);
  if (!notes) {
    return make_error(Errc::not_found, "no USDT notes (.note.stapsdt section)", at(path));
  }
  if (notes_header.sh_type != SHT_NOTE) {
    return make_error(Errc::invalid_argument, "section .note.stapsdt is not SHT_NOTE",
                      at(path, ".note.stapsdt"));
  }
  auto segments = load_segments(elf, path);
  if (!segments) return segments.take_error();
  out.segments = std::move(*segments);
  GElf_Shdr base_header;
  if (find_section(elf, ".stapsdt.base", base_header)) out.file.base_section = base_header.sh_addr;

  Elf_Data* data = elf_getdata(notes, nullptr);
  if (!data || !data->d_buf) return out;
  size_t offset = 0, name_off = 0, desc_off = 0;
  GElf_Nhdr header;
  size_t index = 0;
  while ((offset = gelf_getnote(data, offset, &header, &name_off, &desc_off)) > 0) {
    auto note = parse_note(header, static_cast<const char*>(data->d_buf), name_off, desc_off,
                           index++, path);
    if (!note) return note.take_error();
    out.file.notes.push_back(std::move(*note));
  }
  return out;
}

}  // namespace

Result<UsdtFile> read_usdt_notes(const std::string& path) {
  auto opened = open_usdt_file(path);
  if (!opened) return opened.take_error();
  return std::move(opened->file);
}

Result<std::vector<UsdtProbe>> find_usdt_probes(const std::string& path, std::string_view provider,
                                                std::string_view name) {
  auto opened = open_usdt_file(path);
  if (!opened) return opened.take_error();
  const UsdtFile& file = opened->file;
  const Location where = at(path, ".note.stapsdt");
  std::vector<UsdtProbe> probes;
  for (const UsdtNote& note : file.notes) {
    if (note.provider != provider || note.name != name) continue;
    UsdtProbe probe;
    probe.note = note;
    probe.address = note.pc;
    if (file.base_section) probe.address += file.base_section - note.base;
    const Segment* code = segment_of(opened->segments, probe.address);
    if (!code) {
      return make_error(Errc::invalid_argument,
                        fmt::format("note {} ({}:{}): pc {:#x} is in no PT_LOAD segment",
                                    note.index, provider, name, probe.address),
                        where);
    }
    if (!code->executable) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("note {} ({}:{}): pc {:#x} is in the non-executable segment "
                      "[{:#x}, {:#x})",
                      note.index, provider, name, probe.address, code->start, code->end),
          where);
    }
    probe.file_offset = probe.address - code->start + code->offset;
    if (note.semaphore) {
      const Segment* data = segment_of(opened->segments, note.semaphore);
      if (!data) {
        return make_error(Errc::invalid_argument,
                          fmt::format("note {} ({}:{}): semaphore {:#x} is in no PT_LOAD segment",
                                      note.index, provider, name, note.semaphore),
                          where);
      }
      if (data->executable) {
        return make_error(
            Errc::invalid_argument,
            fmt::format("note {} ({}:{}): semaphore {:#x} is in the executable "
                        "segment [{:#x}, {:#x})",
                        note.index, provider, name, note.semaphore, data->start, data->end),
            where);
      }
      probe.semaphore_offset = note.semaphore - data->start + data->offset;
    }
    probes.push_back(std::move(probe));
  }
  if (probes.empty()) {
    return make_error(Errc::not_found, fmt::format("no USDT probe {}:{}", provider, name),
                      at(path));
  }
  return probes;
}

}  // namespace userbpf::object

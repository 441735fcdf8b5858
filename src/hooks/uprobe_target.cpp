#include "hooks/uprobe_target.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace userbpf::hooks {
namespace {

constexpr std::string_view kTypes[] = {"uretprobe.s", "uprobe.s", "uretprobe", "uprobe"};

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Error section_error(std::string_view section, const std::string& why) {
  return make_error(Errc::invalid_argument, "section '" + std::string(section) + "': " + why);
}

// A number as C's strtol/strtoull with base 0 reads it (decimal, 0x hex, 0 octal), whole.
std::optional<uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::string s(text);
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end != s.c_str() + s.size() || s[0] == '-' || s[0] == '+') return std::nullopt;
  return v;
}

bool is_func_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '@';
}

// libbpf's resolve_full_path: names with '/' are used as given; others are searched in PATH (or
// for shared libraries in LD_LIBRARY_PATH and the usual library directories).
std::string resolve_path(std::string_view name) {
  std::string file(name);
  if (file.find('/') != std::string::npos) return file;
  const bool library = file.ends_with(".so") || file.find(".so.") != std::string::npos;
  std::vector<std::string> lists;
  if (library) {
    if (const char* env = getenv("LD_LIBRARY_PATH")) lists.emplace_back(env);
    lists.emplace_back("/usr/lib64:/usr/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu");
  } else {
    if (const char* env = getenv("PATH")) lists.emplace_back(env);
    lists.emplace_back("/usr/bin:/usr/sbin");
  }
  for (const std::string& list : lists) {
    std::string_view rest = list;
    while (!rest.empty()) {
      const size_t end = rest.find(':');
      const std::string_view dir = rest.substr(0, end);
      if (!dir.empty()) {
        std::string candidate = std::string(dir) + "/" + file;
        if (access(candidate.c_str(), R_OK) == 0) return candidate;
      }
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  return file;  // not found: open() reports it with this name
}

// An open libelf handle that closes itself.
class ElfFile {
 public:
  ~ElfFile() {
    if (elf_) elf_end(elf_);
    if (fd_ >= 0) close(fd_);
  }
  Status open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return make_error(errno == ENOENT ? Errc::not_found : Errc::io,
                        "uprobe target '" + path + "': " + std::strerror(errno));
    }
    elf_version(EV_CURRENT);
    elf_ = elf_begin(fd_, ELF_C_READ_MMAP, nullptr);
    GElf_Ehdr ehdr;
    if (!elf_ || elf_kind(elf_) != ELF_K_ELF || !gelf_getehdr(elf_, &ehdr)) {
      return make_error(Errc::invalid_argument, "uprobe target '" + path + "' is not an ELF file");
    }
    type_ = ehdr.e_type;
    return ok_status();
  }
  Elf* elf() const { return elf_; }
  int fd() const { return fd_; }
  uint16_t type() const { return type_; }
  const std::string& path() const { return path_; }

  // Mapped by the dynamic loader: a shared object without a program interpreter (a PIE
  // executable has PT_INTERP and is mapped by exec).
  bool is_library() const {
    if (type_ != ET_DYN) return false;
    size_t count = 0;
    if (elf_getphdrnum(elf_, &count) != 0) return false;
    for (size_t i = 0; i < count; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf_, static_cast<int>(i), &ph) && ph.p_type == PT_INTERP) return false;
    }
    return true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  Elf* elf_ = nullptr;
  uint16_t type_ = 0;
};

struct FoundSymbol {
  GElf_Sym sym{};
  bool found = false;
};

// Looks `name` up in the symbol table of type `table` (SHT_SYMTAB or SHT_DYNSYM). Defined
// function symbols only; versioned dynamic names ("name@@VER", "name@VER") match their base.
Result<FoundSymbol> find_in_table(const ElfFile& file, uint32_t table, std::string_view name) {
  FoundSymbol out;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(file.elf(), scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != table || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      const char* sym_name = elf_strptr(file.elf(), sh.sh_link, sym.st_name);
      if (!sym_name) continue;
      std::string_view candidate(sym_name);
      if (const size_t at = candidate.find('@');
          at != std::string_view::npos && name.find('@') == std::string_view::npos) {
        candidate = candidate.substr(0, at);
      }
      if (candidate != name || sym.st_shndx == SHN_UNDEF) continue;
      const int type = GELF_ST_TYPE(sym.st_info);
      if (type == STT_GNU_IFUNC) {
        return make_error(Errc::invalid_argument,
                          "symbol '" + std::string(name) + "' in '" + file.path() +
                              "' is an STT_GNU_IFUNC (an indirect function's resolver): "
                              "attach to the implementation it selects instead");
      }
      if (type != STT_FUNC) continue;
      if (!out.found) {
        out.sym = sym;
        out.found = true;
        continue;
      }
      if (out.sym.st_value == sym.st_value) continue;
      const bool old_weak = GELF_ST_BIND(out.sym.st_info) == STB_WEAK;
      const bool new_weak = GELF_ST_BIND(sym.st_info) == STB_WEAK;
      if (!old_weak && !new_weak) {
        return make_error(Errc::invalid_argument,
                          "'" + file.path() + "' has two functions named '" + std::string(name) +
                              "' (at " + hex(out.sym.st_value) + " and " + hex(sym.st_value) + ")");
      }
      if (old_weak && !new_weak) out.sym = sym;  // a global symbol wins over a weak one
    }
  }
  return out;
}

// The file offset of a virtual address through the executable PT_LOAD segment holding it.
std::optional<uint64_t> vaddr_to_offset(const ElfFile& file, uint64_t vaddr) {
  size_t count = 0;
  if (elf_getphdrnum(file.elf(), &count) != 0) return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(file.elf(), static_cast<int>(i), &ph)) continue;
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) {
      return vaddr - ph.p_vaddr + ph.p_offset;
    }
  }
  return std::nullopt;
}

Result<uint64_t> function_offset(const ElfFile& file, std::string_view symbol) {
  FoundSymbol found;
  for (uint32_t table : {SHT_SYMTAB, SHT_DYNSYM}) {
    auto in_table = find_in_table(file, table, symbol);
    if (!in_table) return in_table.take_error();
    if (in_table->found) {
      found = *in_table;
      break;
    }
  }
  if (!found.found) {
    return make_error(Errc::not_found, "no function '" + std::string(symbol) + "' in '" +
                                           file.path() + "' (.symtab and .dynsym searched)");
  }
  auto offset = vaddr_to_offset(file, found.sym.st_value);
  if (!offset) {
    return make_error(Errc::invalid_argument, "function '" + std::string(symbol) + "' of '" +
                                                  file.path() + "' at " + hex(found.sym.st_value) +
                                                  " is in no executable segment");
  }
  return *offset;
}

}  // namespace

std::string UprobeTarget::name() const {
  std::string out = retprobe ? "uretprobe/" : "uprobe/";
  out += path;
  out += ':';
  out += spec;
  return out;
}

bool is_uprobe_section(std::string_view section) {
  for (std::string_view type : kTypes) {
    if (section == type) return true;
    if (section.starts_with(type) && section.size() > type.size() && section[type.size()] == '/') {
      return true;
    }
  }
  return false;
}

Result<UprobeSection> parse_uprobe_section(std::string_view section) {
  UprobeSection out;
  std::string_view rest;
  bool matched = false;
  for (std::string_view type : kTypes) {
    if (section == type || (section.starts_with(type) && section.size() > type.size() &&
                            section[type.size()] == '/')) {
      out.retprobe = type.starts_with("uretprobe");
      out.sleepable = type.ends_with(".s");
      rest = section.substr(std::min(section.size(), type.size() + 1));
      matched = true;
      break;
    }
  }
  if (!matched) return section_error(section, "not a uprobe section");
  if (rest.empty()) return out;  // SEC("uprobe"): no target
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return section_error(section, "missing ':function[+offset]' specification");
  }
  out.path = std::string(rest.substr(0, colon));
  std::string_view func = rest.substr(colon + 1);
  size_t name_end = 0;
  while (name_end < func.size() && is_func_char(func[name_end])) ++name_end;
  if (name_end == 0) return section_error(section, "invalid function name");
  const std::string_view name = func.substr(0, name_end);
  std::string_view tail = func.substr(name_end);
  uint64_t offset = 0;
  if (!tail.empty()) {
    if (tail[0] != '+') return section_error(section, "invalid '+offset' after the function");
    auto value = parse_number(tail.substr(1));
    if (!value)
      return section_error(section, "invalid offset '" + std::string(tail.substr(1)) + "'");
    offset = *value;
  }
  if (out.retprobe && offset != 0) {
    return section_error(section, "uretprobes do not support offset specification");
  }
  out.has_target = true;
  if (auto raw = parse_number(name); raw && tail.empty()) {
    out.func = UprobeFunc::at_offset(*raw);  // a raw file offset, as libbpf's number form
  } else {
    out.func = UprobeFunc::at_symbol(std::string(name), offset);
  }
  return out;
}

Result<uint64_t> elf_function_offset(const std::string& path, std::string_view symbol) {
  ElfFile file;
  if (Status s = file.open(path); !s) return s.take_error();
  return function_offset(file, symbol);
}

Result<UprobeTarget> resolve_uprobe(std::string_view path, const UprobeFunc& func, bool retprobe) {
  if (path.empty()) return make_error(Errc::invalid_argument, "uprobe target: no file named");
  UprobeTarget target;
  target.path = resolve_path(path);
  target.retprobe = retprobe;
  ElfFile file;
  if (Status s = file.open(target.path); !s) return s.take_error();
  struct stat st {};
  if (fstat(file.fd(), &st) != 0) {
    return make_error(Errc::io, "uprobe target '" + target.path + "': " + std::strerror(errno));
  }
  target.dev = st.st_dev;
  target.ino = st.st_ino;
  target.library = file.is_library();
  if (func.symbol.empty()) {
    target.file_offset = func.offset;
    target.spec = hex(func.offset);
  } else {
    auto offset = function_offset(file, func.symbol);
    if (!offset) return offset.take_error();
    target.file_offset = *offset + func.offset;
    target.spec = func.symbol;
    if (func.offset != 0) target.spec += "+" + hex(func.offset);
  }
  if (static_cast<uint64_t>(st.st_size) <= target.file_offset) {
    return make_error(Errc::invalid_argument, "uprobe target '" + target.path + "': offset " +
                                                  hex(target.file_offset) +
                                                  " is past the end of the file");
  }
  return target;
}

}  // namespace userbpf::hooks

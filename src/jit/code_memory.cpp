#include "jit/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace userbpf::jit {

Result<CodeMemory> map_code(const uint8_t* bytes, size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t length = (size + page - 1) / page * page;
  void* memory = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    return make_error(Errc::io, std::string("mmap of JIT code failed: ") + std::strerror(errno));
  std::memcpy(memory, bytes, size);
  if (mprotect(memory, length, PROT_READ | PROT_EXEC) != 0) {
    const int saved = errno;
    munmap(memory, length);
    return make_error(
        Errc::io, std::string("mprotect of JIT code to read+exec failed: ") + std::strerror(saved));
  }
  CodeMemory out;
  out.mapping = std::shared_ptr<const void>(
      memory, [length](const void* p) { munmap(const_cast<void*>(p), length); });
  out.code = static_cast<const uint8_t*>(memory);
  out.size = size;
  return out;
}

}  // namespace userbpf::jit

#include "jit/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace userbpf::jit {
namespace {

size_t page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t round_up_to_pages(size_t size) {
  const size_t page = page_size();
  return (size + page - 1) / page * page;
}

}  // namespace

Result<CodeBuffer> CodeBuffer::reserve(size_t capacity) {
  const size_t length = round_up_to_pages(capacity == 0 ? 1 : capacity);
  void* memory = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    return make_error(Errc::io, std::string("mmap of JIT code failed: ") + std::strerror(errno));
  return CodeBuffer(static_cast<uint8_t*>(memory), length);
}

CodeBuffer::CodeBuffer(CodeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), length_(std::exchange(other.length_, 0)) {}

CodeBuffer::~CodeBuffer() {
  if (data_) munmap(data_, length_);
}

Result<CodeMemory> CodeBuffer::seal(size_t size) {
  const size_t used = round_up_to_pages(size == 0 ? 1 : size);
  if (used > length_) return make_error(Errc::invalid_argument, "JIT code beyond its buffer");
  if (used < length_) munmap(data_ + used, length_ - used);
  length_ = used;
  if (mprotect(data_, used, PROT_READ | PROT_EXEC) != 0) {
    return make_error(Errc::io, std::string("mprotect of JIT code to read+exec failed: ") +
                                    std::strerror(errno));  // the destructor unmaps
  }
  CodeMemory out;
  uint8_t* const memory = std::exchange(data_, nullptr);
  out.mapping = std::shared_ptr<const void>(
      memory, [used](const void* p) { munmap(const_cast<void*>(p), used); });
  out.code = memory;
  out.size = size;
  return out;
}

bool populate_for_writing(uint8_t* from, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  return madvise(from, round_up_to_pages(bytes), MADV_POPULATE_WRITE) == 0;
#else
  (void)from;
  (void)bytes;
  return false;
#endif
}

Result<CodeMemory> map_code(const uint8_t* bytes, size_t size) {
  Result<CodeBuffer> buffer = CodeBuffer::reserve(size);
  if (!buffer) return buffer.take_error();
  std::memcpy(buffer->data(), bytes, size);
  return buffer->seal(size);
}

}  // namespace userbpf::jit

// Executable memory for compiled programs: the JIT writes machine code straight into a fresh
// anonymous mapping while it is read-write, which is then made read-execute. No page is ever
// writable and executable at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "userbpf/error.hpp"

namespace userbpf::jit {

struct CodeMemory {
  std::shared_ptr<const void> mapping;  // unmaps when the last user is gone
  const uint8_t* code = nullptr;
  size_t size = 0;
};

// A read-write mapping of at least `capacity` bytes for code to be written into. Pages are
// touched only as code is written, so a generous capacity costs address space, not memory.
class CodeBuffer {
 public:
  static Result<CodeBuffer> reserve(size_t capacity);
  CodeBuffer(CodeBuffer&& other) noexcept;
  CodeBuffer& operator=(CodeBuffer&&) = delete;
  ~CodeBuffer();  // unmaps unless sealed

  uint8_t* data() const { return data_; }
  size_t capacity() const { return length_; }

  // Makes the first `size` bytes read-execute (whole pages), unmaps the pages after them, and
  // hands the mapping over.
  Result<CodeMemory> seal(size_t size);

 private:
  CodeBuffer(uint8_t* data, size_t length) : data_(data), length_(length) {}
  uint8_t* data_ = nullptr;
  size_t length_ = 0;
};

// Backs [from, from + bytes) of a CodeBuffer with memory now, in one call, rather than a page
// fault at the first write of each page: in the VMs measured a fault cost several microseconds,
// and the faults of the code pages were a third of a large program's compile
// (bench/RESULTS.md, 2026-11-29). `from` is page-aligned. False when the kernel cannot (before
// Linux 5.14): the pages then fault in as they are written, as before.
bool populate_for_writing(uint8_t* from, size_t bytes);

// Copies `size` bytes into a fresh mapping and seals it.
Result<CodeMemory> map_code(const uint8_t* bytes, size_t size);

}  // namespace userbpf::jit

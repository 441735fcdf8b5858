// Reads of memory that may not be mapped, without faulting: the user-space equivalent of the
// kernel's copy_from_kernel_nofault(). Helpers such as probe_read and the %s of trace_printk get
// arbitrary addresses from programs; a bad one must give -EFAULT, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace userbpf::helpers {

// Copies `size` bytes from `addr` in this process. Returns false (and leaves `dst` untouched or
// partly written) when any byte is not readable.
bool read_nofault(uint64_t addr, void* dst, size_t size);

// The same in another process (pid 0: this one), as probe_read_user does for a traced task.
bool read_nofault_in(int32_t pid, uint64_t addr, void* dst, size_t size);

// Copies a NUL-terminated string of at most `max` bytes (NUL included) from `addr`, like
// strncpy_from_kernel_nofault(). Returns the length copied including the NUL, or -EFAULT.
long read_string_nofault(uint64_t addr, std::string& out, size_t max);
long read_string_nofault_in(int32_t pid, uint64_t addr, std::string& out, size_t max);

}  // namespace userbpf::helpers

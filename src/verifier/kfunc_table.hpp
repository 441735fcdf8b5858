// The kernel functions (kfuncs) userbpf knows: Linux 6.12's names, their BTF_ID_FLAGS, the
// kernel's C prototype (parsed into KfuncParams with Linux's argument-name suffixes intact) and
// the program types whose kfunc hook has the set registered (register_btf_kfunc_id_set,
// bpf_prog_type_to_kfunc_hook, set filters). The verifier checks calls against these, as Linux
// checks them against vmlinux BTF.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "verifier/verifier.hpp"

namespace userbpf::verifier {

// Linux's KF_* flags (include/linux/btf.h).
namespace kf {
inline constexpr uint32_t kAcquire = 1u << 0;
inline constexpr uint32_t kRelease = 1u << 1;
inline constexpr uint32_t kRetNull = 1u << 2;
inline constexpr uint32_t kTrustedArgs = 1u << 4;
inline constexpr uint32_t kSleepable = 1u << 5;
inline constexpr uint32_t kDestructive = 1u << 6;
inline constexpr uint32_t kRcu = 1u << 7;
inline constexpr uint32_t kIterNew = 1u << 8;
inline constexpr uint32_t kIterNext = 1u << 9;
inline constexpr uint32_t kIterDestroy = 1u << 10;
inline constexpr uint32_t kRcuProtected = 1u << 11;
inline constexpr uint32_t kFastcall = 1u << 12;
}  // namespace kf

struct KfuncProto {
  KfuncParam ret;
  std::vector<KfuncParam> params;
};

struct KfuncDef {
  std::string_view name;
  uint32_t flags = 0;
  std::string_view declaration;  // the kernel's prototype, e.g. "void bpf_task_release(struct
                                 // task_struct *p)"
  uint32_t hooks = 0;            // bit per KfuncHook (kfunc_table.cpp) the set is registered for
  bool lsm_only = false;         // a set filter that admits only BPF_PROG_TYPE_LSM programs
  KfuncProto proto;              // parsed from `declaration`
};

// The kfunc called `name`, nullptr when userbpf does not know it.
const KfuncDef* find_kfunc(std::string_view name);

// Whether a program of `prog_type` may call it (btf_kfunc_id_set_contains).
bool kfunc_allowed(const KfuncDef& kfunc, uint32_t prog_type);

// The size of a kernel struct passed by value on the stack (iterator states), 0 when unknown.
uint32_t kernel_struct_size(std::string_view name);

// Whether a pointer to struct `have` may be passed where `want` is expected: the same struct, or
// `want` found by walking first members at offset 0 (btf_struct_ids_match without strict match).
bool kernel_struct_matches(std::string_view have, std::string_view want, bool strict);

// The kernel context struct of a program type (bpf_cast_to_kern_ctx's result), empty when the
// kernel's context is not a struct.
std::string_view kernel_ctx_struct(uint32_t prog_type);

// The context struct BPF programs of a type see (btf_is_prog_ctx_type), empty when none.
std::string_view user_ctx_struct(uint32_t prog_type);

// Parses a C parameter ("const u64 *unsafe_ptr__ign") or return type ("int *") of a kernel
// prototype; sizes come from the C type names the kernel uses.
KfuncParam parse_kernel_param(std::string_view text, bool with_name);

}  // namespace userbpf::verifier

// Helper prototypes: one per helper id, every implemented helper has one and takes gpl_only
// from it, the argument counts agree with libbpf's generated bpf_helper_defs.h, and well-known
// prototypes have Linux's exact types.
#include "isa/helper_prototypes.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "helpers/linux_helpers.hpp"
#include "isa/helper_ids.hpp"

namespace userbpf::isa {
namespace {

using namespace type_flag;

// Helper id -> parameter count, from the declarations
// `static long (* const bpf_name)(type a, type b) = (void *) ID;` of libbpf's header.
std::map<uint32_t, uint32_t> helper_defs_arg_counts(const std::string& path) {
  std::map<uint32_t, uint32_t> counts;
  std::ifstream in(path);
  const std::regex decl(R"(\(\*\s*(?:const\s+)?bpf_\w+\)\((.*)\)\s*=\s*\(void \*\)\s*(\d+);)");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, decl)) continue;
    const std::string params = m[1];
    uint32_t n = 0;
    if (params != "void") {
      n = 1;
      int depth = 0;
      for (char c : params) {
        if (c == '(') ++depth;
        if (c == ')') --depth;
        if (c == ',' && depth == 0) ++n;
      }
      // Variadic tails (trace_printk's "...") are not typed arguments: the verifier leaves
      // r3..r5 unchecked (ARG_DONTCARE).
      if (params.size() >= 3 && params.compare(params.size() - 3, 3, "...") == 0) --n;
    }
    counts[static_cast<uint32_t>(std::stoul(m[2]))] = n;
  }
  return counts;
}

TEST(HelperPrototypes, OnePerHelperIdInOrder) {
  const auto all = helper_prototypes();
  ASSERT_EQ(all.size(), kHelperIdLimit - 1);
  for (uint32_t id = 1; id < kHelperIdLimit; ++id) {
    const HelperPrototype* p = helper_prototype(id);
    ASSERT_NE(p, nullptr) << id;
    EXPECT_EQ(p->id, id);
    EXPECT_NE(helper_name(id), nullptr) << id;
    // Arguments are contiguous: nothing after the first dontcare.
    for (uint32_t i = p->arg_count(); i < 5; ++i)
      EXPECT_EQ(p->args[i].type, ArgType::dontcare) << helper_name(id) << " arg " << i + 1;
  }
  EXPECT_EQ(helper_prototype(0), nullptr);
  EXPECT_EQ(helper_prototype(kHelperIdLimit), nullptr);
  EXPECT_EQ(helper_prototype(0xffffffffu), nullptr);
}

TEST(HelperPrototypes, EveryImplementedHelperHasOneAndItsGplFlag) {
  const vm::HelperTable& table = helpers::linux_helpers();
  int implemented = 0;
  for (uint32_t id = 0; id < 4096; ++id) {
    const vm::Helper* h = table.find(id);
    if (h == nullptr) continue;
    ++implemented;
    const HelperPrototype* p = helper_prototype(id);
    ASSERT_NE(p, nullptr) << "helper " << id << " (" << h->name << ") has no prototype";
    EXPECT_EQ(h->gpl_only, p->gpl_only) << h->name;
    EXPECT_STREQ(h->name, helper_name(id));
  }
  EXPECT_GT(implemented, 50);
}

TEST(HelperPrototypes, ArgumentCountsMatchLibbpfHelperDefs) {
  const auto counts = helper_defs_arg_counts("/usr/include/bpf/bpf_helper_defs.h");
  // libbpf-dev's header declares every helper of its <linux/bpf.h> (209 or more).
  ASSERT_GE(counts.size(), 200u) << "could not parse /usr/include/bpf/bpf_helper_defs.h";
  for (const auto& [id, n] : counts) {
    const HelperPrototype* p = helper_prototype(id);
    ASSERT_NE(p, nullptr) << "bpf_helper_defs.h declares id " << id;
    if (id == BPF_FUNC_get_branch_snapshot) {
      // Linux's bpf_get_branch_snapshot_proto types buf and size only; the helper's third
      // parameter (flags, must be 0) is left ARG_DONTCARE.
      EXPECT_EQ(n, 3u);
      EXPECT_EQ(p->arg_count(), 2u);
      continue;
    }
    EXPECT_EQ(p->arg_count(), n) << helper_name(id);
  }
}

TEST(HelperPrototypes, WellKnownPrototypes) {
  const HelperPrototype* lookup = helper_prototype(BPF_FUNC_map_lookup_elem);
  EXPECT_EQ(lookup->ret.type, RetType::ptr_to_map_value);
  EXPECT_EQ(lookup->ret.flags, kPtrMaybeNull);
  EXPECT_EQ(lookup->args[0].type, ArgType::const_map_ptr);
  EXPECT_EQ(lookup->args[1].type, ArgType::ptr_to_map_key);
  EXPECT_EQ(lookup->arg_count(), 2u);
  EXPECT_FALSE(lookup->gpl_only);
  EXPECT_TRUE(lookup->pkt_access);

  // ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING; gpl_only.
  const HelperPrototype* probe = helper_prototype(BPF_FUNC_probe_read_kernel);
  EXPECT_TRUE(probe->gpl_only);
  EXPECT_EQ(probe->ret.type, RetType::integer);
  EXPECT_EQ(probe->args[0].type, ArgType::ptr_to_mem);
  EXPECT_EQ(probe->args[0].flags, kMemUninit | kMemWrite);
  EXPECT_EQ(probe->args[1].type, ArgType::const_size_or_zero);
  EXPECT_EQ(probe->args[2].type, ArgType::anything);

  // RET_PTR_TO_RINGBUF_MEM_OR_NULL with ARG_CONST_ALLOC_SIZE_OR_ZERO; submit releases.
  const HelperPrototype* reserve = helper_prototype(BPF_FUNC_ringbuf_reserve);
  EXPECT_EQ(reserve->ret.type, RetType::ptr_to_mem);
  EXPECT_EQ(reserve->ret.flags, kPtrMaybeNull | kMemRingbuf);
  EXPECT_EQ(reserve->args[1].type, ArgType::const_alloc_size_or_zero);
  const HelperPrototype* submit = helper_prototype(BPF_FUNC_ringbuf_submit);
  EXPECT_EQ(submit->ret.type, RetType::void_);
  EXPECT_EQ(submit->args[0].type, ArgType::ptr_to_ringbuf_mem);
  EXPECT_EQ(submit->args[0].flags, kObjRelease);

  const HelperPrototype* snprintf_p = helper_prototype(BPF_FUNC_snprintf);
  EXPECT_TRUE(snprintf_p->gpl_only);
  EXPECT_EQ(snprintf_p->args[0].type, ArgType::ptr_to_mem);
  EXPECT_EQ(snprintf_p->args[0].flags, kPtrMaybeNull);
  EXPECT_EQ(snprintf_p->args[2].type, ArgType::ptr_to_const_str);
  EXPECT_EQ(snprintf_p->args[3].flags, kPtrMaybeNull | kMemRdonly);
  EXPECT_EQ(snprintf_p->args[4].type, ArgType::const_size_or_zero);

  const HelperPrototype* loop = helper_prototype(BPF_FUNC_loop);
  EXPECT_EQ(loop->args[0].type, ArgType::scalar);
  EXPECT_EQ(loop->args[1].type, ArgType::ptr_to_func);
  EXPECT_EQ(loop->args[2].type, ArgType::ptr_to_stack);
  EXPECT_TRUE(loop->args[2].maybe_null());
  EXPECT_EQ(loop->args[3].type, ArgType::anything);
  EXPECT_FALSE(loop->gpl_only);

  // Fixed-size output (ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED).
  const HelperPrototype* strtol = helper_prototype(BPF_FUNC_strtol);
  EXPECT_EQ(strtol->args[3].flags, kMemFixedSize | kMemUninit | kMemWrite | kMemAligned);
  EXPECT_EQ(strtol->args[3].size, 8u);

  const HelperPrototype* task = helper_prototype(BPF_FUNC_get_current_task_btf);
  EXPECT_EQ(task->ret.type, RetType::ptr_to_btf_id);
  EXPECT_EQ(task->ret.flags, kPtrTrusted);
  EXPECT_STREQ(task->ret.btf_type, "task_struct");

  const HelperPrototype* stackid = helper_prototype(BPF_FUNC_get_stackid);
  EXPECT_TRUE(stackid->gpl_only);
  EXPECT_EQ(stackid->args[0].type, ArgType::ptr_to_ctx);
  EXPECT_EQ(stackid->args[1].type, ArgType::const_map_ptr);
  EXPECT_TRUE(helper_prototype(BPF_FUNC_copy_from_user)->might_sleep);
}

TEST(HelperPrototypes, LinuxValuesAndNames) {
  // ARG_PTR_TO_UNINIT_MEM == MEM_UNINIT | MEM_WRITE | ARG_PTR_TO_MEM (base 4).
  const ArgSpec out = helper_prototype(BPF_FUNC_get_current_comm)->args[0];
  EXPECT_EQ(out.linux_value(), 4u | (1u << 15) | (1u << 26));
  EXPECT_STREQ(arg_type_name(out.type), "ARG_PTR_TO_MEM");
  EXPECT_EQ(type_flags_text(out.flags), "MEM_UNINIT | MEM_WRITE");
  EXPECT_EQ(type_flags_text(0), "");
  EXPECT_STREQ(ret_type_name(RetType::ptr_to_map_value), "RET_PTR_TO_MAP_VALUE");
  EXPECT_STREQ(arg_type_name(ArgType::ptr_to_dynptr), "ARG_PTR_TO_DYNPTR");
}

}  // namespace
}  // namespace userbpf::isa

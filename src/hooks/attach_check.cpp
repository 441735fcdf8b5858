#include "hooks/attach_check.hpp"

#include <linux/bpf.h>

#include <initializer_list>
#include <string>

#include "hooks/hook_point.hpp"

namespace userbpf::hooks {
namespace {

struct HookFamily {
  std::initializer_list<std::string_view> prefixes;
  std::initializer_list<uint32_t> prog_types;
  const char* needs;  // the program type(s), as bpftool names them
};

const HookFamily kFamilies[] = {
    {{"tracepoint/", "tp/"}, {BPF_PROG_TYPE_TRACEPOINT}, "tracepoint"},
    {{"raw_tracepoint/", "raw_tp/"},
     {BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE},
     "raw_tracepoint"},
    {{"raw_tracepoint.w/", "raw_tp.w/"},
     {BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE},
     "raw_tracepoint_writable"},
    {{"kprobe/", "kretprobe/", "ksyscall/", "kretsyscall/", "uprobe/", "uretprobe/", "usdt/",
      "uprobe.s/", "uretprobe.s/"},
     {BPF_PROG_TYPE_KPROBE},
     "kprobe"},
    {{"tp_btf/", "fentry/", "fexit/", "fmod_ret/"}, {BPF_PROG_TYPE_TRACING}, "tracing"},
    {{"lsm/"}, {BPF_PROG_TYPE_LSM}, "lsm"},
};

}  // namespace

Status check_attach(const runtime::ProgramRecord& program, std::string_view target) {
  for (const HookFamily& family : kFamilies) {
    bool matches = false;
    for (std::string_view prefix : family.prefixes) matches |= target.starts_with(prefix);
    if (!matches) continue;
    bool fits = false;
    for (uint32_t type : family.prog_types) fits |= program.prog_type == type;
    if (!fits) {
      return make_error(Errc::invalid_argument,
                        "prog " + std::to_string(program.id) + " ('" + program.name + "') is a " +
                            runtime::prog_type_name(program.prog_type) + " program; " +
                            std::string(target) + " takes a " + family.needs + " program");
    }
    auto hook = parse_hook_point(target);
    if (!hook) return hook.take_error();
    return ok_status();
  }
  return make_error(Errc::unsupported,
                    "'" + std::string(target) + "' is not a hook point userbpf can attach to");
}

}  // namespace userbpf::hooks

// USDT attachments, as libbpf's usdt.c makes them: a program on a probe PROVIDER:NAME of a file
// runs at every note of that probe (object/usdt_notes.hpp), as a uprobe at the note's file offset
// (EventDispatcher::attach_uprobe). Its arguments are described to the BPF side
// (<bpf/usdt.bpf.h>: BPF_USDT, bpf_usdt_arg, bpf_usdt_arg_cnt, bpf_usdt_cookie) by a
// struct __bpf_usdt_spec (object/usdt_spec.hpp) written into the program's `__bpf_usdt_specs`
// map at a spec id, and the uprobe's attach cookie is that spec id (bpf_get_attach_cookie; the
// runtime answers LINUX_HAS_BPF_COOKIE = 1). Notes with the same argument string share a spec id
// within one attachment, as in libbpf. For a non-PIE executable (absolute addresses) the
// `__bpf_usdt_ip_to_spec_id` map is filled as well, the lookup libbpf's BPF side uses on kernels
// without cookies. Probes with a semaphore are counted up in the supervised processes while
// attached (usdt_semaphores.hpp).
//
//   usdt/PATH:PROVIDER:NAME     auto-attach (`userbpf run`); PATH without '/' is searched as libbpf
//                               does: PATH for programs, LD_LIBRARY_PATH and the library
//                               directories for names containing ".so"
//   usdt, usdt.s                attached only through an explicit target (`prog attach ... usdt
//                               BINARY:PROVIDER:NAME`, the API)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "hooks/event_dispatcher.hpp"
#include "hooks/usdt_semaphores.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::hooks {

struct UsdtTarget {
  std::string path;
  std::string provider;
  std::string name;
};

// True for libbpf's usdt section forms ("usdt", "usdt.s", "usdt/...", "usdt.s/...").
bool is_usdt_section(std::string_view section);

// The target a usdt section names. Errc::unsupported for a bare "usdt" (no auto-attach target);
// Errc::invalid_argument, with libbpf's wording, when it is not usdt/PATH:PROVIDER:NAME.
Result<UsdtTarget> parse_usdt_section(std::string_view section);

// libbpf's resolve_full_path: `file` itself when it contains '/', else the first readable
// (programs: executable) match in the search path. Errc::not_found when there is none.
Result<std::string> resolve_usdt_path(std::string_view file);

class UsdtAttacher {
 public:
  explicit UsdtAttacher(EventDispatcher& dispatcher) : dispatcher_(dispatcher), sink_(dispatcher) {}

  // Attaches `record` (one instance per probe site, made by `rt`) at every note of `target`, with
  // `cookie` as bpf_usdt_cookie. Returns the number of probe sites. Errors name the file, the
  // probe and the note; every note, spec and map is checked before the first site is attached.
  Result<size_t> attach(runtime::Runtime& rt, const runtime::ProgramRecord& record,
                        const UsdtTarget& target, uint64_t cookie = 0);
  // The same for a section name or explicit target in section form ("usdt/PATH:PROVIDER:NAME").
  Result<size_t> attach(runtime::Runtime& rt, const runtime::ProgramRecord& record,
                        std::string_view section, uint64_t cookie = 0);

  // The source's interest for the dispatcher's programs plus what semaphores need, and the sink
  // to give the source (it forwards every event to the dispatcher).
  HookInterest interest() const;
  EventSink& sink() { return sink_; }
  // Counts the semaphores back down (after the source returned, e.g. when it detached).
  size_t release() { return sink_.release(); }
  const UsdtSemaphores& semaphores() const { return sink_; }

 private:
  EventDispatcher& dispatcher_;
  UsdtSemaphores sink_;
  std::map<uint32_t, int32_t> next_spec_id_;  // by specs map id: libbpf's per-object allocation
};

}  // namespace userbpf::hooks

#include "verifier/selftest_kernel.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <memory>

#include "object/object.hpp"

namespace userbpf::verifier_selftests {
namespace {

constexpr uint32_t kTestRndHi32 = BPF_F_TEST_RND_HI32;
constexpr uint32_t kTestRegInvariants = 1U << 7;  // BPF_F_TEST_REG_INVARIANTS (Linux 6.7)

// libbpf's own messages during a load (why it refused before the kernel saw the program).
thread_local std::string* libbpf_messages = nullptr;

int collect(enum libbpf_print_level level, const char* format, va_list args) {
  if (libbpf_messages == nullptr || level == LIBBPF_DEBUG) return 0;
  char line[1024];
  std::vsnprintf(line, sizeof(line), format, args);
  *libbpf_messages += line;
  return 0;
}

// The flags the selftests add to every program when the kernel knows them (testing_helpers.c).
uint32_t testing_prog_flags() {
  static const uint32_t flags = [] {
    uint32_t result = 0;
    const bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    };
    for (uint32_t flag : {kTestRndHi32, kTestRegInvariants}) {
      LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = flag);
      const int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, nullptr, "GPL", insns, 2, &opts);
      if (fd >= 0) {
        result |= flag;
        close(fd);
      }
    }
    return result;
  }();
  return flags;
}

uint64_t parse_verification_ns(const std::string& log) {
  const auto at = log.rfind("verification time ");
  if (at == std::string::npos) return 0;
  return std::strtoull(log.c_str() + at + 18, nullptr, 10) * 1000;
}

}  // namespace

Result<KernelVerdict> kernel_verdict(std::span<const uint8_t> object, const std::string& name,
                                     const std::string& btf_dir, const Annotations& test,
                                     const std::vector<Annotations>& all) {
  std::string messages;
  struct Capture {  // libbpf's print callback is process-wide: restore it on every path
    explicit Capture(std::string* to) : previous(libbpf_set_print(collect)) {
      libbpf_messages = to;
    }
    ~Capture() {
      libbpf_set_print(previous);
      libbpf_messages = nullptr;
    }
    libbpf_print_fn_t previous;
  } capture(&messages);
  // __btf_path names an object next to the test's (the selftests run from their output dir).
  const std::string btf_path = test.btf_path.empty() ? "" : btf_dir + "/" + test.btf_path;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name.c_str(),
              .btf_custom_path = btf_path.empty() ? nullptr : btf_path.c_str());
  std::unique_ptr<bpf_object, decltype(&bpf_object__close)> obj(
      bpf_object__open_mem(object.data(), object.size(), &opts), bpf_object__close);
  if (!obj) {
    const int err = errno;
    return make_error(Errc::kernel,
                      "libbpf cannot open " + name + ": errno " + std::to_string(err));
  }
  std::vector<char> log(16u << 20);
  log[0] = '\0';
  bpf_program* target = nullptr;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj.get()) {
    const std::string pname = bpf_program__name(prog);
    bool load = pname == test.program;
    if (load) target = prog;
    for (const auto& a : all) {
      if (a.program == pname && a.auxiliary && a.priv.tested) load = true;
    }
    bpf_program__set_autoload(prog, load);
    // Sections newer than the system's libbpf (tc/ingress, netfilter, cgroup/*_unix, ...): the
    // program type from userbpf's copy of libbpf's current section table.
    if (bpf_program__type(prog) == BPF_PROG_TYPE_UNSPEC) {
      const auto def = object::classify_section(bpf_program__section_name(prog));
      if (def.known) {
        bpf_program__set_type(prog, static_cast<bpf_prog_type>(def.prog_type));
        bpf_program__set_expected_attach_type(
            prog, static_cast<bpf_attach_type>(def.expected_attach_type));
      }
    }
  }
  if (target == nullptr) {
    return make_error(Errc::not_found, name + ": libbpf sees no program " + test.program);
  }
  bpf_program__set_log_buf(target, log.data(), log.size());
  // Level 1 at least so a refusal explains itself; 4 (statistics) for the verification time.
  bpf_program__set_log_level(target, (test.log_level & 3 ? test.log_level & 3 : 1) | 4);
  bpf_program__set_flags(target,
                         bpf_program__flags(target) | test.prog_flags | testing_prog_flags());
  const int err = bpf_object__load(obj.get());
  KernelVerdict v;
  v.libbpf_messages = messages;
  v.accepted = err == 0;
  v.error = err < 0 ? -err : 0;
  v.log = log.data();
  v.verification_ns = parse_verification_ns(v.log);
  return v;
}

}  // namespace userbpf::verifier_selftests

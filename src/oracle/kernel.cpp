#include "oracle/kernel.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace userbpf::oracle {
namespace {

// Linux's XDP_PACKET_HEADROOM: an XDP program may grow the packet at the front by this much;
// test runs may also grow it at the back, so data_out gets the same room by default.
constexpr size_t kXdpGrowRoom = 256;

long sys_bpf(int cmd, bpf_attr* attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

uint64_t as_u64(const void* p) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

std::string errno_text(int err) {
  return std::string(strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error") + " (" +
         (strerrorname_np(err) ? strerrorname_np(err) : std::to_string(err).c_str()) + ")";
}

// One bpf(BPF_PROG_LOAD). Returns the fd or -errno. Retries EAGAIN as libbpf does: Linux returns it
// when a signal interrupted verification.
int prog_load(std::span<const isa::RawInsn> insns, bpf_prog_type type,
              const KernelLoadOptions& options, char* log, uint32_t log_size) {
  static const char kLicense[] = "GPL";
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = type;
  attr.insns = as_u64(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = as_u64(kLicense);
  attr.expected_attach_type = options.expected_attach_type;
  std::strncpy(attr.prog_name, options.name.c_str(), sizeof(attr.prog_name) - 1);
  if (log != nullptr && log_size > 0) {
    log[0] = '\0';
    attr.log_buf = as_u64(log);
    attr.log_size = log_size;
    attr.log_level = options.log_level;
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    const long fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN) break;
  }
  return -errno;
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "CapEff" from /proc/self/status, or 0 when unreadable.
uint64_t effective_capabilities(std::string* seccomp_mode) {
  std::ifstream in("/proc/self/status");
  std::string line;
  uint64_t caps = 0;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) caps = std::strtoull(line.c_str() + 7, nullptr, 16);
    if (line.rfind("Seccomp:", 0) == 0) *seccomp_mode = line.substr(8);
  }
  return caps;
}

// Explains a refused probe load in terms a developer can act on.
std::string explain_load_failure(int err) {
  if (err == ENOSYS)
    return "bpf() does not exist here (ENOSYS): the kernel lacks CONFIG_BPF_SYSCALL or a seccomp "
           "filter hides it";
  if (err != EPERM && err != EACCES)
    return "bpf(BPF_PROG_LOAD) of a trivial program failed: " + errno_text(err);
  std::string seccomp;
  const uint64_t caps = effective_capabilities(&seccomp);
  constexpr int kCapNetAdmin = 12, kCapSysAdmin = 21, kCapBpf = 39;
  const bool has_bpf = (caps >> kCapSysAdmin & 1) || (caps >> kCapBpf & 1);
  const bool has_net = (caps >> kCapSysAdmin & 1) || (caps >> kCapNetAdmin & 1);
  std::string why = "bpf(BPF_PROG_LOAD) not permitted (" + errno_text(err) + "): ";
  if (geteuid() != 0) why += "not running as root (euid " + std::to_string(geteuid()) + "); ";
  if (!has_bpf || !has_net)
    why += "missing CAP_BPF/CAP_SYS_ADMIN or CAP_NET_ADMIN (CapEff " + std::to_string(caps) + "); ";
  const std::string unpriv = read_first_line("/proc/sys/kernel/unprivileged_bpf_disabled");
  if (!unpriv.empty() && unpriv != "0") why += "kernel.unprivileged_bpf_disabled=" + unpriv + "; ";
  const size_t first = seccomp.find_first_not_of(" \t");
  if (first != std::string::npos && seccomp.substr(first) != "0")
    why += "a seccomp filter is active (Seccomp:" + seccomp + "); ";
  if (has_bpf && has_net)
    why +=
        "capabilities look sufficient, so an LSM or container policy "
        "probably blocks bpf()";
  return why;
}

KernelStatus probe_kernel() {
  const char* forced = std::getenv("USERBPF_NO_KERNEL");
  if (forced != nullptr && *forced != '\0' && std::strcmp(forced, "0") != 0)
    return {false, "disabled by USERBPF_NO_KERNEL=" + std::string(forced)};
  const isa::RawInsn trivial[] = {
      isa::make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS),
      isa::make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  const int fd = prog_load(trivial, BPF_PROG_TYPE_XDP, {}, nullptr, 0);
  if (fd < 0) return {false, explain_load_failure(-fd)};
  KernelStatus status{true, ""};
  uint8_t packet[64] = {};
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.test.prog_fd = static_cast<uint32_t>(fd);
  attr.test.data_in = as_u64(packet);
  attr.test.data_size_in = sizeof(packet);
  attr.test.repeat = 1;
  if (sys_bpf(BPF_PROG_TEST_RUN, &attr) != 0)
    status = {false,
              "bpf(BPF_PROG_TEST_RUN) of a trivial XDP program failed: " + errno_text(errno)};
  else if (attr.test.retval != XDP_PASS)
    status = {false, "a trivial XDP program returned " + std::to_string(attr.test.retval) +
                         " instead of XDP_PASS in BPF_PROG_TEST_RUN"};
  close(fd);
  return status;
}

}  // namespace

const KernelStatus& kernel_bpf_status() {
  static const KernelStatus status = probe_kernel();
  return status;
}

std::string last_log_lines(const std::string& log, size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  const size_t first = lines.size() > count ? lines.size() - count : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += '\n';
    out += lines[i];
  }
  return out;
}

std::string verifier_reason(const std::string& log) {
  std::istringstream in(log);
  std::string line, reason;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    // Statistics Linux appends after the verdict.
    if (line.rfind("processed ", 0) == 0 || line.rfind("verification time", 0) == 0 ||
        line.rfind("stack depth", 0) == 0)
      continue;
    reason = line;
  }
  return reason;
}

int64_t verifier_failed_insn(const std::string& log) {
  std::istringstream in(log);
  std::string line;
  int64_t insn = -1;
  while (std::getline(in, line)) {
    // Instruction lines look like "19: (71) r0 = *(u8 *)(r1 +4)".
    size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
    if (digits > 0 && line.compare(digits, 3, ": (") == 0)
      insn = std::strtoll(line.substr(0, digits).c_str(), nullptr, 10);
  }
  return insn;
}

Result<KernelProgram> KernelProgram::load(std::span<const isa::RawInsn> insns, bpf_prog_type type,
                                          const KernelLoadOptions& options) {
  if (insns.empty()) return make_error(Errc::invalid_argument, "kernel load: empty program");
  std::string log;
  int fd;
  if (options.keep_log) {
    log.assign(options.log_size, '\0');
    fd = prog_load(insns, type, options, log.data(), options.log_size);
  } else {
    fd = prog_load(insns, type, options, nullptr, 0);
    if (fd < 0) {
      // Load again, this time with a log, to say why it was refused.
      log.assign(options.log_size, '\0');
      const int again = prog_load(insns, type, options, log.data(), options.log_size);
      if (again >= 0) {
        close(again);  // accepted the second time: report the first refusal without a log
        log.clear();
      }
    }
  }
  log.resize(std::strlen(log.c_str()));
  if (fd < 0) {
    std::string message = "kernel refused the program: " + errno_text(-fd);
    const std::string reason = verifier_reason(log);
    if (!reason.empty()) message += ": " + reason;
    const std::string tail = last_log_lines(log, 6);
    if (!tail.empty()) message += "\nverifier log (last lines):\n" + tail;
    Location where;
    where.insn = verifier_failed_insn(log);
    return make_error(Errc::kernel, std::move(message), where);
  }
  return KernelProgram(fd, type, options.keep_log ? std::move(log) : std::string());
}

KernelProgram::KernelProgram(KernelProgram&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), type_(other.type_), log_(std::move(other.log_)) {}

KernelProgram& KernelProgram::operator=(KernelProgram&& other) noexcept {
  if (this != &other) {
    close_fd();
    fd_ = std::exchange(other.fd_, -1);
    type_ = other.type_;
    log_ = std::move(other.log_);
  }
  return *this;
}

KernelProgram::~KernelProgram() {
  close_fd();
}

void KernelProgram::close_fd() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Result<TestRunResult> KernelProgram::test_run(const TestRunRequest& request) const {
  if (fd_ < 0) return make_error(Errc::invalid_argument, "kernel test run: program not loaded");
  TestRunResult result;
  const size_t capacity = request.data_out_capacity != 0 ? request.data_out_capacity
                                                         : request.data_in.size() + kXdpGrowRoom;
  result.data_out.resize(request.data_in.empty() ? 0 : capacity);
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.test.prog_fd = static_cast<uint32_t>(fd_);
  attr.test.data_in = as_u64(request.data_in.data());
  attr.test.data_size_in = static_cast<uint32_t>(request.data_in.size());
  if (!result.data_out.empty()) {
    attr.test.data_out = as_u64(result.data_out.data());
    attr.test.data_size_out = static_cast<uint32_t>(result.data_out.size());
  }
  attr.test.ctx_in = as_u64(request.ctx_in.data());
  attr.test.ctx_size_in = static_cast<uint32_t>(request.ctx_in.size());
  attr.test.repeat = request.repeat;
  if (sys_bpf(BPF_PROG_TEST_RUN, &attr) != 0) {
    const int err = errno;
    std::string message = "kernel test run failed: " + errno_text(err);
    if (err == EINVAL && request.data_in.size() < 14)
      message += " (packet of " + std::to_string(request.data_in.size()) +
                 " bytes; XDP and skb test runs need at least an Ethernet header, 14 bytes)";
    if (err == ENOSPC) message += " (data_out buffer too small)";
    return make_error(Errc::kernel, std::move(message));
  }
  result.retval = attr.test.retval;
  result.duration_ns = attr.test.duration;
  result.data_out.resize(std::min<size_t>(attr.test.data_size_out, result.data_out.size()));
  return result;
}

}  // namespace userbpf::oracle

// The host kernel's engine: the same object loaded by libbpf (the kernel's verifier and JIT),
// run with BPF_PROG_TEST_RUN; the kernel measures the mean time per run of a repeated test run
// itself. Needs bpf() (root or CAP_BPF + CAP_NET_ADMIN, and no seccomp filter refusing it).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engines.hpp"
#include "oracle/kernel.hpp"

namespace userbpf::bench::suite {
namespace {

Error kernel_error(const std::string& what, int err) {
  return make_error(Errc::kernel, what + ": " + std::strerror(err < 0 ? -err : err));
}

class KernelProgram final : public PreparedProgram {
 public:
  ~KernelProgram() override { bpf_object__close(obj_); }

  static Result<std::unique_ptr<PreparedProgram>> load(const SuiteCase& c) {
    libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });
    auto out = std::make_unique<KernelProgram>();
    out->case_ = &c;
    out->obj_ = bpf_object__open_file(object_path(c).c_str(), nullptr);
    if (!out->obj_) return kernel_error("libbpf cannot open " + object_path(c), errno);
    bpf_program* p;
    bpf_object__for_each_program(p, out->obj_) {
      const bool wanted = std::strcmp(bpf_program__name(p), c.name) == 0;
      bpf_program__set_autoload(p, wanted);
      if (wanted) out->prog_ = p;
    }
    if (!out->prog_) return make_error(Errc::not_found, std::string("no program ") + c.name);
    if (int e = bpf_object__load(out->obj_))
      return kernel_error(std::string("the kernel refuses ") + c.name, e);
    out->insns = bpf_program__insn_cnt(out->prog_);
    return std::unique_ptr<PreparedProgram>(std::move(out));
  }

  Result<Outcome> run_once(const std::vector<uint8_t>& frame) override {
    Outcome out;
    out.frame_out.assign(frame.size() + 512, 0);
    uint32_t duration = 0;
    auto retval = test_run(frame, 1, &out.frame_out, duration);
    if (!retval) return retval.take_error();
    out.r0 = *retval;
    if (case_->map_name) {
      auto entries = read_map(case_->map_name);
      if (!entries) return entries.take_error();
      out.map = std::move(*entries);
    }
    return out;
  }

  Result<double> mean_ns(const std::vector<uint8_t>& frame, uint32_t repeat) override {
    uint32_t duration = 0;
    auto retval = test_run(frame, repeat, nullptr, duration);
    if (!retval) return retval.take_error();
    return static_cast<double>(duration);
  }

 private:
  Result<uint32_t> test_run(const std::vector<uint8_t>& frame, uint32_t repeat,
                            std::vector<uint8_t>* frame_out, uint32_t& duration) {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    if (frame_out) {
      opts.data_out = frame_out->data();
      opts.data_size_out = static_cast<uint32_t>(frame_out->size());
    }
    opts.repeat = repeat;
    if (int e = bpf_prog_test_run_opts(bpf_program__fd(prog_), &opts))
      return kernel_error(std::string("BPF_PROG_TEST_RUN of ") + case_->name, e);
    if (frame_out) frame_out->resize(opts.data_size_out);
    duration = opts.duration;
    return opts.retval;
  }

  Result<std::vector<std::pair<uint64_t, uint64_t>>> read_map(const char* name) {
    bpf_map* map = bpf_object__find_map_by_name(obj_, name);
    if (!map) return make_error(Errc::not_found, std::string("object has no map ") + name);
    if (bpf_map__key_size(map) > 8 || bpf_map__value_size(map) > 8)
      return make_error(Errc::unsupported, std::string("map ") + name + ": entries above 8 bytes");
    const int fd = bpf_map__fd(map);
    std::vector<std::pair<uint64_t, uint64_t>> entries;
    uint64_t key = 0, next = 0, value = 0;
    bool first = true;
    while (bpf_map_get_next_key(fd, first ? nullptr : &key, &next) == 0) {
      first = false;
      key = next;
      value = 0;
      if (bpf_map_lookup_elem(fd, &key, &value) == 0) entries.emplace_back(key, value);
    }
    std::sort(entries.begin(), entries.end());
    return entries;
  }

  const SuiteCase* case_ = nullptr;
  bpf_object* obj_ = nullptr;
  bpf_program* prog_ = nullptr;
};

}  // namespace

bool kernel_available(std::string& why) {
  const oracle::KernelStatus& status = oracle::kernel_bpf_status();
  why = status.reason;
  return status.available;
}

Result<std::unique_ptr<PreparedProgram>> prepare_kernel(const SuiteCase& c) {
  return KernelProgram::load(c);
}

}  // namespace userbpf::bench::suite

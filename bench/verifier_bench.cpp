// The verifier's speed against the host kernel's, side by side in one run: every root-mode
// program of the compiled Linux verifier selftests (<build>/verifier-selftests, built by
// cmake/VerifierSelftests.cmake) is verified by userbpf (src/verifier, through the same library
// path every load takes) and loaded into the host kernel as the selftests' test_loader.c does
// (log level max(annotated, 1) | 4), whose stats line gives the kernel's own "verification time".
// userbpf's time is measured around verify() at log level 1, the level the kernel logs at.
//
//   verifier_bench [--dir DIR] [--repeat N] [--top K]
//
// --repeat: userbpf verifies each program N times and keeps the fastest (default 3); the kernel
// is asked once. --top: list the K programs with the largest times on either side.
// Where bpf() is unavailable the kernel side is skipped with the reason, never zeroed.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "object/object.hpp"
#include "oracle/kernel.hpp"
#include "verifier/selftest_annotations.hpp"
#include "verifier/selftest_kernel.hpp"
#include "verifier/selftest_program.hpp"
#include "verifier/verifier.hpp"

#ifndef USERBPF_VERIFIER_SELFTESTS_DIR
#define USERBPF_VERIFIER_SELFTESTS_DIR ""
#endif

namespace {

using namespace userbpf;
using namespace userbpf::verifier_selftests;

struct Sample {
  std::string id;  // file/program
  bool userbpf_ok = false, userbpf_accepted = false;
  uint64_t userbpf_ns = 0;
  bool kernel_ok = false, kernel_accepted = false;
  uint64_t kernel_ns = 0;
};

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The object as userbpf loads it: relocated, CO-RE applied against the host's BTF or the
// program's __btf_path object (what the selftests harness does).
Result<object::Object> open_userbpf(const std::vector<uint8_t>& bytes, const std::string& name,
                                    const std::string& objs, const std::string& btf_path) {
  auto o = object::open(bytes, name + ".o");
  if (!o) return o;
  const bool has_core = std::any_of(o->programs.begin(), o->programs.end(),
                                    [](const auto& p) { return !p.core_relos.empty(); });
  if (!has_core) return o;
  ::btf* target = btf_path.empty() ? btf__load_vmlinux_btf()
                                   : btf__parse((objs + "/" + btf_path).c_str(), nullptr);
  if (target == nullptr) return o;
  auto applied = object::apply_core(*o, target);
  btf__free(target);
  if (!applied) return applied.error();
  return o;
}

uint64_t median(std::vector<uint64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Totals {
  size_t n = 0;
  uint64_t userbpf = 0, kernel = 0;
  std::vector<uint64_t> u, k;
  void add(const Sample& s) {
    ++n;
    userbpf += s.userbpf_ns;
    kernel += s.kernel_ns;
    u.push_back(s.userbpf_ns);
    k.push_back(s.kernel_ns);
  }
  void print(const char* what) const {
    std::printf("%-46s %5zu  userbpf %9.1f ms (median %7.1f us)  kernel %9.1f ms (median %7.1f us)",
                what, n, userbpf / 1e6, median(u) / 1e3, kernel / 1e6, median(k) / 1e3);
    if (userbpf) std::printf("  kernel/userbpf %.2fx", double(kernel) / double(userbpf));
    std::printf("\n");
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir = USERBPF_VERIFIER_SELFTESTS_DIR;
  int repeat = 3;
  size_t top = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--top" && i + 1 < argc) {
      top = static_cast<size_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--repeat N] [--top K]\n", argv[0]);
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "no verifier selftests (linux-source-6.12 not installed)\n");
    return 1;
  }
  std::ifstream report(dir + "/compile-report.txt");
  if (!report) {
    std::fprintf(stderr, "no %s/compile-report.txt (build target userbpf_verifier_selftests)\n",
                 dir.c_str());
    return 1;
  }
  std::vector<std::string> files;
  for (std::string line; std::getline(report, line);)
    if (line.rfind("ok ", 0) == 0) files.push_back(line.substr(3));

  const oracle::KernelStatus& kstatus = oracle::kernel_bpf_status();
  if (!kstatus.available)
    std::printf("kernel side skipped: bpf() unavailable: %s\n", kstatus.reason.c_str());
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });

  const std::string objs = dir + "/objs";
  std::vector<Sample> samples;
  size_t kernel_not_run = 0, userbpf_errors = 0;
  for (const std::string& name : files) {
    const auto bytes = read_file(objs + "/" + name + ".o");
    std::vector<Annotations> all;
    {
      std::unique_ptr<bpf_object, decltype(&bpf_object__close)> lobj(
          bpf_object__open_mem(bytes.data(), bytes.size(), nullptr), bpf_object__close);
      if (!lobj) continue;
      bpf_program* lprog = nullptr;
      bpf_object__for_each_program(lprog, lobj.get()) {
        auto a = read_annotations(bpf_object__btf(lobj.get()), bpf_program__name(lprog));
        if (a) all.push_back(*a);
      }
    }
    auto obj = open_userbpf(bytes, name, objs, "");
    for (const Annotations& a : all) {
      if (a.auxiliary || !a.runs_on_x86_64() || !a.priv.tested) continue;
      auto own = a.btf_path.empty() ? Result<object::Object>(make_error(Errc::not_found, ""))
                                    : open_userbpf(bytes, name, objs, a.btf_path);
      const auto& this_obj = a.btf_path.empty() ? obj : own;
      const object::Program* prog = this_obj ? this_obj->find_program(a.program) : nullptr;
      Sample s;
      s.id = name + "/" + a.program;
      if (prog) {
        const verifier::Program vp = verifier_program(*this_obj, *prog);
        verifier::Options options;
        options.log_level = 1;
        for (int r = 0; r < repeat; ++r) {
          const auto start = std::chrono::steady_clock::now();
          auto verdict = verifier::verify(vp, options);
          const auto ns =
              static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - start)
                                        .count());
          if (!verdict) break;
          s.userbpf_ok = true;
          s.userbpf_accepted = verdict->accepted;
          if (r == 0 || ns < s.userbpf_ns) s.userbpf_ns = ns;
        }
      }
      if (!s.userbpf_ok) ++userbpf_errors;
      if (kstatus.available) {
        auto k = kernel_verdict(bytes, name, objs, a, all);
        if (k && !k->refused_before_verifying() && k->verification_ns > 0) {
          s.kernel_ok = true;
          s.kernel_accepted = k->accepted;
          s.kernel_ns = k->verification_ns;
        } else {
          ++kernel_not_run;
        }
      }
      samples.push_back(std::move(s));
    }
  }

  Totals all_userbpf, both, both_agree;
  for (const Sample& s : samples) {
    if (!s.userbpf_ok) continue;
    all_userbpf.add(s);
    if (!s.kernel_ok) continue;
    both.add(s);
    if (s.kernel_accepted == s.userbpf_accepted) both_agree.add(s);
  }
  std::printf(
      "verifier selftests (root mode): %zu programs in %zu objects; userbpf could not "
      "verify %zu; the kernel did not verify %zu (refused before verifying or no stats)\n",
      samples.size(), files.size(), userbpf_errors, kernel_not_run);
  std::printf(
      "userbpf: best of %d at log level 1; kernel: its 'verification time' (log level "
      "max(annotated,1)|4)\n",
      repeat);
  all_userbpf.print("all programs userbpf verified (kernel: where run)");
  both.print("programs both verified");
  both_agree.print("programs both verified, same verdict");
  if (top > 0) {
    std::vector<const Sample*> by_kernel, by_userbpf;
    for (const Sample& s : samples) {
      if (s.kernel_ok) by_kernel.push_back(&s);
      if (s.userbpf_ok) by_userbpf.push_back(&s);
    }
    auto show = [&](std::vector<const Sample*> v, bool kernel_side) {
      std::sort(v.begin(), v.end(), [&](const Sample* a, const Sample* b) {
        return kernel_side ? a->kernel_ns > b->kernel_ns : a->userbpf_ns > b->userbpf_ns;
      });
      std::printf("\nslowest for the %s:\n", kernel_side ? "kernel" : "userbpf");
      for (size_t i = 0; i < std::min(top, v.size()); ++i)
        std::printf("  %-70s userbpf %9.1f us %-6s kernel %9.1f us %s\n", v[i]->id.c_str(),
                    v[i]->userbpf_ns / 1e3,
                    v[i]->userbpf_ok ? (v[i]->userbpf_accepted ? "ok" : "rej") : "-",
                    v[i]->kernel_ns / 1e3,
                    v[i]->kernel_ok ? (v[i]->kernel_accepted ? "ok" : "rej") : "-");
    };
    show(by_kernel, true);
    show(by_userbpf, false);
  }
  return 0;
}

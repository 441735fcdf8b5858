// The Linux verifier's own selftests (tools/testing/selftests/bpf/progs/verifier_*.c of Debian's
// linux-source-6.12, compiled at build time by cmake/VerifierSelftests.cmake) as ground truth:
// every program's annotations (__success/__failure/__msg, ..._unpriv) are compared with the host
// kernel's verdict and, once src/verifier implements verify(), with userbpf's. The run writes
// report.json and disagreements.md next to the objects. docs/verifier-compat.md explains it.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "object/object.hpp"
#include "oracle/kernel.hpp"
#include "verifier/selftest_annotations.hpp"
#include "verifier/selftest_kernel.hpp"
#include "verifier/selftest_program.hpp"
#include "verifier/verifier.hpp"

#ifndef USERBPF_VERIFIER_SELFTESTS_DIR
#define USERBPF_VERIFIER_SELFTESTS_DIR ""
#endif
#ifndef USERBPF_HAVE_VERIFIER
#define USERBPF_HAVE_VERIFIER 0
#endif

namespace userbpf::verifier_selftests {
namespace {

namespace fs = std::filesystem;

// Programs where the host kernel (6.18) disagrees with the 6.12 annotations, and why. Everything
// else must agree.
const std::map<std::string, std::string>& kernel_exceptions() {
  static const std::map<std::string, std::string> exceptions = [] {
    std::map<std::string, std::string> e;
    const auto add = [&e](const std::string& reason, std::initializer_list<const char*> ids) {
      for (const char* id : ids) e[id] = reason;
    };
    add("6.18 words stack-bounds refusals of helper memory arguments differently ('invalid "
        "write to stack' / 'invalid variable-offset read from stack' for 'invalid (variable-"
        "offset) indirect access to stack'); same verdict",
        {"verifier_const_or/not_bypass_stack_boundary_checks_1",
         "verifier_const_or/not_bypass_stack_boundary_checks_2",
         "verifier_helper_access_var_len/bitwise_and_jmp_wrong_max",
         "verifier_helper_access_var_len/memory_stack_jmp_bounds_offset",
         "verifier_helper_access_var_len/memory_stack_jmp_wrong_max",
         "verifier_int_ptr/to_long_size_sizeof_long",
         "verifier_raw_stack/load_bytes_invalid_access_1",
         "verifier_raw_stack/load_bytes_invalid_access_2",
         "verifier_var_off/access_max_out_of_bound", "verifier_var_off/access_min_out_of_bound",
         "verifier_var_off/zero_sized_access_max_out_of_bound",
         "verifier_var_off/variable_offset_stack_access_unbounded"});
    add("6.18 rewords the refusal; same verdict",
        {"verifier_bounds_deduction/deducing_bounds_from_const_10",
         "verifier_ref_tracking/ld_abs_while_holding_reference",
         "verifier_ref_tracking/ld_ind_while_holding_reference",
         "verifier_spin_lock/spin_lock_test6_missing_unlock"});
    add("log level 2 text (precision backtracking, state printing) changed after 6.12; same "
        "verdict",
        {"verifier_scalar_ids/linked_regs_bpf_k", "verifier_scalar_ids/linked_regs_bpf_x_src",
         "verifier_scalar_ids/linked_regs_bpf_x_dst", "verifier_scalar_ids/linked_regs_broken_link",
         "verifier_scalar_ids/precision_many_frames", "verifier_scalar_ids/precision_two_ids",
         "verifier_scalar_ids/linked_regs_too_many_regs",
         "verifier_scalar_ids/linked_regs_and_subreg_def",
         "verifier_spill_fill/partial_stack_load_preserves_zeros",
         "verifier_spill_fill/partial_stack_load_preserves_partial_zeros",
         "verifier_spill_fill/stack_load_preserves_const_precision",
         "verifier_spill_fill/stack_load_preserves_const_precision_subreg",
         "verifier_subprog_precision/fp_precise_subprog_result",
         "verifier_subprog_precision/sneaky_fp_precise_subprog_result",
         "verifier_subprog_precision/callback_result_precise",
         "verifier_subprog_precision/parent_callee_saved_reg_precise_with_callback",
         "verifier_subprog_precision/parent_stack_slot_precise_with_callback",
         "verifier_subprog_precision/subprog_spill_into_parent_stack_slot_precise",
         "verifier_precision/state_loop_first_last_equal"});
    add("6.18 explores a different number of states/stack (pruning and bpf_fastcall changes); "
        "same verdict",
        {"verifier_map_in_map/map_in_map_state_pruning",
         "verifier_bpf_fastcall/may_goto_interaction"});
    add("6.18 accepts: bpf_check_mtu's mtu_len became a write-only (MEM_WRITE) argument, so "
        "uninitialized stack is allowed (upstream change after 6.12, not traced to the commit)",
        {"verifier_mtu/tc_uninit_mtu"});
    add("6.18 accepts this read of struct bpf_map through a map pointer (verdict changed after "
        "6.12; cause not investigated yet)",
        {"verifier_map_ptr/read_non_existent_field_rejected"});
    return e;
  }();
  return exceptions;
}

// Objects userbpf's object loader cannot open yet, and why.
const std::map<std::string, std::string>& object_exceptions() {
  static const std::map<std::string, std::string> exceptions = {
      {"verifier_arena",
       "__ulong(map_extra, ...) (an enum-valued map attribute, libbpf 1.3) is read neither by "
       "userbpf's object loader nor by the system's libbpf 1.1"},
  };
  return exceptions;
}

// The floor userbpf's verifier must keep (percent of root-mode verdicts agreeing with the
// annotations). Raise it as the verifier grows; issue 5 asks for 97.
constexpr double kUserbpfAgreementFloor =
    97.0;  // 75.5% at introduction, 96.4% in session 4, 97.4% in 5

struct Side {
  bool ran = false;
  std::string skipped;  // why not run
  bool accepted = false;
  bool messages_ok = false;
  std::string missing_message;
  std::string error;           // the load or verification could not even be attempted
  std::string first_log_line;  // the refusal, for reports
  uint64_t ns = 0;
};

struct Case {
  std::string file;
  std::string program;
  bool unpriv = false;
  bool expect_failure = false;
  Side kernel;
  Side userbpf;

  std::string id() const { return file + "/" + program + (unpriv ? " @unpriv" : ""); }
  bool kernel_agrees() const {
    return kernel.ran && kernel.error.empty() && kernel.accepted != expect_failure &&
           kernel.messages_ok;
  }
  bool userbpf_agrees() const {
    return userbpf.ran && userbpf.error.empty() && userbpf.accepted != expect_failure;
  }
};

struct Suite {
  std::string dir;
  std::string skip_reason;
  std::vector<std::string> compiled, not_compiled;  // file names; "name: reason"
  std::vector<std::string> object_errors;           // userbpf's object loader refused a file
  std::vector<Case> cases;
  uint64_t kernel_ns = 0, userbpf_ns = 0;
};

std::string last_refusal_line(const std::string& log) {
  std::istringstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("processed ", 0) == 0 ||
        line.rfind("verification time", 0) == 0 || line.rfind("stack depth", 0) == 0 ||
        line.rfind("-- END PROG LOAD LOG --", 0) == 0) {
      continue;
    }
    last = line;
  }
  return last;
}

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run_userbpf(const object::Object& obj, const object::Program& prog, uint32_t prog_flags,
                 Case& c) {
#if USERBPF_HAVE_VERIFIER
  verifier::Options options;
  options.strict_alignment = (prog_flags & BPF_F_STRICT_ALIGNMENT) != 0;
  options.test_state_freq = (prog_flags & BPF_F_TEST_STATE_FREQ) != 0;
  options.privileged = !c.unpriv;
  options.log_level = 1;
  const auto start = std::chrono::steady_clock::now();
  auto verdict = verifier::verify(verifier_program(obj, prog), options);
  c.userbpf.ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  c.userbpf.ran = true;
  if (!verdict) {
    c.userbpf.error = verdict.error().to_string();
    return;
  }
  c.userbpf.accepted = verdict->accepted;
  if (!verdict->accepted) c.userbpf.first_log_line = verdict->diagnosis.message;
  c.userbpf.messages_ok = true;  // filled below by the caller, who has the annotations
  c.userbpf.missing_message = verdict->log + "\n" + verdict->diagnosis.message;
#else
  (void)obj;
  (void)prog;
  (void)prog_flags;
  c.userbpf.skipped = "src/verifier has no verify() yet";
#endif
}

Suite run_suite() {
  Suite s;
  s.dir = USERBPF_VERIFIER_SELFTESTS_DIR;
  if (s.dir.empty()) {
    s.skip_reason = "linux-source-6.12 is not installed (/usr/src/linux-source-6.12.tar.xz)";
    return s;
  }
  std::ifstream report(s.dir + "/compile-report.txt");
  if (!report) {
    s.skip_reason = "no " + s.dir + "/compile-report.txt (build target userbpf_verifier_selftests)";
    return s;
  }
  for (std::string line; std::getline(report, line);) {
    if (line.rfind("ok ", 0) == 0) {
      s.compiled.push_back(line.substr(3));
    } else if (!line.empty()) {
      s.not_compiled.push_back(line);
    }
  }
  const auto& kstatus = oracle::kernel_bpf_status();
  const bool unpriv_kernel = [] {
    std::ifstream in("/proc/sys/kernel/unprivileged_bpf_disabled");
    int v = 1;
    in >> v;
    return v == 0;
  }();
  for (const auto& name : s.compiled) {
    const auto bytes = read_file(s.dir + "/objs/" + name + ".o");
    // The programs and their annotations as libbpf sees them (independent of userbpf's loader).
    std::vector<Annotations> all;
    {
      std::unique_ptr<bpf_object, decltype(&bpf_object__close)> lobj(
          bpf_object__open_mem(bytes.data(), bytes.size(), nullptr), bpf_object__close);
      if (!lobj) {  // the system's libbpf predates something in it
        s.object_errors.push_back(name + ": the system's libbpf cannot open it");
        continue;
      }
      bpf_program* lprog = nullptr;
      bpf_object__for_each_program(lprog, lobj.get()) {
        auto a = read_annotations(bpf_object__btf(lobj.get()), bpf_program__name(lprog));
        if (!a) {
          ADD_FAILURE() << name << ": " << a.error().to_string();
          continue;
        }
        all.push_back(*a);
      }
    }
    // userbpf's view: the object relocated by src/object, CO-RE applied against the host's
    // BTF (or the program's __btf_path object) as libbpf does for the kernel load.
    const auto open_userbpf = [&](const std::string& btf_path) -> Result<object::Object> {
      auto o = object::open(bytes, name + ".o");
      if (!o) return o;
      const bool has_core = std::any_of(o->programs.begin(), o->programs.end(),
                                        [](const auto& p) { return !p.core_relos.empty(); });
      if (!has_core) return o;
      ::btf* target = btf_path.empty() ? btf__load_vmlinux_btf()
                                       : btf__parse((s.dir + "/objs/" + btf_path).c_str(), nullptr);
      if (target == nullptr) return o;  // no BTF to relocate against: verify as compiled
      auto applied = object::apply_core(*o, target);
      btf__free(target);
      if (!applied) return applied.error();
      return o;
    };
    auto obj = open_userbpf("");
    if (!obj) s.object_errors.push_back(name + ": " + obj.error().to_string());
    for (const auto& a : all) {
      if (a.auxiliary || !a.runs_on_x86_64()) continue;
      auto own_obj = a.btf_path.empty() ? Result<object::Object>(make_error(Errc::not_found, ""))
                                        : open_userbpf(a.btf_path);
      const auto& this_obj = a.btf_path.empty() ? obj : own_obj;
      const object::Program* prog = this_obj ? this_obj->find_program(a.program) : nullptr;
      for (const bool unpriv : {false, true}) {
        const ModeExpectation& mode = unpriv ? a.unpriv : a.priv;
        if (!mode.tested) continue;
        Case c;
        c.file = name;
        c.program = a.program;
        c.unpriv = unpriv;
        c.expect_failure = mode.expect_failure;
        if (!kstatus.available) {
          c.kernel.skipped = "bpf() unavailable: " + kstatus.reason;
        } else if (unpriv && !unpriv_kernel) {
          c.kernel.skipped = "kernel.unprivileged_bpf_disabled is set";
        } else if (unpriv) {
          c.kernel.skipped = "unprivileged kernel loads are not implemented by the harness";
        } else {
          auto k = kernel_verdict(bytes, name, s.dir + "/objs", a, all);
          c.kernel.ran = true;
          if (!k) {
            c.kernel.error = k.error().to_string();
          } else if (k->refused_before_verifying()) {
            c.kernel.ran = false;
            c.kernel.skipped = "the host kernel refused before verifying (EPERM, empty log): " +
                               k->libbpf_messages.substr(0, k->libbpf_messages.find('\n'));
          } else if (!k->accepted && k->error == EPERM && last_refusal_line(k->log).empty()) {
            // The verifier's log holds only its summary (it accepted); a check after it refused
            // (e.g. a host that forbids attaching tracing iterators). Not a verdict either.
            c.kernel.ran = false;
            c.kernel.skipped =
                "the host kernel refused after verifying (EPERM, no refusal in the "
                "log): " +
                k->libbpf_messages.substr(0, k->libbpf_messages.find('\n'));
          } else {
            c.kernel.accepted = k->accepted;
            c.kernel.messages_ok = log_matches(k->log, mode.messages, &c.kernel.missing_message);
            if (!k->accepted) {
              c.kernel.first_log_line = last_refusal_line(k->log);
              if (c.kernel.first_log_line.empty()) {
                const auto& m = k->libbpf_messages;
                c.kernel.first_log_line = m.substr(0, m.find('\n'));
              }
            }
            c.kernel.ns = k->verification_ns;
            s.kernel_ns += k->verification_ns;
          }
        }
        if (prog != nullptr) {
          run_userbpf(*this_obj, *prog, a.prog_flags, c);
        } else {
          c.userbpf.ran = USERBPF_HAVE_VERIFIER;
          c.userbpf.error =
              this_obj ? "userbpf's object loader has no program " + a.program
                       : "userbpf's object loader refused the file: " + this_obj.error().message;
        }
        if (c.userbpf.ran && c.userbpf.error.empty()) {
          const std::string log = c.userbpf.missing_message;
          c.userbpf.missing_message.clear();
          c.userbpf.messages_ok = log_matches(log, mode.messages, &c.userbpf.missing_message);
          s.userbpf_ns += c.userbpf.ns;
        }
        s.cases.push_back(std::move(c));
      }
    }
  }
  return s;
}

const Suite& suite() {
  static const Suite s = run_suite();
  return s;
}

struct Counts {
  int total = 0, agree = 0;
  double percent() const { return total == 0 ? 0 : 100.0 * agree / total; }
};

void write_reports(const Suite& s) {
  nlohmann::json j;
  j["compiled"] = s.compiled;
  j["not_compiled"] = s.not_compiled;
  j["object_errors"] = s.object_errors;
  j["kernel_verification_ns"] = s.kernel_ns;
  j["userbpf_verification_ns"] = s.userbpf_ns;
  auto& cases = j["cases"] = nlohmann::json::array();
  std::ostringstream md;
  md << "| program | mode | expected | kernel | userbpf | userbpf's refusal (or the kernel's) |\n"
     << "|---|---|---|---|---|---|\n";
  const auto verdict = [](const Side& side) -> std::string {
    if (!side.ran) return "-";
    if (!side.error.empty()) return "error";
    return side.accepted ? "accept" : "reject";
  };
  for (const auto& c : s.cases) {
    nlohmann::json e = {{"file", c.file},
                        {"program", c.program},
                        {"mode", c.unpriv ? "unpriv" : "priv"},
                        {"expected", c.expect_failure ? "reject" : "accept"},
                        {"kernel", verdict(c.kernel)},
                        {"kernel_messages_ok", c.kernel.messages_ok},
                        {"kernel_skipped", c.kernel.skipped},
                        {"kernel_error", c.kernel.error},
                        {"kernel_refusal", c.kernel.first_log_line},
                        {"kernel_ns", c.kernel.ns},
                        {"userbpf", verdict(c.userbpf)},
                        {"userbpf_messages_ok", c.userbpf.messages_ok},
                        {"userbpf_error", c.userbpf.error},
                        {"userbpf_refusal", c.userbpf.first_log_line},
                        {"userbpf_ns", c.userbpf.ns}};
    cases.push_back(e);
    if (c.userbpf.ran && !c.userbpf_agrees()) {
      const std::string why = !c.userbpf.error.empty() ? c.userbpf.error
                              : c.userbpf.accepted     ? "(kernel: " + c.kernel.first_log_line + ")"
                                                       : c.userbpf.first_log_line;
      md << "| " << c.file << "/" << c.program << " | " << (c.unpriv ? "unpriv" : "priv") << " | "
         << (c.expect_failure ? "reject" : "accept") << " | " << verdict(c.kernel) << " | "
         << verdict(c.userbpf) << " | " << why << " |\n";
    }
  }
  std::ofstream(s.dir + "/report.json") << j.dump(1) << "\n";
  std::ofstream(s.dir + "/disagreements.md") << md.str();
}

TEST(VerifierSelftests, CompileReport) {
  const Suite& s = suite();
  if (!s.skip_reason.empty()) GTEST_SKIP() << s.skip_reason;
  // Linux 6.12 has 95 verifier_*.c; clang 14 lacks a few of the newest instructions' syntax.
  EXPECT_EQ(s.compiled.size() + s.not_compiled.size(), 95u);
  EXPECT_GE(s.compiled.size(), 85u);
  for (const auto& line : s.not_compiled) std::printf("  not compiled: %s\n", line.c_str());
  EXPECT_GT(s.cases.size(), 1000u);
}

TEST(VerifierSelftests, ObjectLoaderOpensEveryObject) {
  const Suite& s = suite();
  if (!s.skip_reason.empty()) GTEST_SKIP() << s.skip_reason;
  for (const auto& e : s.object_errors) {
    const auto known = object_exceptions().find(e.substr(0, e.find(':')));
    if (known != object_exceptions().end()) {
      std::printf("  known object loader gap %s: %s\n", known->first.c_str(),
                  known->second.c_str());
    } else {
      ADD_FAILURE() << e;
    }
  }
}

TEST(VerifierSelftests, KernelAgreesWithAnnotations) {
  const Suite& s = suite();
  if (!s.skip_reason.empty()) GTEST_SKIP() << s.skip_reason;
  if (!oracle::kernel_bpf_status().available) {
    GTEST_SKIP() << "bpf() unavailable: " << oracle::kernel_bpf_status().reason;
  }
  Counts counts;
  int skipped = 0, excused = 0;
  std::map<std::string, int> skip_reasons;
  for (const auto& c : s.cases) {
    if (!c.kernel.ran) {
      ++skipped;
      ++skip_reasons[c.kernel.skipped.substr(0, c.kernel.skipped.find(':'))];
      continue;
    }
    ++counts.total;
    if (c.kernel_agrees()) {
      ++counts.agree;
      continue;
    }
    const auto exc = kernel_exceptions().find(c.id());
    if (exc != kernel_exceptions().end()) {
      ++excused;
      std::printf("  kernel exception %s: %s\n", c.id().c_str(), exc->second.c_str());
      continue;
    }
    ADD_FAILURE() << c.id() << ": expected " << (c.expect_failure ? "reject" : "accept")
                  << ", kernel " << (c.kernel.accepted ? "accepts" : "rejects")
                  << (c.kernel.error.empty() ? "" : " (" + c.kernel.error + ")")
                  << (c.kernel.messages_ok ? ""
                                           : ", missing message '" + c.kernel.missing_message + "'")
                  << (c.kernel.first_log_line.empty() ? "" : ": " + c.kernel.first_log_line);
  }
  for (const auto& [reason, n] : skip_reasons)
    std::printf("  not run (%d): %s\n", n, reason.c_str());
  std::printf(
      "kernel vs annotations: %d/%d agree (%.1f%%), %d known exceptions, %d not run\n"
      "kernel verification time (stats): %.1f ms\n",
      counts.agree, counts.total, counts.percent(), excused, skipped, s.kernel_ns / 1e6);
  write_reports(s);
}

TEST(VerifierSelftests, UserbpfAgreesWithAnnotations) {
  const Suite& s = suite();
  if (!s.skip_reason.empty()) GTEST_SKIP() << s.skip_reason;
  write_reports(s);
  if (!USERBPF_HAVE_VERIFIER) GTEST_SKIP() << "src/verifier has no verify() yet";
  Counts priv, unpriv, with_kernel, messages;
  int unsound = 0;
  std::vector<std::string> unexplained_accepts;
  std::map<std::string, Counts> per_file;
  for (const auto& c : s.cases) {
    Counts& mode = c.unpriv ? unpriv : priv;
    ++mode.total;
    const bool agree = c.userbpf_agrees();
    mode.agree += agree;
    if (!c.unpriv) {
      ++per_file[c.file].total;
      per_file[c.file].agree += agree;
    }
    if (agree) {
      ++messages.total;
      messages.agree += c.userbpf.messages_ok;
    }
    if (c.kernel.ran && c.kernel.error.empty() && c.userbpf.ran && c.userbpf.error.empty()) {
      ++with_kernel.total;
      with_kernel.agree += c.kernel.accepted == c.userbpf.accepted;
    }
    if (c.expect_failure && c.userbpf.ran && c.userbpf.error.empty() && c.userbpf.accepted) {
      ++unsound;
      // Issue 5: no program that must fail for a safety reason is accepted. The one exception
      // is not a safety failure: kernels after 6.12 accept it too (docs/verifier-compat.md).
      if (c.id() != "verifier_mtu/tc_uninit_mtu") unexplained_accepts.push_back(c.id());
    }
  }
  for (const auto& [file, n] : per_file) {
    if (n.agree != n.total) std::printf("  %-45s %3d/%3d\n", file.c_str(), n.agree, n.total);
  }
  std::printf(
      "userbpf vs annotations: root %d/%d (%.1f%%), unprivileged %d/%d (%.1f%%); "
      "messages found in %d/%d agreeing verdicts; vs kernel %d/%d; accepted but annotated "
      "to fail: %d\nverification time: userbpf %.1f ms, kernel %.1f ms\nreport: %s\n",
      priv.agree, priv.total, priv.percent(), unpriv.agree, unpriv.total, unpriv.percent(),
      messages.agree, messages.total, with_kernel.agree, with_kernel.total, unsound,
      s.userbpf_ns / 1e6, s.kernel_ns / 1e6, (s.dir + "/report.json").c_str());
  EXPECT_GE(priv.percent(), kUserbpfAgreementFloor);
  for (const std::string& id : unexplained_accepts)
    ADD_FAILURE() << id << ": accepted although annotated to fail";
}

}  // namespace
}  // namespace userbpf::verifier_selftests

#include "verifier/selftest_annotations.hpp"

#include <bpf/btf.h>
#include <linux/bpf.h>
#include <regex.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace userbpf::verifier_selftests {
namespace {

constexpr std::string_view kPrefix = "comment:";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "<tag>=<counter>=<text>" (tags made unique by __COUNTER__) -> <text>.
bool counted_value(std::string_view s, std::string_view tag, std::string* value) {
  if (!starts_with(s, tag) || s.size() <= tag.size() || s[tag.size()] != '=') return false;
  const auto rest = s.substr(tag.size() + 1);
  const auto eq = rest.find('=');
  if (eq == std::string_view::npos) return false;
  *value = std::string(rest.substr(eq + 1));
  return true;
}

bool plain_value(std::string_view s, std::string_view tag, std::string* value) {
  if (!starts_with(s, tag) || s.size() <= tag.size() || s[tag.size()] != '=') return false;
  *value = std::string(s.substr(tag.size() + 1));
  return true;
}

Result<long long> parse_number(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 0);
  if (text.empty() || errno != 0 || *end != '\0') {
    return make_error(Errc::invalid_argument, what + ": not a number: '" + text + "'");
  }
  return v;
}

// test_loader's pattern syntax: {{...}} is an ERE, everything else literal.
Result<ExpectedMessage> make_message(const std::string& text) {
  ExpectedMessage msg{text, {}};
  if (text.find("{{") == std::string::npos) return msg;
  std::string re;
  bool in_regex = false;
  for (size_t i = 0; i < text.size();) {
    if (!in_regex && text.compare(i, 2, "{{") == 0) {
      in_regex = true;
      i += 2;
    } else if (in_regex && text.compare(i, 2, "}}") == 0) {
      in_regex = false;
      i += 2;
    } else {
      if (!in_regex && std::strchr(".[]\\()*+?{}|^$", text[i]) != nullptr) re += '\\';
      re += text[i++];
    }
  }
  if (in_regex) {
    return make_error(Errc::invalid_argument, "message has '{{' without '}}': '" + text + "'");
  }
  msg.regex = re;
  return msg;
}

Result<uint32_t> flag_value(const std::string& name) {
  static const std::pair<const char*, uint32_t> kFlags[] = {
      {"BPF_F_STRICT_ALIGNMENT", BPF_F_STRICT_ALIGNMENT},
      {"BPF_F_ANY_ALIGNMENT", BPF_F_ANY_ALIGNMENT},
      {"BPF_F_TEST_RND_HI32", BPF_F_TEST_RND_HI32},
      {"BPF_F_TEST_STATE_FREQ", BPF_F_TEST_STATE_FREQ},
      {"BPF_F_SLEEPABLE", BPF_F_SLEEPABLE},
      {"BPF_F_XDP_HAS_FRAGS", BPF_F_XDP_HAS_FRAGS},
      {"BPF_F_TEST_REG_INVARIANTS", 1U << 7},  // not in every <linux/bpf.h>
  };
  for (const auto& [flag, value] : kFlags) {
    if (name == flag) return value;
  }
  auto number = parse_number(name, "__flag");
  if (!number) return number.error();
  return static_cast<uint32_t>(*number);
}

}  // namespace

bool Annotations::runs_on_x86_64() const {
  if (archs.empty()) return true;
  for (const auto& a : archs) {
    if (a == "X86_64") return true;
  }
  return false;
}

Result<Annotations> read_annotations(const ::btf* btf, const std::string& program) {
  const int func_id = btf__find_by_name_kind(btf, program.c_str(), BTF_KIND_FUNC);
  if (func_id <= 0) {
    return make_error(Errc::not_found, "no BTF FUNC '" + program + "'");
  }
  Annotations a;
  a.program = program;
  bool has_priv = false, has_unpriv = false, has_unpriv_result = false, has_unpriv_retval = false;
  const auto where = [&](std::string_view tag) {
    return program + ": tag '" + std::string(tag) + "'";
  };
  const uint32_t count = btf__type_cnt(btf);
  for (uint32_t id = 1; id < count; ++id) {
    const btf_type* t = btf__type_by_id(btf, id);
    if (!btf_is_decl_tag(t) || t->type != static_cast<uint32_t>(func_id) ||
        btf_decl_tag(t)->component_idx != -1) {
      continue;
    }
    const std::string_view full = btf__str_by_offset(btf, t->name_off);
    if (!starts_with(full, kPrefix)) continue;
    const std::string_view s = full.substr(kPrefix.size());
    std::string value;
    if (plain_value(s, "test_description", &value)) {
      a.description = value;
    } else if (s == "test_expect_failure" || s == "test_expect_success") {
      a.priv.expect_failure = s == "test_expect_failure";
      has_priv = true;
    } else if (s == "test_expect_failure_unpriv" || s == "test_expect_success_unpriv") {
      a.unpriv.expect_failure = s == "test_expect_failure_unpriv";
      has_unpriv = has_unpriv_result = true;
    } else if (s == "test_auxiliary") {
      a.auxiliary = true;
      has_priv = true;
    } else if (s == "test_auxiliary_unpriv") {
      a.auxiliary = a.auxiliary_unpriv = true;
      has_unpriv = true;
    } else if (counted_value(s, "test_expect_msg", &value)) {
      auto msg = make_message(value);
      if (!msg) return make_error(Errc::invalid_argument, where(s) + ": " + msg.error().message);
      a.priv.messages.push_back(*msg);
      has_priv = true;
    } else if (counted_value(s, "test_expect_msg_unpriv", &value)) {
      auto msg = make_message(value);
      if (!msg) return make_error(Errc::invalid_argument, where(s) + ": " + msg.error().message);
      a.unpriv.messages.push_back(*msg);
      has_unpriv = true;
    } else if (counted_value(s, "test_expect_xlated", &value) ||
               counted_value(s, "test_jited", &value)) {
      has_priv = true;  // rewrites and JIT output: not part of the verdict
    } else if (counted_value(s, "test_expect_xlated_unpriv", &value) ||
               counted_value(s, "test_jited_unpriv", &value)) {
      has_unpriv = true;
    } else if (plain_value(s, "test_retval", &value)) {
      a.priv.has_retval = true;
      a.priv.retval = value;
      has_priv = true;
    } else if (plain_value(s, "test_retval_unpriv", &value)) {
      a.unpriv.has_retval = true;
      a.unpriv.retval = value;
      has_unpriv = has_unpriv_retval = true;
    } else if (plain_value(s, "test_log_level", &value)) {
      auto level = parse_number(value, where(s));
      if (!level) return level.error();
      a.log_level = static_cast<int>(*level);
    } else if (plain_value(s, "test_prog_flags", &value)) {
      const bool clear = !value.empty() && value[0] == '!';
      auto flag = flag_value(clear ? value.substr(1) : value);
      if (!flag) return make_error(Errc::invalid_argument, where(s) + ": " + flag.error().message);
      a.prog_flags = clear ? (a.prog_flags & ~*flag) : (a.prog_flags | *flag);
    } else if (plain_value(s, "test_arch", &value)) {
      if (value != "X86_64" && value != "ARM64" && value != "RISCV64") {
        return make_error(Errc::invalid_argument, where(s) + ": unknown architecture");
      }
      a.archs.push_back(value);
    } else if (plain_value(s, "test_btf_path", &value)) {
      a.btf_path = value;
    }
    // Other tags do not change the verdict.
  }
  if (a.description.empty()) a.description = program;
  if (!has_priv && !has_unpriv) has_priv = true;  // no annotation: privileged mode
  a.priv.tested = has_priv;
  a.unpriv.tested = has_unpriv;
  // What the unprivileged mode inherits when it says nothing itself (test_loader.c).
  if (!has_unpriv_result) a.unpriv.expect_failure = a.priv.expect_failure;
  if (!has_unpriv_retval) {
    a.unpriv.has_retval = a.priv.has_retval;
    a.unpriv.retval = a.priv.retval;
  }
  if (a.unpriv.messages.empty()) a.unpriv.messages = a.priv.messages;
  return a;
}

bool log_matches(const std::string& log, const std::vector<ExpectedMessage>& expected,
                 std::string* missing) {
  size_t pos = 0;
  for (const auto& msg : expected) {
    bool found = false;
    if (msg.regex.empty()) {
      const size_t at = log.find(msg.text, pos);
      if (at != std::string::npos) {
        pos = at + msg.text.size();
        found = true;
      }
    } else {
      regex_t re;
      if (regcomp(&re, msg.regex.c_str(), REG_EXTENDED | REG_NEWLINE) == 0) {
        regmatch_t m[1];
        if (regexec(&re, log.c_str() + pos, 1, m, 0) == 0) {
          pos += static_cast<size_t>(m[0].rm_eo);
          found = true;
        }
        regfree(&re);
      }
    }
    if (!found) {
      if (missing != nullptr) *missing = msg.text;
      return false;
    }
  }
  return true;
}

}  // namespace userbpf::verifier_selftests

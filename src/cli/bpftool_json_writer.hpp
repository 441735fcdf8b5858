// bpftool's json_writer in pretty mode, the way its plain-text map dumps use it for maps with
// BTF (btf_dumper with is_plain_text): members on their own lines indented by four spaces per
// level, but values inside arrays written inline after a comma ("[1,2,3" and the closing bracket
// on its own line), objects in arrays opened right after the comma ("},{"). Writing JSON values
// through it reproduces `bpftool map dump` / `map lookup` output byte for byte.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace userbpf::cli {

class BpftoolJsonWriter {
 public:
  explicit BpftoolJsonWriter(std::ostream& out) : out_(out) {}

  void begin_array() { begin('['); }
  void end_array() { end(']'); }
  // A JSON value: objects and arrays recursively, scalars as JSON text.
  void value(const nlohmann::ordered_json& v);
  // jsonw_destroy: the newline after the outermost value.
  void finish() { out_ << '\n'; }

 private:
  void separator();  // jsonw_eor
  void newline();    // jsonw_eol
  void begin(char c);
  void end(char c);
  void name(const std::string& n);

  std::ostream& out_;
  int depth_ = 0;
  char sep_ = '\0';
};

}  // namespace userbpf::cli

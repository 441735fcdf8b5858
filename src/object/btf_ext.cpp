#include "object/btf_ext.hpp"

#include <bpf/btf.h>

#include <cstring>

namespace userbpf::object {
namespace {

constexpr uint16_t kBtfMagic = 0xeB9F;

struct Reader {
  std::span<const uint8_t> data;
  const std::string& file;

  Error fail(const std::string& what) const {
    return make_error(Errc::decode, what, Location{file, ".BTF.ext", -1, -1});
  }
  bool u32_at(size_t off, uint32_t& out) const {
    if (off > data.size() || data.size() - off < 4) return false;
    std::memcpy(&out, data.data() + off, 4);
    return true;
  }
};

// Walks one info block: u32 record size, then {u32 section name offset, u32 count, records}*.
// `min_record` is the size of the fields userbpf reads; larger records (newer compilers) are fine.
template <class Record, class Fill>
Status parse_block(const Reader& r, const ::btf* btf, uint32_t begin, uint32_t len,
                   size_t min_record, const char* what,
                   std::map<std::string, std::vector<Record>>& out, Fill fill) {
  if (len == 0) return ok_status();
  if (begin > r.data.size() || r.data.size() - begin < len)
    return r.fail(std::string(what) + " block [" + std::to_string(begin) + ", +" +
                  std::to_string(len) + ") lies outside the section");
  const size_t end = static_cast<size_t>(begin) + len;
  uint32_t record_size = 0;
  if (len < 4 || !r.u32_at(begin, record_size)) return r.fail(std::string(what) + " is truncated");
  if (record_size < min_record || record_size % 4 != 0)
    return r.fail(std::string(what) + " record size " + std::to_string(record_size) +
                  " is invalid");
  size_t off = begin + 4;
  while (off < end) {
    uint32_t name_off = 0, count = 0;
    if (end - off < 8 || !r.u32_at(off, name_off) || !r.u32_at(off + 4, count))
      return r.fail(std::string(what) + " section header at byte " + std::to_string(off) +
                    " is truncated");
    off += 8;
    const char* name = btf ? btf__name_by_offset(btf, name_off) : nullptr;
    if (!name || !*name)
      return r.fail(std::string(what) + " names a section with invalid string offset " +
                    std::to_string(name_off));
    if (count == 0) return r.fail(std::string(what) + " of section '" + name + "' is empty");
    if ((end - off) / record_size < count)
      return r.fail(std::string(what) + " of section '" + name + "' claims " +
                    std::to_string(count) + " records but the block is too short");
    auto& records = out[name];
    for (uint32_t i = 0; i < count; ++i, off += record_size) {
      uint32_t fields[4] = {};
      std::memcpy(fields, r.data.data() + off, min_record);
      records.push_back(fill(fields));
    }
  }
  return ok_status();
}

}  // namespace

Result<BtfExt> parse_btf_ext(std::span<const uint8_t> data, const ::btf* btf,
                             const std::string& file) {
  Reader r{data, file};
  BtfExt ext;
  if (data.size() < 8) return r.fail("header is truncated");
  uint16_t magic = 0;
  std::memcpy(&magic, data.data(), 2);
  if (magic != kBtfMagic)
    return r.fail("bad magic 0x" + [&] {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "%04x", magic);
      return std::string(buf);
    }());
  if (data[2] != 1) return r.fail("unsupported version " + std::to_string(data[2]));
  uint32_t hdr_len = 0;
  r.u32_at(4, hdr_len);
  // Fields: hdr_len, func_info off/len, line_info off/len, then optionally core_relo off/len.
  if (hdr_len < 24 || hdr_len > data.size())
    return r.fail("header length " + std::to_string(hdr_len) + " is invalid");
  uint32_t fi_off = 0, fi_len = 0, li_off = 0, li_len = 0, cr_off = 0, cr_len = 0;
  r.u32_at(8, fi_off);
  r.u32_at(12, fi_len);
  r.u32_at(16, li_off);
  r.u32_at(20, li_len);
  if (hdr_len >= 32) {
    r.u32_at(24, cr_off);
    r.u32_at(28, cr_len);
  }
  // Offsets count from the end of the header.
  Reader body{data.subspan(hdr_len), file};
  auto st =
      parse_block(body, btf, fi_off, fi_len, 8, "func_info", ext.func_info, [](const uint32_t* f) {
        return ExtFuncInfo{f[0], f[1]};
      });
  if (!st) return st.take_error();
  st =
      parse_block(body, btf, li_off, li_len, 16, "line_info", ext.line_info, [](const uint32_t* f) {
        return ExtLineInfo{f[0], f[1], f[2], f[3]};
      });
  if (!st) return st.take_error();
  st = parse_block(body, btf, cr_off, cr_len, 16, "core_relo", ext.core_relos,
                   [](const uint32_t* f) {
                     return ExtCoreRelo{f[0], f[1], f[2], f[3]};
                   });
  if (!st) return st.take_error();
  return ext;
}

}  // namespace userbpf::object

#include "jit/jit.hpp"

#include <string>

#include "jit/code_memory.hpp"
#include "jit/emitter.hpp"

namespace userbpf::jit {

bool available() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

Result<std::shared_ptr<const vm::NativeCode>> compile(const vm::Interpreter& program,
                                                      const CompileOptions& options) {
  if (!available()) return make_error(Errc::unsupported, "the JIT supports x86-64 hosts only");
  const vm::detail::LoadedProgram& loaded = program.loaded_program();
  if (loaded.insn_count == 0 || loaded.translated.size() < loaded.insn_count)
    return make_error(Errc::invalid_argument, "the program has no translated form to compile");
  // Typical code is 5 to 15 bytes per instruction. The capacity is address space (pages are
  // touched only as code is written); a program that needs more is emitted again, twice as large.
  size_t capacity = 4096 + loaded.insn_count * 32;
  for (int attempt = 0;; ++attempt) {
    Result<CodeBuffer> buffer = CodeBuffer::reserve(capacity);
    if (!buffer) return buffer.take_error();
    try {
      detail::Emitter emitter(loaded, options, buffer->data(), buffer->capacity());
      emitter.emit_all();
      Result<CodeMemory> memory = buffer->seal(emitter.getSize());
      if (!memory) return memory.take_error();
      auto native = std::make_shared<vm::NativeCode>();
      const uint8_t* base = memory->code;
      native->entry =
          reinterpret_cast<vm::NativeEntry>(const_cast<uint8_t*>(base + emitter.trampoline_offset));
      native->batch_entry = reinterpret_cast<vm::NativeBatchEntry>(
          const_cast<uint8_t*>(base + emitter.batch_trampoline_offset));
      native->main = base + emitter.function_offset(0);
      // Up to the last callback entry only (none in most programs).
      for (size_t i = 0; i < loaded.function_entry.size(); ++i)
        if (loaded.function_entry[i]) {
          native->functions.resize(i + 1, nullptr);
          native->functions[i] = base + emitter.function_offset(i);
        }
      native->code = base;
      native->code_size = memory->size;
      native->insn_offsets = std::move(emitter.insn_offsets);
      native->memory = std::move(memory->mapping);
      return std::shared_ptr<const vm::NativeCode>(std::move(native));
    } catch (const Xbyak::Error& e) {
      if (static_cast<int>(e) == Xbyak::ERR_CODE_IS_TOO_BIG && attempt < 16) {
        capacity *= 2;
        continue;
      }
      return make_error(Errc::unsupported, std::string("JIT code generation failed: ") + e.what());
    }
  }
}

Status attach(vm::Interpreter& program, const CompileOptions& options) {
  auto code = compile(program, options);
  if (!code) return code.take_error();
  program.attach_native(std::move(*code));
  return ok_status();
}

}  // namespace userbpf::jit

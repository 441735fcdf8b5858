// `userbpf run OBJ... [--prog NAME] -- COMMAND [ARGS]`: loads the objects, attaches their programs
// by section name and runs COMMAND under supervision; `run OBJ... --pid PID` attaches to a
// running process instead, as `strace -p` does (PTRACE_SYSCALL stops, never a seccomp filter),
// until it exits or userbpf gets SIGINT/SIGTERM, then detaches leaving it running. The shared
// supervision lives here too.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ostream>

#include "cli/event_printer.hpp"
#include "cli/prog.hpp"
#include "cli/runtime_access.hpp"
#include "cli/supervise.hpp"
#include "hooks/supervisor.hpp"
#include "hooks/syscall_dispatcher.hpp"
#include "hooks/usdt_attach.hpp"
#include "object/object.hpp"

namespace userbpf::cli {
namespace {

constexpr std::string_view kRunUsage =
    "run OBJ... [--prog NAME] [--events [--event-type TYPE]] [--unverified] "
    "{ -- COMMAND [ARGS] | --pid PID }";

void print_new_trace_lines(Context& ctx, runtime::Runtime& rt) {
  bool any = false;
  while (auto event = rt.trace().read()) {
    ctx.out << trace::format_trace_line(*event);
    any = true;
  }
  if (any) ctx.out.flush();
}

}  // namespace

Status split_command(std::string_view usage, Args args, std::vector<std::string>& before,
                     std::vector<std::string>& command) {
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) before.push_back(args[i]);
  if (i == args.size() || i + 1 == args.size()) {
    return make_error(Errc::invalid_argument,
                      "expected '-- COMMAND' (usage: " + std::string(usage) + ")");
  }
  command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return ok_status();
}

std::vector<Attachment> attach_by_section(const std::vector<runtime::ProgramRecord>& programs) {
  std::vector<Attachment> out;
  for (const runtime::ProgramRecord& record : programs) out.push_back({record, record.section, 0});
  return out;
}

Status supervise_command(Context& ctx, runtime::Runtime& rt,
                         const std::vector<Attachment>& attachments,
                         const std::vector<std::string>& command, const SuperviseOptions& options) {
  hooks::SyscallDispatcher dispatcher;
  hooks::UsdtAttacher usdt(dispatcher);  // usdt targets: uprobes at their notes, semaphores
  for (const Attachment& attachment : attachments) {
    const runtime::ProgramRecord& record = attachment.program;
    if (hooks::is_usdt_section(attachment.target)) {
      auto sites = usdt.attach(rt, record, attachment.target, attachment.cookie);
      if (!sites) {
        ctx.err << "Warning: prog '" << record.name << "': " << sites.error().to_string()
                << "; not attached\n";
      } else if (ctx.debug) {
        ctx.err << "prog '" << record.name << "' attached to " << attachment.target << " ("
                << *sites << " sites)\n";
      }
      continue;
    }
    auto hook = hooks::parse_hook_point(attachment.target);
    if (!hook) {
      ctx.err << "Warning: prog '" << record.name << "': " << hook.error().message
              << "; not attached\n";
      continue;
    }
    auto instance = rt.instantiate(record);
    if (!instance) return instance.take_error();
    (*instance)->env().attach_cookie = attachment.cookie;
    dispatcher.attach(*hook, std::move(*instance));
    if (ctx.debug) ctx.err << "prog '" << record.name << "' attached to " << hook->name() << "\n";
  }
  if (dispatcher.attached() == 0) {
    return make_error(Errc::invalid_argument, "no program to attach to a supported hook");
  }
  std::unique_ptr<EventPrinter> events;
  if (options.events) {
    std::vector<runtime::ProgramRecord> programs;
    for (const Attachment& a : attachments) programs.push_back(a.program);
    auto printer = EventPrinter::create(ctx, rt, programs, options.event_type);
    if (!printer) return printer.take_error();
    if ((*printer)->maps() == 0) {
      ctx.err << "Warning: --events: the programs use no ringbuf or perf_event_array map\n";
    }
    events = std::move(*printer);
  }
  dispatcher.set_after_event([&] {
    if (options.print_trace) print_new_trace_lines(ctx, rt);
    if (events) events->drain();
  });
  uint64_t reported = 0;
  dispatcher.set_on_error([&](const runtime::ProgramRecord& record, const Error& error) {
    if (reported++ < 10) {
      ctx.err << "Warning: prog '" << record.name << "': " << error.to_string() << "\n";
    }
  });

  hooks::PtraceSupervisor supervisor;
  Result<hooks::CommandOutcome> outcome = hooks::CommandOutcome{};
  if (options.attach_pid != 0) {
    outcome = supervisor.attach(options.attach_pid, usdt.interest(), usdt.sink());
  } else {
    hooks::CommandSpec spec;
    spec.argv = command;
    outcome = supervisor.run(spec, usdt.interest(), usdt.sink());
  }
  usdt.release();  // semaphores still counted when the source ended without a detach
  if (options.print_trace) print_new_trace_lines(ctx, rt);
  if (events) events->drain();
  if (!outcome) return outcome.take_error();
  if (options.attach_pid != 0) {
    // Detaching is how an attach normally ends; the process's own status is not ours to report.
    ctx.exit_code = 0;
    if (ctx.debug) {
      ctx.err << (outcome->detached ? "detached from process " : "process exited: ")
              << options.attach_pid << "\n";
    }
  } else if (outcome->detached) {
    ctx.err << "Warning: detached from the command's processes (" << outcome->processes << " seen)";
    if (outcome->seccomp_filter)
      ctx.err << "; hooked syscalls fail with ENOSYS in them from now on";
    ctx.err << "\n";
    ctx.exit_code = 128 + (outcome->stop_signal ? outcome->stop_signal : 2);
  } else {
    ctx.exit_code = outcome->exit_status;
  }
  if (ctx.debug) {
    ctx.err << outcome->events << " syscall events, " << outcome->processes
            << " threads and processes\n";
  }
  return ok_status();
}

// The pid of `--pid PID`, removed from `words`; 0 when absent.
Result<int> take_attach_pid(std::vector<std::string>& words) {
  int pid = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] != "--pid") continue;
    if (i + 1 == words.size()) {
      return make_error(Errc::invalid_argument,
                        "'--pid' needs a value (usage: " + std::string(kRunUsage) + ")");
    }
    const std::string& value = words[i + 1];
    char* end = nullptr;
    const long parsed = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || parsed <= 0 || parsed > INT32_MAX) {
      return make_error(Errc::invalid_argument, "invalid process id '" + value + "'");
    }
    pid = static_cast<int>(parsed);
    words.erase(words.begin() + static_cast<std::ptrdiff_t>(i),
                words.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    break;
  }
  return pid;
}

Status do_run(Context& ctx, Args args) {
  std::vector<std::string> words, command;
  const bool has_command = std::find(args.begin(), args.end(), "--") != args.end();
  if (has_command) {
    if (Status s = split_command(kRunUsage, args, words, command); !s) return s;
  } else {
    words.assign(args.begin(), args.end());
  }
  auto attach_pid = take_attach_pid(words);
  if (!attach_pid) return attach_pid.take_error();
  if (*attach_pid != 0 && has_command) {
    return make_error(
        Errc::invalid_argument,
        "'--pid' and '-- COMMAND' exclude each other (usage: " + std::string(kRunUsage) + ")");
  }
  if (*attach_pid == 0 && !has_command) {
    if (Status s = split_command(kRunUsage, args, words, command); !s) return s;
  }
  // run's own options first; the global ones (-j, --state-dir DIR, ...) may sit among them.
  runtime::LoadOptions options;
  SuperviseOptions supervise;
  supervise.attach_pid = *attach_pid;
  std::vector<std::string> rest;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    const bool takes_value = word == "--event-type" || word == "--prog" || word == "prog";
    if (takes_value && i + 1 == words.size()) {
      return make_error(Errc::invalid_argument,
                        "'" + word + "' needs a value (usage: " + std::string(kRunUsage) + ")");
    }
    if (word == "--events") {
      supervise.events = true;
    } else if (word == "--event-type") {
      supervise.events = true;
      supervise.event_type = words[++i];
    } else if (word == "--prog" || word == "prog") {
      options.only_program = words[++i];
    } else if (word == "--unverified") {
      options.unverified = true;  // verified at load otherwise; hooks always run checked
    } else {
      rest.push_back(word);
    }
  }
  auto objects = strip_global_options(ctx, rest);
  if (!objects) return objects.take_error();
  if (objects->empty()) {
    return make_error(Errc::invalid_argument,
                      "expected an object file (usage: " + std::string(kRunUsage) + ")");
  }
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  std::vector<runtime::ProgramRecord> programs;
  for (const std::string& path : *objects) {
    auto obj = object::open(path);
    if (!obj) return with_object(obj.take_error(), path);
    auto loaded = rt->load(*obj, options);
    if (!loaded) return with_object(loaded.take_error(), path);
    programs.insert(programs.end(), loaded->begin(), loaded->end());
  }
  return supervise_command(ctx, *rt, attach_by_section(programs), command, supervise);
}

}  // namespace userbpf::cli

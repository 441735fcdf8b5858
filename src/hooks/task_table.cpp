#include "hooks/task_table.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace userbpf::hooks {
namespace {

// include/linux/sched.h
constexpr uint32_t kPfIdle = 0x00000002;
constexpr uint32_t kPfExiting = 0x00000004;
constexpr uint32_t kPfForkNoExec = 0x00000040;
constexpr uint32_t kPfKthread = 0x00200000;
constexpr int kDefaultPrio = 120;  // MAX_RT_PRIO + NICE_WIDTH / 2
constexpr int kMaxAncestry = 64;

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void set_comm(runtime::TaskModel& t, std::string_view comm) {
  std::memset(t.comm, 0, sizeof(t.comm));
  std::memcpy(t.comm, comm.data(), std::min(comm.size(), sizeof(t.comm) - 1));
}

}  // namespace

TaskTable::TaskTable(size_t capacity)
    : slots_(std::make_unique<Slot[]>(capacity + 1)), capacity_(capacity + 1) {
  free_.reserve(capacity_);
  for (size_t i = capacity_; i-- > 1;) free_.push_back(i);
  idle_ = &slots_[0];
  idle_->used = idle_->alive = idle_->pinned = true;
  runtime::TaskModel& t = idle_->task;
  t.flags = kPfIdle | kPfKthread;
  t.prio = t.static_prio = kDefaultPrio;
  t.real_parent = t.parent = t.group_leader = &t;
  t.real_cred = t.cred = &idle_->cred;
  set_comm(t, "swapper/0");
}

TaskTable::Slot* TaskTable::allocate() {
  if (free_.empty()) return nullptr;
  Slot* s = &slots_[free_.back()];
  free_.pop_back();
  *s = Slot{};
  s->used = s->alive = true;
  s->task.real_cred = s->task.cred = &s->cred;
  return s;
}

void TaskTable::release(Slot& s) {
  if (s.pinned || !s.used) return;
  s = Slot{};
  free_.push_back(static_cast<size_t>(&s - slots_.get()));
}

TaskTable::Slot* TaskTable::slot_of(const runtime::TaskModel* task) {
  // task is the first member of Slot.
  return reinterpret_cast<Slot*>(const_cast<runtime::TaskModel*>(task));
}

void TaskTable::fill_identity(Slot& s, const ProcTaskFacts& f) {
  set_comm(s.task, f.comm);
  s.task.prio = s.task.static_prio = kDefaultPrio + f.nice;
  runtime::CredModel& c = s.cred;
  c.uid.val = f.uid[0];
  c.euid.val = f.uid[1];
  c.suid.val = f.uid[2];
  c.fsuid.val = f.uid[3];
  c.gid.val = f.gid[0];
  c.egid.val = f.gid[1];
  c.sgid.val = f.gid[2];
  c.fsgid.val = f.gid[3];
}

TaskTable::Slot* TaskTable::from_proc(pid_t tid, int depth) {
  if (tid <= 0) return idle_;
  if (auto it = by_tid_.find(tid); it != by_tid_.end()) return it->second;
  ++proc_reads_;
  auto facts = read_proc_task(tid);
  if (!facts) return nullptr;
  Slot* s = allocate();
  if (!s) return nullptr;
  by_tid_[tid] = s;  // before following parents, so that cycles end here
  fill_identity(*s, *facts);
  runtime::TaskModel& t = s->task;
  t.pid = tid;
  t.tgid = facts->tgid;
  t.exit_signal = tid == facts->tgid ? SIGCHLD : -1;
  // /proc gives the start since boot; task_struct's start_time is on the monotonic clock.
  const uint64_t boot_offset = clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC);
  t.start_time = facts->start_ns > boot_offset ? facts->start_ns - boot_offset : 0;
  Slot* leader = s;
  if (tid != facts->tgid) leader = depth < kMaxAncestry ? from_proc(facts->tgid, depth + 1) : s;
  if (!leader) leader = s;
  t.group_leader = &leader->task;
  if (leader != s) {
    t.real_parent = leader->task.real_parent;
  } else {
    Slot* parent = depth < kMaxAncestry ? from_proc(facts->ppid, depth + 1) : idle_;
    t.real_parent = &(parent ? parent : idle_)->task;
  }
  t.parent = t.real_parent;
  return s;
}

runtime::TaskModel* TaskTable::task(pid_t tid) {
  Slot* s = from_proc(tid, 0);
  return s ? &s->task : nullptr;
}

helpers::TaskInfo TaskTable::identity(pid_t tid) {
  helpers::TaskInfo info;
  const runtime::TaskModel* t = task(tid);
  if (!t) return info;
  info.valid = true;
  info.pid = t->pid;
  info.tgid = t->tgid;
  info.uid = t->cred->uid.val;
  info.gid = t->cred->gid.val;
  info.comm.assign(t->comm, strnlen(t->comm, sizeof(t->comm)));
  return info;
}

void TaskTable::on_fork(pid_t parent, pid_t child, bool thread) {
  runtime::TaskModel* p = task(parent);
  if (!p) return;  // the child is read from /proc when first needed
  if (auto old = by_tid_.find(child); old != by_tid_.end()) forget(child);
  Slot* s = allocate();
  if (!s) return;
  s->cred = *p->cred;
  runtime::TaskModel& t = s->task;
  const runtime::CredModel* cred = t.cred;
  t = *p;
  t.real_cred = t.cred = cred;
  t.pid = child;
  t.tgid = thread ? p->tgid : child;
  t.group_leader = thread ? p->group_leader : &t;
  t.real_parent = t.parent = thread ? p->real_parent : p;
  t.exit_signal = thread ? -1 : SIGCHLD;
  t.flags = (p->flags | kPfForkNoExec) & ~kPfExiting;
  t.start_time = clock_ns(CLOCK_MONOTONIC);
  t.exit_code = 0;
  t.__state = 0;
  by_tid_[child] = s;
}

void TaskTable::on_exec(pid_t tid, pid_t old_tid) {
  if (old_tid != tid) {
    // A non-leader thread exec'd: it becomes the process's leader under the leader's id.
    auto moved = by_tid_.find(old_tid);
    if (moved != by_tid_.end()) {
      Slot* s = moved->second;
      by_tid_.erase(moved);
      Slot* leader = nullptr;
      if (auto it = by_tid_.find(tid); it != by_tid_.end()) {
        leader = it->second;
        by_tid_.erase(it);
      }
      if (leader && leader != s) {
        s->task.real_parent = leader->task.real_parent;
        s->task.parent = leader->task.parent;
        for (size_t i = 0; i < capacity_; ++i) {
          runtime::TaskModel& c = slots_[i].task;
          if (!slots_[i].used) continue;
          if (c.real_parent == &leader->task) c.real_parent = &s->task;
          if (c.parent == &leader->task) c.parent = &s->task;
          if (c.group_leader == &leader->task) c.group_leader = &s->task;
        }
        release(*leader);
      }
      s->task.pid = tid;
      s->task.group_leader = &s->task;
      s->task.exit_signal = SIGCHLD;
      by_tid_[tid] = s;
    }
  }
  refresh(tid);
  if (auto it = by_tid_.find(tid); it != by_tid_.end()) it->second->task.flags &= ~kPfForkNoExec;
}

void TaskTable::refresh(pid_t tid) {
  auto it = by_tid_.find(tid);
  if (it == by_tid_.end()) {
    task(tid);
    return;
  }
  ++proc_reads_;
  if (auto facts = read_proc_task(tid)) fill_identity(*it->second, *facts);
}

void TaskTable::on_exit(pid_t tid, int exit_code) {
  auto it = by_tid_.find(tid);
  if (it == by_tid_.end()) return;
  it->second->task.exit_code = exit_code;
  it->second->task.flags |= kPfExiting;
}

TaskTable::Slot* TaskTable::find_reaper(const Slot& dying) {
  // A live thread of the same process, the leader first; else init (no subreapers here).
  Slot* any = nullptr;
  for (size_t i = 0; i < capacity_; ++i) {
    Slot& s = slots_[i];
    if (&s == &dying || !s.alive || s.task.tgid != dying.task.tgid || dying.task.tgid == 0) {
      continue;
    }
    if (s.task.pid == s.task.tgid) return &s;
    if (!any) any = &s;
  }
  if (any) return any;
  Slot* init = from_proc(1, 0);
  return init ? init : idle_;
}

void TaskTable::forget(pid_t tid) {
  auto it = by_tid_.find(tid);
  if (it == by_tid_.end()) return;
  Slot* s = it->second;
  by_tid_.erase(it);
  s->alive = false;
  Slot* reaper = find_reaper(*s);
  bool threads_live = false;
  for (size_t i = 0; i < capacity_; ++i) {
    Slot& c = slots_[i];
    if (!c.used || &c == s) continue;
    if (c.task.real_parent == &s->task) c.task.real_parent = &reaper->task;
    if (c.task.parent == &s->task) c.task.parent = &reaper->task;
    if (c.alive && c.task.group_leader == &s->task) threads_live = true;
  }
  runtime::TaskModel* leader = s->task.group_leader;
  // A leader stays, as a zombie, while threads of its process live.
  if (!threads_live) release(*s);
  if (leader && leader != &s->task) {
    Slot* l = slot_of(leader);
    if (l->used && !l->alive) {
      bool others = false;
      for (size_t i = 0; i < capacity_ && !others; ++i) {
        others = slots_[i].alive && slots_[i].task.group_leader == leader;
      }
      if (!others) release(*l);
    }
  }
}

vm::Region TaskTable::region() const {
  return vm::Region{reinterpret_cast<uint64_t>(slots_.get()), capacity_ * sizeof(Slot), false,
                    "task_struct"};
}

}  // namespace userbpf::hooks

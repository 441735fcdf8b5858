// The task model behind bpf_get_current_task: threads read from /proc once, forks that inherit
// without reads, exec refreshes, reparenting when a task goes.
#include "hooks/task_table.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace userbpf::hooks {
namespace {

std::string comm_of(const runtime::TaskModel* t) {
  return std::string(t->comm, strnlen(t->comm, sizeof(t->comm)));
}

TEST(TaskTable, ModelsThisProcessAndItsAncestorsFromProc) {
  TaskTable table;
  runtime::TaskModel* self = table.task(getpid());
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->pid, getpid());
  EXPECT_EQ(self->tgid, getpid());
  EXPECT_EQ(self->group_leader, self);
  EXPECT_EQ(self->exit_signal, SIGCHLD);
  ASSERT_NE(self->real_parent, nullptr);
  EXPECT_EQ(self->real_parent->tgid, getppid());
  EXPECT_EQ(self->cred->uid.val, getuid());
  EXPECT_EQ(self->cred->euid.val, geteuid());
  char comm[16] = {};
  prctl(PR_GET_NAME, comm);
  EXPECT_EQ(comm_of(self), comm);
  // The chain ends at the idle task, its own parent.
  const runtime::TaskModel* t = self;
  for (int i = 0; i < 100 && t->pid != 0; ++i) t = t->real_parent;
  EXPECT_EQ(t->pid, 0);
  EXPECT_EQ(t->real_parent, t);
  EXPECT_EQ(comm_of(t), "swapper/0");
  // Everything handed out lies in the arena the checked runs get.
  const vm::Region arena = table.region();
  const auto inside = [&](const void* p) {
    const auto a = reinterpret_cast<uint64_t>(p);
    return a >= arena.start && a + sizeof(runtime::TaskModel) <= arena.start + arena.size;
  };
  EXPECT_TRUE(inside(self) && inside(self->real_parent) && inside(t) && inside(self->cred));
  // Cached: a second lookup reads nothing.
  const uint64_t reads = table.proc_reads();
  EXPECT_EQ(table.task(getpid()), self);
  EXPECT_EQ(table.identity(getpid()).tgid, getpid());
  EXPECT_EQ(table.proc_reads(), reads);
}

TEST(TaskTable, AThreadBelongsToItsProcess) {
  TaskTable table;
  pid_t tid = 0;
  runtime::TaskModel* model = nullptr;
  std::thread th([&] {
    tid = gettid();
    model = table.task(tid);
  });
  th.join();
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->pid, tid);
  EXPECT_EQ(model->tgid, getpid());
  EXPECT_EQ(model->group_leader, table.task(getpid()));
  EXPECT_EQ(model->exit_signal, -1);
  EXPECT_EQ(model->real_parent->tgid, getppid());
}

TEST(TaskTable, ForksInheritWithoutReadingAndGoneTasksReparent) {
  TaskTable table;
  const pid_t self = getpid();
  ASSERT_NE(table.task(self), nullptr);
  const uint64_t reads = table.proc_reads();
  // Made-up ids that no /proc entry backs: the model alone answers for them.
  const pid_t child = 0x3ffffff0, grandchild = 0x3ffffff1, thread = 0x3ffffff2;
  table.on_fork(self, child, false);
  table.on_fork(child, grandchild, false);
  table.on_fork(child, thread, true);
  EXPECT_EQ(table.proc_reads(), reads);
  runtime::TaskModel* c = table.task(child);
  runtime::TaskModel* g = table.task(grandchild);
  runtime::TaskModel* t = table.task(thread);
  ASSERT_TRUE(c && g && t);
  EXPECT_EQ(c->tgid, child);
  EXPECT_EQ(c->real_parent, table.task(self));
  EXPECT_EQ(comm_of(c), comm_of(table.task(self)));
  EXPECT_NE(c->flags & 0x40, 0u);  // PF_FORKNOEXEC
  EXPECT_NE(c->cred, table.task(self)->cred);
  EXPECT_EQ(c->cred->uid.val, getuid());
  EXPECT_EQ(g->real_parent, c);
  EXPECT_EQ(t->tgid, child);
  EXPECT_EQ(t->group_leader, c);
  EXPECT_EQ(t->real_parent, table.task(self));
  EXPECT_EQ(t->exit_signal, -1);

  table.on_exit(child, 5 << 8);
  EXPECT_EQ(c->exit_code, 5 << 8);
  EXPECT_NE(c->flags & 0x4, 0u);  // PF_EXITING
  // The leader goes while its thread lives: the grandchild is reparented to that thread, and
  // the leader stays (a zombie) as the thread's group_leader.
  table.forget(child);
  EXPECT_EQ(g->real_parent, t);
  EXPECT_EQ(t->group_leader->pid, child);
  table.forget(thread);
  // No thread left: the grandchild goes to init.
  EXPECT_EQ(g->real_parent->pid, 1);
  table.forget(grandchild);
  EXPECT_EQ(table.live(), table.live());  // no crash walking freed slots
}

TEST(TaskTable, ExecByAThreadTakesTheLeadersId) {
  TaskTable table;
  const pid_t self = getpid();
  ASSERT_NE(table.task(self), nullptr);
  const pid_t leader = 0x3fffff00, thread = 0x3fffff01, kid = 0x3fffff02;
  table.on_fork(self, leader, false);
  table.on_fork(leader, thread, true);
  table.on_fork(leader, kid, false);
  runtime::TaskModel* t = table.task(thread);
  table.on_exec(leader, thread);  // no /proc entry: identity stays as inherited
  runtime::TaskModel* now = table.task(leader);
  EXPECT_EQ(now, t);
  EXPECT_EQ(now->pid, leader);
  EXPECT_EQ(now->tgid, leader);
  EXPECT_EQ(now->group_leader, now);
  EXPECT_EQ(now->exit_signal, SIGCHLD);
  EXPECT_EQ(now->flags & 0x40, 0u);  // exec clears PF_FORKNOEXEC
  EXPECT_EQ(table.task(kid)->real_parent, now);
}

}  // namespace
}  // namespace userbpf::hooks

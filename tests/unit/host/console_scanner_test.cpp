#include "host/session/console_scanner.hpp"

#include <gtest/gtest.h>

#include <string>

namespace kstep::host {
namespace {

TEST(HostConsoleScanner, ClassifiesKernelSplats) {
  EXPECT_EQ(classify_console_line("[    5.1] Kernel panic - not syncing: Attempted to kill init!"),
            SplatKind::kPanic);
  EXPECT_EQ(classify_console_line("[    5.1] Oops: 0000 [#1] PREEMPT SMP NOPTI"), SplatKind::kOops);
  EXPECT_EQ(
      classify_console_line("[    5.1] BUG: kernel NULL pointer dereference, address: 0000000000000000"),
      SplatKind::kBug);
  EXPECT_EQ(
      classify_console_line("[    5.1] WARNING: CPU: 1 PID: 97 at kernel/sched/ext.c:3000 scx_ops_enable"),
      SplatKind::kWarning);
  EXPECT_EQ(classify_console_line("[   30.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [spin:80]"),
            SplatKind::kSoftLockup);
  EXPECT_EQ(classify_console_line("[   30.0] Watchdog detected hard LOCKUP on cpu 1"),
            SplatKind::kHardLockup);
  EXPECT_EQ(classify_console_line("[   30.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"),
            SplatKind::kRcuStall);
  EXPECT_EQ(classify_console_line("[   30.0] rcu: INFO: rcu_sched self-detected stall on CPU"),
            SplatKind::kRcuStall);
}

TEST(HostConsoleScanner, IgnoresOrdinaryLines) {
  EXPECT_FALSE(classify_console_line("[    0.0] Linux version 7.3.4+deb13-cloud-amd64"));
  EXPECT_FALSE(classify_console_line("[    0.3] Run /init as init process"));
  EXPECT_FALSE(classify_console_line("[    0.5] sched_ext: BPF scheduler \"simple\" enabled"));
  EXPECT_FALSE(classify_console_line(""));
}

TEST(HostConsoleScanner, FindsSplatsAcrossChunkBoundariesWithLineNumbers) {
  const std::string console =
      "[    0.0] Linux version 7.3\r\n[    1.0] boot ok\n[    2.0] Oops: 0002 [#1] SMP\n[    2.1] RIP: x\n";
  for (std::size_t split = 0; split <= console.size(); ++split) {
    ConsoleScanner scanner;
    auto first = scanner.feed(std::string_view{console}.substr(0, split));
    auto second = scanner.feed(std::string_view{console}.substr(split));
    ASSERT_EQ(first.size() + second.size(), 1U) << "split at " << split;
    ASSERT_EQ(scanner.splats().size(), 1U);
    EXPECT_EQ(scanner.splats()[0].kind, SplatKind::kOops);
    EXPECT_EQ(scanner.splats()[0].line_number, 3U);
    EXPECT_EQ(scanner.splats()[0].line, "[    2.0] Oops: 0002 [#1] SMP");
    EXPECT_EQ(scanner.lines_seen(), 4U);
  }
}

TEST(HostConsoleScanner, FinishFlushesAnUnterminatedLine) {
  ConsoleScanner scanner;
  EXPECT_TRUE(scanner.feed("[ 9.9] Kernel panic - not syncing: VFS").empty());
  auto found = scanner.finish();
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].kind, SplatKind::kPanic);
}

TEST(HostConsoleScanner, KeepsABoundedTailInOrder) {
  ConsoleScanner scanner;
  for (int i = 0; i < 100; ++i) {
    (void)scanner.feed("line " + std::to_string(i) + "\n");
  }
  const auto tail = scanner.tail();
  ASSERT_FALSE(tail.empty());
  EXPECT_LT(tail.size(), 100U);
  EXPECT_EQ(tail.back(), "line 99");
  EXPECT_EQ(tail.front(), "line " + std::to_string(100 - tail.size()));
}

TEST(HostConsoleScanner, BoundsSplatsAndLineLength) {
  ConsoleScanner scanner;
  for (std::size_t i = 0; i < ConsoleScanner::kMaxSplats + 10; ++i) {
    (void)scanner.feed("WARNING: CPU: 0 PID: 1 at x\n");
  }
  EXPECT_EQ(scanner.splats().size(), ConsoleScanner::kMaxSplats);
  (void)scanner.feed(std::string(ConsoleScanner::kMaxLineBytes * 3, 'x') + "\n");
  EXPECT_LE(scanner.tail().back().size(), ConsoleScanner::kMaxLineBytes);
}

}  // namespace
}  // namespace kstep::host

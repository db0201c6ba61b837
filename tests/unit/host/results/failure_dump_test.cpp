// The sched_ext debug dump out of a scheduler's stderr, and file tails.
#include "host/results/failure_dump.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kstep::host {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kRule(80, '=');

// As UEI_REPORT (tools/sched_ext/include/scx/user_exit_info.h) and
// kstep-sched print it: blank lines inside the dump separate its sections.
const std::string kDump =
    "kstep-sched[97] triggered exit kind 1025:\n"
    "  scx_bpf_error (kstep-sched: injected error after 300 ms)\n"
    "\n"
    "Backtrace:\n"
    "  scx_bpf_error_bstr+0x6a/0xa0\n"
    "\n"
    "CPU states\n"
    "----------\n"
    "\n"
    "CPU 0   : nr_run=1 flags=0x1 cpu_rel=0 ops_qseq=12 pnt_seq=40\n"
    "  R kworker/0:1[12] -1ms\n";

std::string framed(const std::string& dump) {
  return "\nDEBUG DUMP\n" + kRule + "\n\n" + dump + "\n" + kRule + "\n\n";
}

TEST(SchedExtDebugDump, ExtractsTheKernelsFraming) {
  const std::string stderr_text =
      "kstep-sched: state=enabled ops=kstep attach_ms=260\n"
      "kstep-sched: counters enqueued=10 dispatched=9\n" +
      framed(kDump) + "EXIT: runtime error (injected)\n";
  const auto dump = sched_ext_debug_dump(stderr_text, 64 * 1024);
  // Blank lines around the dump go, the ones inside stay.
  EXPECT_EQ(dump, kDump.substr(0, kDump.size() - 1));
  EXPECT_THAT(dump, StartsWith("kstep-sched[97] triggered exit kind 1025:"));
  EXPECT_THAT(dump, HasSubstr("\n\nCPU states\n"));
  EXPECT_THAT(dump, EndsWith("R kworker/0:1[12] -1ms"));
}

TEST(SchedExtDebugDump, EmptyWithoutADump) {
  EXPECT_EQ(sched_ext_debug_dump("", 1024), "");
  EXPECT_EQ(sched_ext_debug_dump("kstep-sched: counters enqueued=1\nEXIT: unregistered\n", 1024), "");
  // The title alone, or followed by something other than a rule, is not a dump.
  EXPECT_EQ(sched_ext_debug_dump("DEBUG DUMP\nnot a rule\nstuff\n", 1024), "");
  EXPECT_EQ(sched_ext_debug_dump("DEBUG DUMP\n=\nstuff\n", 1024), "");
  EXPECT_EQ(sched_ext_debug_dump("DEBUG DUMP\n", 1024), "");
  // A framed but empty dump.
  EXPECT_EQ(sched_ext_debug_dump("DEBUG DUMP\n" + kRule + "\n\n\n" + kRule + "\n", 1024), "");
}

TEST(SchedExtDebugDump, RunsToTheEndWhenTheClosingRuleIsMissing) {
  EXPECT_EQ(sched_ext_debug_dump("DEBUG DUMP\n" + kRule + "\n\nfirst\n\nsecond\n\n", 1024),
            "first\n\nsecond");
}

TEST(SchedExtDebugDump, ToleratesCarriageReturns) {
  EXPECT_EQ(sched_ext_debug_dump("DEBUG DUMP\r\n" + kRule + "\r\n\r\nline\r\n" + kRule + "\r\n", 1024),
            "line");
}

TEST(SchedExtDebugDump, TakesTheLastOfSeveralSchedulers) {
  const auto text = framed("first scheduler's dump") + "EXIT: one\n" + framed("second scheduler's dump");
  EXPECT_EQ(sched_ext_debug_dump(text, 1024), "second scheduler's dump");
}

TEST(SchedExtDebugDump, BoundsTheDumpKeepingItsHead) {
  std::string big;
  for (int i = 0; i < 1000; ++i) {
    big += "CPU " + std::to_string(i) + " : nr_run=1 flags=0x1\n";
  }
  const auto dump = sched_ext_debug_dump(framed(big), 2000);
  EXPECT_LE(dump.size(), 2000U);
  EXPECT_THAT(dump, StartsWith("CPU 0 : nr_run=1"));
  EXPECT_THAT(dump, HasSubstr("\n[... truncated: the dump is "));
  // Cut at a line end: the last kept line is whole.
  const auto note = dump.find("\n[... truncated");
  EXPECT_THAT(dump.substr(0, note), EndsWith("flags=0x1"));

  EXPECT_EQ(sched_ext_debug_dump(framed(big), 10).size(), 10U);
  EXPECT_EQ(sched_ext_debug_dump(framed(big), 0), "");
}

class TailOfFileTest : public ::testing::Test {
 protected:
  TailOfFileTest()
      : path_(std::filesystem::temp_directory_path() /
              ("kstep-tail-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {}
  ~TailOfFileTest() override { std::filesystem::remove(path_); }

  void write(const std::string& text) {
    std::ofstream out{path_, std::ios::binary};
    out << text;
  }

  std::filesystem::path path_;
};

TEST_F(TailOfFileTest, MissingFileIsEmpty) {
  EXPECT_EQ(tail_of_file(path_, 10, 1024), "");
}

TEST_F(TailOfFileTest, KeepsTheLastLines) {
  write("one\ntwo\nthree\nfour\n");
  EXPECT_EQ(tail_of_file(path_, 2, 1024), "three\nfour\n");
  EXPECT_EQ(tail_of_file(path_, 4, 1024), "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(tail_of_file(path_, 100, 1024), "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(tail_of_file(path_, 0, 1024), "");
}

TEST_F(TailOfFileTest, ALastLineWithoutNewlineCounts) {
  write("one\ntwo\nthree");
  EXPECT_EQ(tail_of_file(path_, 1, 1024), "three");
  EXPECT_EQ(tail_of_file(path_, 2, 1024), "two\nthree");
}

TEST_F(TailOfFileTest, BoundsBytesDroppingACutLine) {
  write("first line\nsecond line\nthird\n");
  // The last 15 bytes are "ond line\nthird\n": the cut line goes.
  EXPECT_EQ(tail_of_file(path_, 10, 15), "third\n");
  // One long line cut by the bound: its tail is better than nothing.
  write(std::string(100, 'x'));
  EXPECT_EQ(tail_of_file(path_, 10, 7), std::string(7, 'x'));
}

TEST_F(TailOfFileTest, EmptyFileIsEmpty) {
  write("");
  EXPECT_EQ(tail_of_file(path_, 10, 1024), "");
}

}  // namespace
}  // namespace kstep::host

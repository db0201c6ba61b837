#include "guest/workers/proc_sched.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace kstep::guest::workers {
namespace {

constexpr std::string_view kSched =
    "spin (7264, #threads: 1)\n"
    "-------------------------------------------------------------------\n"
    "se.exec_start                                :        552153.564837\n"
    "se.nr_migrations_extra                       :                   99\n"
    "se.sum_exec_runtime                          :             4.054066\n"
    "se.nr_migrations                             :                   17\n"
    "nr_switches                                  :                    1\n";

TEST(WorkerProcSchedTest, ReadsTheMigrationCount) {
  EXPECT_EQ(parse_nr_migrations(kSched), 17U);
}

TEST(WorkerProcSchedTest, MissingOrMalformedLineIsNothing) {
  EXPECT_FALSE(parse_nr_migrations(""));
  EXPECT_FALSE(parse_nr_migrations("nr_switches : 1\n"));
  EXPECT_FALSE(parse_nr_migrations("se.nr_migrations : x\n"));
  EXPECT_FALSE(parse_nr_migrations("xse.nr_migrations : 3\n"));
  EXPECT_EQ(parse_nr_migrations("se.nr_migrations:5"), 5U);
}

TEST(WorkerProcSchedTest, ReadsAFile) {
  // This process has a sched file when the kernel has CONFIG_SCHED_DEBUG;
  // either way an unreadable file reads as 0.
  EXPECT_EQ(read_nr_migrations("/nonexistent/sched"), 0U);
  const std::string self = "/proc/" + std::to_string(::getpid()) + "/sched";
  EXPECT_EQ(read_nr_migrations(self.c_str()), read_nr_migrations("/proc/self/sched"));
}

}  // namespace
}  // namespace kstep::guest::workers

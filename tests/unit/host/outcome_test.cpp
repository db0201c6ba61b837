#include "host/session/outcome.hpp"

#include <gtest/gtest.h>

#include <set>

namespace kstep::host {
namespace {

constexpr Outcome kAll[] = {
    Outcome::kPass,          Outcome::kScenarioFailure,  Outcome::kKernelPanic,
    Outcome::kGuestHang,     Outcome::kBootFailure,      Outcome::kSchedulerFailure,
    Outcome::kProtocolError, Outcome::kUsageError,       Outcome::kInfrastructureError,
    Outcome::kInterrupted,   Outcome::kKernelUnsupported};

TEST(HostOutcome, ExitCodesAreDistinct) {
  std::set<int> codes;
  for (Outcome outcome : kAll) {
    EXPECT_TRUE(codes.insert(exit_code(outcome)).second) << to_string(outcome);
  }
  EXPECT_EQ(exit_code(Outcome::kPass), 0);
}

TEST(HostOutcome, NamesRoundTrip) {
  for (Outcome outcome : kAll) {
    EXPECT_EQ(outcome_from_string(to_string(outcome)), outcome);
  }
  EXPECT_FALSE(outcome_from_string("nonsense").has_value());
}

TEST(HostOutcome, BisectMapping) {
  EXPECT_EQ(bisect_exit_code(Outcome::kPass), 0);
  for (Outcome bad : {Outcome::kScenarioFailure, Outcome::kKernelPanic, Outcome::kGuestHang,
                      Outcome::kBootFailure, Outcome::kSchedulerFailure}) {
    EXPECT_EQ(bisect_exit_code(bad), 1) << to_string(bad);
  }
  EXPECT_EQ(bisect_exit_code(Outcome::kProtocolError), 125);
  EXPECT_EQ(bisect_exit_code(Outcome::kInfrastructureError), 125);
  // A kernel without sched_ext says nothing about a scheduler regression.
  EXPECT_EQ(bisect_exit_code(Outcome::kKernelUnsupported), 125);
  // git bisect run aborts on codes above 127: a wrong command line or a
  // Ctrl-C must stop the bisection, not skip every commit.
  EXPECT_GT(bisect_exit_code(Outcome::kUsageError), 127);
  EXPECT_GT(bisect_exit_code(Outcome::kInterrupted), 127);
}

}  // namespace
}  // namespace kstep::host

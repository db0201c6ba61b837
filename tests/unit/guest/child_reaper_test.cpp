#include "guest/child_reaper.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace kstep::guest {
namespace {

// Exit codes of the forked check, so a failure says what went wrong.
enum Check : int {
  kOk = 0,
  kNoReaper = 10,
  kTimedOut = 11,
  kWrongStatuses = 12,
};

// Inside a child process (so the subreaper flag and the reaping stay out of
// the test runner): a child exits at once, leaving an orphan that exits a
// little later. As a subreaper the process inherits the orphan, like PID 1,
// and the reaper must collect both.
int reap_child_and_orphan() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return kNoReaper;
  }
  auto reaper = ChildReaper::create();
  if (!reaper) {
    return kNoReaper;
  }
  if (::fork() == 0) {
    if (::fork() == 0) {
      ::usleep(50'000);
      ::_exit(7);
    }
    ::_exit(3);
  }
  std::vector<int> codes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (codes.size() < 2) {
    if (std::chrono::steady_clock::now() > deadline) {
      return kTimedOut;
    }
    struct pollfd pfd {
      reaper->fd(), POLLIN, 0
    };
    if (::poll(&pfd, 1, 100) <= 0) {
      continue;
    }
    for (const ChildExit& exit : reaper->reap()) {
      codes.push_back(WIFEXITED(exit.status) ? WEXITSTATUS(exit.status) : -1);
    }
  }
  std::sort(codes.begin(), codes.end());
  return codes == std::vector<int>{3, 7} ? kOk : kWrongStatuses;
}

TEST(GuestChildReaper, ReapsChildrenAndOrphans) {
  const pid_t checker = ::fork();
  ASSERT_GE(checker, 0);
  if (checker == 0) {
    ::_exit(reap_child_and_orphan());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(checker, &status, 0), checker);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kOk) << "10: no reaper, 11: timed out, 12: wrong exit statuses";
}

TEST(GuestChildReaper, RestoresTheSignalMask) {
  sigset_t before;
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, nullptr, &before), 0);
  ASSERT_FALSE(sigismember(&before, SIGCHLD));
  {
    auto reaper = ChildReaper::create();
    ASSERT_TRUE(reaper) << reaper.error().message;
    sigset_t during;
    ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, nullptr, &during), 0);
    EXPECT_TRUE(sigismember(&during, SIGCHLD));
    EXPECT_TRUE(reaper->reap().empty());  // no children: nothing, and no blocking
  }
  sigset_t after;
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, nullptr, &after), 0);
  EXPECT_FALSE(sigismember(&after, SIGCHLD));
}

}  // namespace
}  // namespace kstep::guest

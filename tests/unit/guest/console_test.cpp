#include "guest/console.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using testing::TempTree;

// PID 1 may start without fds 0-2; ensure_standard_fds must fill them so the
// port never lands on one. Runs in a child: the test process keeps its own.
TEST(GuestConsole, ReopensMissingStandardFds) {
  TempTree tree;
  tree.write("dev/null", "");  // no dev/console: the fallback is taken

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(0);
    ::close(2);
    if (!ensure_standard_fds(tree.roots().dev)) {
      ::_exit(10);
    }
    for (int fd : {0, 2}) {
      if (::fcntl(fd, F_GETFD) == -1) {
        ::_exit(11);
      }
    }
    // The next open must not take a standard fd.
    const int next = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::_exit(next > 2 ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: failed, 11: fd still closed, 12: hole left";
}

TEST(GuestConsole, FailsWhenNothingCanBeOpened) {
  TempTree tree;  // neither dev/console nor dev/null
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(0);
    const auto result = ensure_standard_fds(tree.roots().dev);
    ::_exit(result ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace kstep::guest

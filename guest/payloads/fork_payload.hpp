// ForkPayload: one payload process after its exec, until it is reaped.
//
// A monitor thread per payload owns everything that happens after exec:
//   - it forwards stdout and stderr to the FrameSink as PayloadOutput frames
//     (at most 64 KiB each) as they arrive, so the host sees a long
//     benchmark's progress live, and keeps the last 1 MiB of stdout for the
//     JSON metrics;
//   - it watches the pidfd and reaps the payload (only its own pid: the
//     agent's other children are not its business). Before reaping it
//     SIGKILLs the payload's process group, so workers a payload forked
//     (stress-ng's) do not outlive it, keep its pipes open or populate its
//     cgroup; the group id cannot be reused while the leader is unreaped;
//   - after the exit it drains the pipes until EOF, or for at most 2 s when
//     something outside the group (a daemon that left it) still holds them;
//   - then it builds the PayloadReport and wakes wait()/kill().
//
// exited() and wait() observe that final state: once exited() is true,
// wait() returns at once and the output is complete. kill() SIGKILLs the
// payload and its group and waits for that same end (bounded: SIGKILL, then
// the drain deadline). The destructor kills and joins the thread.
//
// If someone else reaped the pid first (a waitpid(-1) reaper), the exit
// status is lost: the report says exit_code -1, signal 0.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "guest/executor/executor_ports.hpp"

namespace kstep::guest {

// A child that has exec'd the payload and has not been reaped.
struct PayloadProcess {
  pid_t pid = -1;  // also its process group id
  UniqueFd pidfd;
  UniqueFd stdout_fd;  // read ends of its stdout and stderr pipes
  UniqueFd stderr_fd;
  std::chrono::steady_clock::time_point started;
};

class ForkPayload final : public Payload {
 public:
  // Takes the process over and starts the monitor thread. On failure the
  // process is killed and reaped. `sink` must outlive the payload.
  [[nodiscard]] static Result<std::unique_ptr<ForkPayload>> start(PayloadProcess process,
                                                                  const PayloadRequest& request,
                                                                  FrameSink& sink);

  ForkPayload(const ForkPayload&) = delete;
  ForkPayload& operator=(const ForkPayload&) = delete;
  ~ForkPayload() override;

  [[nodiscard]] pid_t pid() const override { return process_.pid; }
  [[nodiscard]] bool exited() override;
  [[nodiscard]] Result<wire::PayloadReport> wait(std::chrono::milliseconds timeout) override;
  [[nodiscard]] wire::PayloadReport kill() override;

 private:
  ForkPayload(PayloadProcess process, const PayloadRequest& request, FrameSink& sink);

  void monitor() noexcept;
  // Kills the group, reaps the leader, records the status. Monitor thread.
  void reap() noexcept;
  void forward(int stream, const char* data, std::size_t size);
  void finish();

  PayloadProcess process_;
  FrameSink& sink_;
  std::string id_;
  std::string name_;
  std::string cgroup_;
  bool json_metrics_ = false;
  bool scheduler_ = false;  // output frames say it is the scheduler's

  // Monitor thread only, until `done_`.
  std::string stdout_tail_;
  bool stdout_cut_ = false;  // the tail lost its beginning
  std::string stderr_tail_;
  std::chrono::steady_clock::time_point ended_;

  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool reaped_ = false;    // guarded: signals to -pid only while false
  siginfo_t exit_info_{};  // guarded, valid once reaped_
  bool status_lost_ = false;
  std::optional<wire::PayloadReport> report_;  // guarded: set when done

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace kstep::guest

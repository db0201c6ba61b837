// SocketHostHandshake: the scenario process's side of the host handshakes.
//
// The agent forwards the host's handshake frames (AccessorReady,
// BpfMapWrite, BpfWriteDone, DumpRequest) into the scenario socket; a
// thread of the scenario process reads them while the executor runs, sets
// the sticky latches the executor's gates wait on, and answers writes and
// dump requests from the maps it holds.
//
// When a scheduler attaches, the maps its process holds are opened by id
// and published as a BpfMapCatalog. Holding them keeps them alive after
// the scheduler dies, which is what lets a failure dump read the values
// the scheduler left behind. A newer attach replaces the held set.
//
// Threads: the reader thread and the executor share the latches and the
// map set under one mutex; frames go out through the (locked) FrameSink.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"
#include "guest/bpf/bpf_map_set.hpp"
#include "guest/executor/executor_ports.hpp"
#include "guest/executor/handshake_ports.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

class SocketHostHandshake final : public HostHandshake {
 public:
  // Reads host frames from `fd` (the scenario socket, which `sink` also
  // writes) until destroyed. `proc_root` is where /proc is.
  SocketHostHandshake(int fd, FrameSink& sink, std::filesystem::path proc_root);
  SocketHostHandshake(const SocketHostHandshake&) = delete;
  SocketHostHandshake& operator=(const SocketHostHandshake&) = delete;
  // Stops and joins the reader thread.
  ~SocketHostHandshake() override;

  void scheduler_attached(const std::string& name, pid_t pid) override;
  [[nodiscard]] bool wait_accessor_ready(ExecutorClock::TimePoint deadline) override;
  [[nodiscard]] std::optional<MapWriteOutcome> wait_map_write(ExecutorClock::TimePoint deadline) override;

  // After a failed run: while maps are held and no dump was served yet,
  // keeps serving up to `budget`, so that the host's DumpRequest (sent when
  // it saw the failure) is answered before the process exits.
  void linger_for_dump(std::chrono::milliseconds budget);

 private:
  void read_loop();
  void handle(const wire::HostMessage& message);

  int fd_;
  FrameSink& sink_;
  std::filesystem::path proc_root_;
  UniqueFd stop_;  // eventfd: ends read_loop

  std::mutex mutex_;
  std::condition_variable changed_;
  bool accessor_ready_ = false;
  std::optional<MapWriteOutcome> map_write_;
  std::optional<BpfMapSet> maps_;
  bool dump_served_ = false;

  std::thread reader_;  // last: started once everything above exists
};

}  // namespace kstep::guest

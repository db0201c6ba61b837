// GuestDriver: what the host does with a connected guest.
//
// The session owns the VM, the wire and the timeouts; a driver owns the
// conversation: it sees every message after Hello and decides when the run
// is over. The handshake driver (the run of the foundation) says Hello back
// with Shutdown; scenario drivers send RunScenario and collect results.
#pragma once

#include <string>

#include "kstep.pb.h"

namespace kstep::host {

// What a driver may do to the session.
class SessionControl {
 public:
  virtual ~SessionControl() = default;
  virtual void send(const wire::HostMessage& message) = 0;
  // Sends Shutdown; the guest must power off within the shutdown grace.
  virtual void request_shutdown(const std::string& reason) = 0;
  // A message that is valid on the wire but wrong at this point.
  virtual void protocol_error(const std::string& what) = 0;
  // The guest reported a failed scenario; `reason` is the first failure.
  virtual void scenario_failed(const std::string& reason) = 0;
  // The sched_ext scheduler failed: it crashed, stalled, exited or died, or
  // never attached. Wins over scenario_failed.
  virtual void scheduler_failed(const std::string& reason) = 0;
  // The kernel cannot do what the run needs (a scheduler without sched_ext).
  virtual void kernel_unsupported(const std::string& reason) = 0;
};

class GuestDriver {
 public:
  virtual ~GuestDriver() = default;
  // Hello has been received and checked (protocol version matches).
  virtual void on_hello(const wire::Hello& hello, SessionControl& control) = 0;
  // Any later message except Log, Heartbeat and FatalError, which the
  // session handles itself.
  virtual void on_message(const wire::GuestMessage& message, SessionControl& control) = 0;
  // Every Heartbeat after Hello (about once a second): a chance to enforce
  // the driver's own deadlines while the guest sends nothing else.
  virtual void on_tick(SessionControl& /*control*/) {}
};

// Boots, checks Hello, shuts down: proves kernel, agent and wire work.
class HandshakeDriver final : public GuestDriver {
 public:
  void on_hello(const wire::Hello& hello, SessionControl& control) override;
  void on_message(const wire::GuestMessage& message, SessionControl& control) override;
};

}  // namespace kstep::host

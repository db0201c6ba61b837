// A SessionControl that records what a driver asked of the session, for
// the driver and result tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/session/guest_driver.hpp"

namespace kstep::host::testing {

class RecordingControl final : public SessionControl {
 public:
  void send(const wire::HostMessage& message) override { sent.push_back(message); }
  void request_shutdown(const std::string& reason) override { shutdown = reason; }
  void protocol_error(const std::string& what) override { protocol = what; }
  void scenario_failed(const std::string& reason) override { failure = reason; }
  void scheduler_failed(const std::string& reason) override { scheduler_failure = reason; }
  void kernel_unsupported(const std::string& reason) override { unsupported = reason; }

  std::vector<wire::HostMessage> sent;
  std::optional<std::string> shutdown;
  std::optional<std::string> protocol;
  std::optional<std::string> failure;
  std::optional<std::string> scheduler_failure;
  std::optional<std::string> unsupported;
};

}  // namespace kstep::host::testing

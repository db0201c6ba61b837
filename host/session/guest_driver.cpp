#include "host/session/guest_driver.hpp"

#include <fmt/format.h>

namespace kstep::host {

void HandshakeDriver::on_hello(const wire::Hello& /*hello*/, SessionControl& control) {
  control.request_shutdown("handshake complete");
}

void HandshakeDriver::on_message(const wire::GuestMessage& message, SessionControl& control) {
  control.protocol_error(
      fmt::format("unexpected {} frame: this run expects only Hello",
                  message.GetDescriptor()->FindFieldByNumber(static_cast<int>(message.body_case()))->name()));
}

}  // namespace kstep::host

// Details: the failures a run accumulates (wire::Detail), built one way.
#pragma once

#include <cstdint>
#include <string>

#include "kstep.pb.h"

namespace kstep::guest {

[[nodiscard]] inline wire::Detail make_detail(wire::Detail::Kind kind, std::uint32_t step, std::string cgroup,
                                              std::string message, std::uint32_t elapsed_ms) {
  wire::Detail detail;
  detail.set_kind(kind);
  detail.set_step(step);
  detail.set_cgroup(std::move(cgroup));
  detail.set_message(std::move(message));
  detail.set_elapsed_ms(elapsed_ms);
  return detail;
}

}  // namespace kstep::guest

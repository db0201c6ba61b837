// Version ordering for kernel releases ("7.3.4+deb13-cloud-amd64") and
// Debian package versions ("7.3.4-1~bpo13+1").
//
// dpkg's algorithm (verrevcmp), because the cached kernels are Debian's and
// dpkg is what ordered them there: digit runs compare as numbers, so 7.10
// is newer than 7.9 (a plain string sort gets that wrong), letters sort
// before other characters, and '~' sorts before everything, even the end of
// the string (7.3~rc1 < 7.3).
#pragma once

#include <string_view>

namespace kstep::host::kernel {

// < 0 when a is older than b, 0 when equal, > 0 when a is newer.
[[nodiscard]] int compare_versions(std::string_view a, std::string_view b) noexcept;

}  // namespace kstep::host::kernel

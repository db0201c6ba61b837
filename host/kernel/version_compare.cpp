#include "host/kernel/version_compare.hpp"

#include <cctype>
#include <cstddef>

namespace kstep::host::kernel {
namespace {

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// dpkg's order() for the non-digit parts; 0 is the end of the string.
int order(char c) {
  if (c == '\0' || is_digit(c)) {
    return 0;
  }
  if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
    return static_cast<unsigned char>(c);
  }
  if (c == '~') {
    return -1;
  }
  return static_cast<unsigned char>(c) + 256;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0;
  std::size_t j = 0;
  auto at = [](std::string_view s, std::size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      const int ac = order(at(a, i));
      const int bc = order(at(b, j));
      if (ac != bc) {
        return ac - bc;
      }
      ++i;
      ++j;
    }
    while (at(a, i) == '0') {
      ++i;
    }
    while (at(b, j) == '0') {
      ++j;
    }
    int first_diff = 0;
    while (is_digit(at(a, i)) && is_digit(at(b, j))) {
      if (first_diff == 0) {
        first_diff = at(a, i) - at(b, j);
      }
      ++i;
      ++j;
    }
    if (is_digit(at(a, i))) {
      return 1;
    }
    if (is_digit(at(b, j))) {
      return -1;
    }
    if (first_diff != 0) {
      return first_diff;
    }
  }
  return 0;
}

}  // namespace kstep::host::kernel
